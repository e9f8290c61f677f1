"""Verify an image: start it as a user would, and check that it does what its kind of program does.

A server must answer HTTP (any status below 500) on ``$PORT`` or on its own port within a bounded
window; a worker must stay up; a one-shot job must exit 0. The container runs with host networking
(so the check needs no bridge), ``PORT`` set to a free port, and the user's environment; its logs are
kept (with the user's values redacted) as the evidence a failed start is classified from.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from containerkit.errors import DockerUnavailable, InvalidOption
from containerkit.tools.progress import ProgressSink, null_sink
from containerkit.tools.tracing import traced

if TYPE_CHECKING:  # the docker SDK is imported when an image is verified, not with the session state
    from docker import DockerClient

    from containerkit.tools.results_cache import CacheKey

__all__ = [
    "VerifyKind",
    "VerifyRequest",
    "VerifyResult",
    "free_port",
    "module_kind",
    "redact",
    "verify_cache_key",
    "verify_image",
]

VerifyKind = Literal["server", "worker", "job"]

_WORKER_HINTS = ("celery", "rq worker", "dramatiq", "huey", "arq ", "worker", "consumer", "bull", "agenda", "cron")
_WEB_FRAMEWORKS = frozenset(
    {
        "flask",
        "django",
        "fastapi",
        "starlette",
        "aiohttp",
        "tornado",
        "sanic",
        "bottle",
        "falcon",
        "litestar",
        "quart",
        "streamlit",
        "gradio",
        "express",
        "fastify",
        "koa",
        "hapi",
        "nestjs",
        "next",
        "nuxt",
        "remix",
        "sveltekit",
        "astro",
        "gatsby",
        "angular",
        "react",
        "vue",
        "vite",
        "svelte",
        "static",
    }
)


def module_kind(
    *, port: int | None, framework: str | None, language: str | None, start_command: str | None
) -> VerifyKind | None:
    """What kind of program a module is, from the analysis; None when nothing says (decided at start).

    A port alone does not make a server (the analysis gives every module a default one): a web
    framework or a static site does. Without one, the start decides: it answers HTTP (a server),
    exits 0 (a job) or stays up listening nowhere (a worker).
    """
    cmd = (start_command or "").lower()
    if any(h in cmd for h in _WORKER_HINTS) and not any(w in cmd for w in ("gunicorn", "uvicorn", "--port")):
        return "worker"
    if (framework or "").lower() in _WEB_FRAMEWORKS or language == "static":
        return "server"
    return None


class VerifyRequest(BaseModel):
    """What to start and how to judge it. ``env`` holds the user's values: never stored."""

    image: str
    kind: VerifyKind | None = None
    """None: decided by what the program does (answers HTTP, stays up, or exits)."""
    port: int | None = None
    """The port the analysis found; probed besides ``$PORT``."""
    health_path: str | None = None
    env: dict[str, str] = Field(default_factory=dict, repr=False)
    timeout_s: float = Field(default=60.0, gt=0, le=3600)
    """How long a server may take to answer, or a job to finish."""
    settle_s: float = Field(default=5.0, ge=0, le=600)
    """How long a worker (or a program of unknown kind) must stay up."""
    poll_s: float = Field(default=0.1, gt=0, le=5)
    label: str = "containerkit-verify"


class VerifyResult(BaseModel):
    """The outcome of one start, as recorded in the session (no values of the user's environment)."""

    image_id: str
    kind: VerifyKind
    passed: bool
    reason: str
    answered: bool = False
    status_code: int | None = None
    url: str | None = None
    port: int | None = None
    """Where the program answered."""
    honours_port_env: bool | None = None
    """True: it answered on ``$PORT`` (set it and the app follows); False: on a port of its own, which
    manifests and probes must then use."""
    ports_listening: list[int] = Field(default_factory=list)
    exit_code: int | None = None
    time_to_ready_s: float | None = None
    duration_s: float = 0.0
    log_tail: str = ""
    env_names: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    cached: bool = False
    """True: reused from an identical earlier start (same image, kind, port, environment), not started again."""
    cache_key: str | None = None
    """The digest of the inputs this result was computed from (:func:`verify_cache_key`)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _tail(text: str, *, lines: int = 120, width: int = 400, total: int = 8000) -> str:
    """The last lines of a log, each cut to ``width``: one huge line (a dumped object) never hides the error."""
    kept = [ln if len(ln) <= width else ln[:width] + " ..." for ln in text.splitlines()[-lines:]]
    return "\n".join(kept)[-total:]


def redact(text: str, env: Mapping[str, str]) -> str:
    """The log with every value the user passed replaced (values of 4+ characters)."""
    for key, value in env.items():
        if key != "PORT" and len(value) >= 4:
            text = text.replace(value, f"<{key}>")
    return text


def _http_status(url: str, timeout: float) -> int | None:
    """The HTTP status at ``url``; None when nothing answers there (refused, reset, not HTTP)."""
    req = urllib.request.Request(url, headers={"User-Agent": "containerkit-verify"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    try:
        with opener.open(req, timeout=timeout) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


_LOOPBACK = frozenset({"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"})


def _listening_ports(pids: list[int], loopback_only: set[int] | None = None) -> list[int]:
    """TCP ports the container's processes listen on (read from /proc; empty on a remote engine).

    Ports bound to a loopback address only are added to ``loopback_only``: with host networking they
    answer here, but in a pod or behind a port mapping nothing outside the container reaches them.
    """
    inodes: set[str] = set()
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        with contextlib.suppress(OSError):
            for fd in fd_dir.iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    if not inodes or not pids:
        return []
    ports: set[int] = set()
    wide: set[int] = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pids[0]}/net/{table}").read_text().splitlines()[1:]:
                cols = line.split()
                if len(cols) > 9 and cols[3] == "0A" and cols[9] in inodes:
                    addr, port_hex = cols[1].rsplit(":", 1)
                    port = int(port_hex, 16)
                    ports.add(port)
                    if addr not in _LOOPBACK:
                        wide.add(port)
    if loopback_only is not None:
        loopback_only.update(ports - wide)
    return sorted(ports)


def _pids(container: object) -> list[int]:
    from docker.errors import DockerException

    try:
        top = container.top(ps_args="-eo pid")  # type: ignore[attr-defined]
    except DockerException:
        return []
    out: list[int] = []
    for row in top.get("Processes") or []:
        with contextlib.suppress(ValueError, IndexError):
            out.append(int(row[0]))
    return out


def verify_cache_key(req: VerifyRequest, *, secret_key: bytes, subject: str = "") -> CacheKey:
    """What a start's outcome depends on: the image (its command and config), how it is judged (kind,
    port, health path, timeouts), the environment's names, and its values as an HMAC (never stored)."""
    from containerkit.tools.results_cache import CacheKey, code_fingerprint, secret_digest

    inputs = {
        "image_id": req.image,
        "kind": str(req.kind),
        "port": str(req.port),
        "health_path": str(req.health_path),
        "env_names": ",".join(sorted(req.env)),
        "env_values": secret_digest(secret_key, req.env),
        "timeouts": f"{req.timeout_s}:{req.settle_s}",
        "code": code_fingerprint(),
    }
    return CacheKey(kind="verify", subject=subject, inputs=inputs)


@traced("verify_image")
def verify_image(
    req: VerifyRequest,
    *,
    docker_client: DockerClient,
    on_progress: ProgressSink = null_sink,
    clock: Callable[[], float] = time.monotonic,
) -> VerifyResult:
    """Start the image once and judge it; the container is removed whatever happens."""
    from docker.errors import APIError, DockerException, ImageNotFound

    t0 = clock()
    port = free_port()
    env = {**req.env, "PORT": str(port)}
    try:
        image = docker_client.images.get(req.image)
    except ImageNotFound as exc:
        raise InvalidOption(f"no image {req.image!r} to verify", hint="Build it first.") from exc
    except DockerException as exc:
        raise DockerUnavailable(f"the Docker engine did not answer: {exc}") from exc
    notes: list[str] = []
    own_port = req.port if req.port and req.port != port else None
    if own_port is not None and not _port_free(own_port):
        notes.append(f"port {own_port} is taken on this machine: only $PORT ({port}) is probed")
        own_port = None
    name = f"ck-verify-{uuid.uuid4().hex[:10]}"
    on_progress({"kind": "log", "stage": "buildsec", "message": f"verify: starting {req.image} (PORT={port})"})
    try:
        container = docker_client.containers.run(
            image.id,
            detach=True,
            name=name,
            network_mode="host",
            environment=env,
            labels={req.label: "1"},
        )
    except APIError as exc:
        return VerifyResult(
            image_id=str(image.id),
            kind=req.kind or "server",
            passed=False,
            reason=f"the container did not start: {exc.explanation or exc}",
            log_tail=str(exc.explanation or exc)[-2000:],
            duration_s=round(clock() - t0, 3),
            env_names=sorted(req.env),
        )
    try:
        return _watch(req, container, str(image.id), port, own_port, env, notes, t0, clock, on_progress)
    finally:
        with contextlib.suppress(DockerException):
            container.remove(force=True)


def _watch(
    req: VerifyRequest,
    container: object,
    image_id: str,
    port: int,
    own_port: int | None,
    env: dict[str, str],
    notes: list[str],
    t0: float,
    clock: Callable[[], float],
    on_progress: ProgressSink,
) -> VerifyResult:
    kind = req.kind
    path = req.health_path if req.health_path and req.health_path.startswith("/") else "/"
    candidates = [port] + ([own_port] if own_port else [])
    deadline = t0 + req.timeout_s
    settle_until = t0 + req.settle_s
    last_status: int | None = None
    listening: list[int] = []
    loopback: set[int] = set()
    started = clock()
    next_proc_look = started + 1.0

    def result(passed: bool, reason: str, **kw: object) -> VerifyResult:
        logs = _logs(container)
        return VerifyResult(
            image_id=image_id,
            kind=kind or ("server" if kw.get("answered") else "job" if kw.get("exit_code") is not None else "worker"),
            passed=passed,
            reason=reason,
            ports_listening=listening,
            duration_s=round(clock() - t0, 3),
            log_tail=_tail(redact(logs, env)),
            env_names=sorted(req.env),
            notes=notes,
            **kw,
        )

    while True:
        status, code = _state(container)
        if status in ("exited", "dead"):
            if kind in (None, "job") and code == 0:
                return result(True, "the job exited 0", exit_code=0, time_to_ready_s=round(clock() - started, 3))
            what = "server" if kind == "server" else "worker" if kind == "worker" else "program"
            return result(False, f"the {what} exited with code {code} before it was ready", exit_code=code)
        if kind in (None, "server"):
            for p in candidates:
                st = _http_status(f"http://127.0.0.1:{p}{path}", timeout=2)
                if st is None and path != "/":
                    st = _http_status(f"http://127.0.0.1:{p}/", timeout=2)
                if st is not None and st < 500:
                    if p != port:
                        notes.append(f"answers on its own port {p}, not on $PORT")
                    listening = _listening_ports(_pids(container), loopback) or listening
                    if p in loopback:
                        notes.append(
                            f"listens on 127.0.0.1:{p} only: unreachable from outside the container "
                            "(in a pod or with -p); bind 0.0.0.0"
                        )
                    return result(
                        True,
                        f"answered HTTP {st} on port {p}",
                        answered=True,
                        status_code=st,
                        url=f"http://127.0.0.1:{p}{path}",
                        port=p,
                        honours_port_env=p == port,
                        time_to_ready_s=round(clock() - started, 3),
                    )
                if st is not None:
                    last_status = st
        now = clock()
        if now >= next_proc_look:
            next_proc_look = now + 1.0
            found = _listening_ports(_pids(container), loopback)
            if found != listening:
                listening = found
                extra = [p for p in found if p not in candidates]
                if extra:
                    candidates += extra
                    if kind is None:
                        kind = "server"
        if kind in ("worker", None) and now >= settle_until and not listening:
            # a program of unknown kind that stays up and listens nowhere is a worker
            return result(True, f"stayed up for {req.settle_s:.0f}s", time_to_ready_s=round(now - started, 3))
        if now >= deadline:
            if kind == "job":
                return result(False, f"the job was still running after {req.timeout_s:.0f}s")
            if last_status is not None:
                return result(
                    False,
                    f"answered only HTTP {last_status} within {req.timeout_s:.0f}s",
                    status_code=last_status,
                )
            where = ", ".join(str(p) for p in candidates)
            return result(False, f"nothing answered HTTP on port {where} within {req.timeout_s:.0f}s")
        time.sleep(req.poll_s)


def _state(container: object) -> tuple[str, int | None]:
    from docker.errors import DockerException

    try:
        container.reload()  # type: ignore[attr-defined]
    except DockerException:
        return "dead", None
    st = container.attrs.get("State", {})  # type: ignore[attr-defined]
    return str(st.get("Status", "")), st.get("ExitCode") if st.get("Status") in ("exited", "dead") else None


def _logs(container: object) -> str:
    from docker.errors import DockerException

    try:
        raw = container.logs(tail=200)  # type: ignore[attr-defined]
    except DockerException:
        return ""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
