"""One run per repository at a time: an advisory lock file per repository under ``$CONTAINERKIT_HOME/locks``.

Two runs of one repository would write the same Dockerfile, manifests and image tags; the second
one gets :class:`RepoBusy` naming the first (session id, pid) before it writes anything. The lock
is ``flock(2)`` on an open file, so the kernel releases it when its process dies, even by SIGKILL:
a stale lock file never blocks a later run. Different repositories run side by side and share the
session store (SQLite in WAL mode, one writer at a time, with a busy timeout).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from containerkit.errors import RepoBusy, SessionStoreUnusable

__all__ = ["holder", "repo_lock", "running_sessions"]


def _lock_dir(home: Path) -> Path:
    return home / "locks"


def _lock_path(home: Path, repo: str) -> Path:
    digest = hashlib.sha256(os.path.realpath(repo).encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return _lock_dir(home) / f"repo-{digest}.lock"


def _read(fd: int) -> dict[str, Any]:
    try:
        raw = os.pread(fd, 4096, 0)
        data = json.loads(raw.decode("utf-8")) if raw else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _unusable(path: Path, exc: OSError) -> SessionStoreUnusable:
    if exc.errno == 28:
        return SessionStoreUnusable(
            f"the disk holding {path.parent} is full",
            hint="Free some space, or point CONTAINERKIT_HOME at a folder on another disk.",
            path=str(path),
        )
    return SessionStoreUnusable(
        f"cannot use the lock file {path}: {exc.strerror or exc}",
        hint="Make CONTAINERKIT_HOME a writable folder (export CONTAINERKIT_HOME=...).",
        path=str(path),
    )


@contextlib.contextmanager
def repo_lock(home: Path, repo: str, session_id: str) -> Iterator[None]:
    """Hold ``repo``'s lock for the block; :class:`RepoBusy` when another process holds it."""
    path = _lock_path(home, repo)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise _unusable(path, exc) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = _read(fd)
            who = f"session {other.get('session_id', '?')} (pid {other.get('pid', '?')})"
            raise RepoBusy(
                f"{repo} is being run by {who}",
                hint=f"Wait for it to finish (`containerkit sessions show {other.get('session_id', 'ID')}`), "
                "or stop that process; two runs of one repository would overwrite each other's files.",
                repo=repo,
                session_id=str(other.get("session_id", "")),
            ) from None
        record = json.dumps({"session_id": session_id, "pid": os.getpid(), "repo": repo}).encode()
        with contextlib.suppress(OSError):  # who holds it is a courtesy; the flock is the lock (a full disk is
            os.ftruncate(fd, 0)  # reported by the store, which has a typed error for it)
            os.pwrite(fd, record, 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing releases the lock


def holder(home: Path, repo: str) -> dict[str, Any] | None:
    """Who runs ``repo`` now (``session_id``, ``pid``), or None."""
    return _probe(_lock_path(home, repo))


def _probe(path: Path) -> dict[str, Any] | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(fd) or {"session_id": "", "pid": None}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def running_sessions(home: Path) -> set[str]:
    """Ids of the sessions a live process is running now (their repository's lock is held)."""
    folder = _lock_dir(home)
    try:
        paths = list(folder.glob("repo-*.lock"))
    except OSError:
        return set()
    out = set()
    for path in paths:
        info = _probe(path)
        if info and info.get("session_id"):
            out.add(str(info["session_id"]))
    return out
