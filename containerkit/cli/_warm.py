"""A warm process for the edit loop: ``containerkit warm`` keeps the graph loaded, runs fork from it.

A ``containerkit run`` spends more on loading LangGraph and the agents (1.3 s or more) than on its
own stages when a source edit rebuilt one layer. ``containerkit warm`` (like Gradle's or
Bazel's server) imports everything once and waits on a Unix socket in ``$CONTAINERKIT_HOME``
(mode 0600, this user only). A later ``containerkit run`` that finds the socket hands over its
arguments, environment, working folder and its own stdin, stdout and stderr (the file descriptors
themselves, ``SCM_RIGHTS``); the server forks, and the child runs the command exactly as the
process would have: the same terminal, the same exit code, Ctrl-C forwarded. Nothing else changes:
the child has the caller's environment, folder and streams, and the session store is the same.

The server refuses a request once containerkit's code changed since it started (the caller then runs
in its own process and the server exits), exits after ``--idle`` without requests, and never forks
while a thread of its own runs. This module is stdlib-only: the client side is what a run pays.

A ``run`` in its own process starts one when it ends (:func:`auto_start`, as Gradle starts its
daemon): the first run of an edit loop pays the start-up, the next ones do not. It stops after
:data:`AUTO_IDLE` without a run; ``CONTAINERKIT_AUTO_WARM=0`` turns this off.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from containerkit._stamp import code_stamp

__all__ = [
    "AUTO_IDLE",
    "WARM_COMMANDS",
    "auto_start",
    "code_stamp",
    "home_of",
    "running",
    "serve",
    "socket_path",
    "spawn",
    "stop",
    "try_warm",
]

WARM_COMMANDS = frozenset({"run"})
"""Commands a warm server runs (the edit loop's); every other command runs in its own process."""
_MAX_HEADER = 1 << 20
AUTO_IDLE = "10m"
"""How long a server a run started waits for the next run."""
_AUTO_RETRY_S = 120.0
"""A run does not start another server within this long of the last start (starting, or failed)."""
_SUN_PATH_MAX = 108  # sockaddr_un.sun_path on Linux, the terminating NUL included
# what a server needs of the environment that started it (each run brings its own): nothing else,
# so no token or password of that first run's environment lives on in a long-lived process
_SERVER_ENV = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONPYCACHEPREFIX",
    "PYTHONDONTWRITEBYTECODE",
)


def home_of(environ: dict[str, str] | os._Environ[str]) -> Path:
    """``$CONTAINERKIT_HOME`` as :class:`containerkit.settings.Settings` reads it (without loading it)."""
    return Path(environ.get("CONTAINERKIT_HOME") or Path.home() / ".containerkit").expanduser()


def socket_path(home: Path) -> Path:
    return home / "warm.sock"


def _send(conn: socket.socket, doc: dict[str, object], fds: list[int] | None = None) -> None:
    data = json.dumps(doc).encode()
    packet = struct.pack("!I", len(data)) + data
    if fds:
        socket.send_fds(conn, [packet], fds)
    else:
        conn.sendall(packet)


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("the other side closed the connection")
        buf += chunk
    return buf


def _recv(conn: socket.socket, *, with_fds: int = 0) -> tuple[dict[str, object], list[int]]:
    fds: list[int] = []
    if with_fds:
        head, fds, _flags, _addr = socket.recv_fds(conn, 4, with_fds)
        if len(head) < 4:
            head += _recv_exact(conn, 4 - len(head))
    else:
        head = _recv_exact(conn, 4)
    (size,) = struct.unpack("!I", head)
    if size > _MAX_HEADER:
        raise ConnectionError("request too large")
    doc = json.loads(_recv_exact(conn, size))
    if not isinstance(doc, dict):
        raise ConnectionError("not a request")
    return doc, fds


# -- the client: what `containerkit run` pays --------------------------------------------------


def try_warm(argv: list[str]) -> int | None:
    """Run ``argv`` in a warm server when one serves this home; the exit code, or None (run here)."""
    if not argv or argv[0] not in WARM_COMMANDS or os.environ.get("CONTAINERKIT_NO_WARM") == "1":
        return None
    path = socket_path(home_of(os.environ))
    if not path.exists():
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
        request: dict[str, object] = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd(), "code": code_stamp()}
        _send(conn, request, [0, 1, 2])
        reply, _ = _recv(conn)
    except (OSError, ConnectionError, ValueError):
        conn.close()
        return None  # no server (a stale socket), or it went away before starting: run here
    if reply.get("status") != "started":
        conn.close()
        return None  # refused (containerkit changed since it started): run here
    return _wait(conn, int(str(reply.get("pid") or 0)))


def _wait(conn: socket.socket, child: int) -> int:
    """Until the child's exit code arrives; Ctrl-C (SIGINT, SIGTERM) goes to the child, as a terminal's would."""

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            _send(conn, {"signal": int(signum)})

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            try:
                doc, _ = _recv(conn)
            except InterruptedError:
                continue
            except (OSError, ConnectionError, ValueError):
                print(f"containerkit: the warm run (pid {child}) ended without an exit code", file=sys.stderr)
                return 70
            if "exit" in doc:
                return int(str(doc["exit"]))
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        conn.close()


# -- the server ----------------------------------------------------------------------------------


def _preload() -> None:
    """Everything a run imports, once, before any fork (no thread, no engine connection is made)."""
    import containerkit.agents
    import containerkit.cli._app
    import containerkit.cli._render
    import containerkit.graph.runner
    import containerkit.tools.engine
    import containerkit.tools.scan  # noqa: F401


def serve(home: Path, *, idle_s: float = 900.0, ready: threading.Event | None = None) -> None:
    """Serve warm runs for ``home`` until ``idle_s`` pass without a request or containerkit changes."""
    _preload()
    if threading.active_count() > 1:  # a fork copies only the forking thread: a lock held elsewhere would hang
        raise RuntimeError("a thread started while loading containerkit: the warm server cannot fork safely")
    stamp = code_stamp()
    home.mkdir(parents=True, exist_ok=True)
    path = socket_path(home)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        server.bind(str(path))
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    own = os.stat(path).st_ino
    server.listen(8)
    server.settimeout(1.0)
    (home / "warm.pid").write_text(f"{os.getpid()}\n")
    if ready is not None:
        ready.set()
    last = time.monotonic()
    children: set[int] = set()
    try:
        while children or time.monotonic() - last < idle_s:
            _reap(children)
            try:
                conn, _ = server.accept()
            except TimeoutError:
                if _inode(path) != own:
                    break  # `containerkit warm --stop`, the home removed, or another server took the socket
                continue
            last = time.monotonic()
            with conn:
                if not _accept(conn, server, stamp, children):
                    break
            if _inode(path) != own:
                break  # `containerkit warm --stop` (or the user) removed the socket
    finally:
        server.close()
        with contextlib.suppress(FileNotFoundError):
            if path.exists() and (home / "warm.pid").read_text().strip() == str(os.getpid()):
                path.unlink()
                (home / "warm.pid").unlink()
        while children:
            _reap(children, block=True)


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _reap(children: set[int], *, block: bool = False) -> None:
    for pid in list(children):
        with contextlib.suppress(ChildProcessError):
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
            if done == 0:
                continue
        children.discard(pid)


def _accept(conn: socket.socket, server: socket.socket, stamp: str, children: set[int]) -> bool:
    """One request: fork a child that runs it. False: stop serving (containerkit changed)."""
    conn.settimeout(10.0)
    fds: list[int] = []
    try:
        doc, fds = _recv(conn, with_fds=3)
        argv = doc.get("argv")
        if len(fds) != 3 or not isinstance(argv, list) or not argv or not isinstance(doc.get("env"), dict):
            _send(conn, {"status": "refused", "reason": "bad request"})
            return True
        if doc.get("code") != stamp:
            _send(conn, {"status": "refused", "reason": "containerkit changed since this server started"})
            return False
        if str(argv[0]) not in WARM_COMMANDS:
            _send(conn, {"status": "refused", "reason": "not a command a warm server runs"})
            return True
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns (its exit code goes to the caller)
            server.close()
            _child(conn, doc, fds)
        children.add(pid)
        print(f"warm: {argv[0]} forked as pid {pid}", flush=True)  # the arguments may hold --env values
        _send(conn, {"status": "started", "pid": pid})
        return True
    except (OSError, ConnectionError, ValueError):
        return True
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def _child(conn: socket.socket, doc: dict[str, object], fds: list[int]) -> None:  # pragma: no cover - forked
    """Become the caller's process: its streams, folder and environment; run; send the exit code."""
    code = 70
    try:
        for target, fd in zip((0, 1, 2), fds, strict=True):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdin = open(0, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", encoding="utf-8", buffering=1 if os.isatty(1) else -1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
        env = doc["env"]
        assert isinstance(env, dict)
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in env.items()})
        os.environ["CONTAINERKIT_NO_WARM"] = "1"  # this process is the warm run: never hand it on again
        os.chdir(str(doc.get("cwd") or "/"))
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        conn.settimeout(None)
        threading.Thread(target=_signals_from, args=(conn,), daemon=True).start()
        raw = doc["argv"]
        argv = [str(a) for a in raw] if isinstance(raw, list) else []
        sys.argv = ["containerkit", *argv]
        from containerkit.cli import main

        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except KeyboardInterrupt:
            code = 130
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(OSError):
            _send(conn, {"exit": code})
        os._exit(code)


def _signals_from(conn: socket.socket) -> None:  # pragma: no cover - runs in the forked child
    """The caller's Ctrl-C arrives as a message; a caller that went away is a SIGTERM."""
    while True:
        try:
            doc, _ = _recv(conn)
        except (OSError, ConnectionError, ValueError):
            os.kill(os.getpid(), signal.SIGTERM)
            return
        signum = doc.get("signal")
        if isinstance(signum, int) and signum in (signal.SIGINT, signal.SIGTERM):
            os.kill(os.getpid(), signum)


def running(home: Path) -> bool:
    """A server serves ``home``: its socket is there and the process its pid file names lives."""
    if not socket_path(home).exists():
        return False
    try:
        os.kill(int((home / "warm.pid").read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def auto_start(home: Path, environ: Mapping[str, str]) -> int | None:
    """Start a warm server for ``home`` in the background, unless one runs, this process is a warm
    run, or ``CONTAINERKIT_AUTO_WARM`` is 0/false/no/off. The server's pid, or None."""
    if environ.get("CONTAINERKIT_NO_WARM") == "1":
        return None
    if environ.get("CONTAINERKIT_AUTO_WARM", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    if running(home) or len(os.fsencode(socket_path(home))) >= _SUN_PATH_MAX:
        return None  # one serves already, or no Unix socket can have that long a path
    marker = home / "warm.started"
    with contextlib.suppress(OSError):
        if time.time() - marker.stat().st_mtime < _AUTO_RETRY_S:
            return None  # one is starting (a run that ended meanwhile), or the last one failed: not again yet
    home.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return spawn(home, AUTO_IDLE, environ).pid


def spawn(home: Path, idle: str, environ: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """``containerkit warm --idle IDLE`` for ``home`` in the background, logging to ``warm.log``,
    with only the environment a server needs (each run brings its own)."""
    env = {k: environ[k] for k in _SERVER_ENV if k in environ}
    env["CONTAINERKIT_HOME"] = str(home)
    with open(home / "warm.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "containerkit", "warm", "--idle", idle],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # not in the caller's process group: its Ctrl-C is not the server's
            env=env,
        )


def stop(home: Path) -> bool:
    """Stop the warm server of ``home`` (its socket removed, SIGTERM); False when none runs."""
    pid_file = home / "warm.pid"
    path = socket_path(home)
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        pid = 0
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    if pid <= 0:
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    with contextlib.suppress(FileNotFoundError):
        pid_file.unlink()
    return True
