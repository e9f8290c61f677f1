"""Docker engine operations: connect, build, inspect (tag, push and pull live in ``transfer``). Host networking throughout.

Every function takes the Docker client as an argument (tests pass a real one, the graph a
configured one) and reports progress through a sink. Errors from the engine's JSON stream become
typed errors with the failing step and a log tail.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import docker
import docker.errors
import requests
from docker import DockerClient
from pydantic import BaseModel

from containerkit.errors import (
    BaseImageUnavailable,
    BuildFailed,
    DockerUnavailable,
    InvalidDockerfile,
)
from containerkit.tools import speculative
from containerkit.tools.progress import ProgressSink, null_sink
from containerkit.tools.tracing import traced
from containerkit.tools.transfer import PullResult, PushResult, TagResult, Timeouts, pull_image, push_image, tag_image

__all__ = [
    "BuildRequest",
    "BuildResult",
    "BuildStep",
    "Builder",
    "PullPolicy",
    "PullResult",
    "PushResult",
    "TagResult",
    "Timeouts",
    "base_images_of",
    "build_image",
    "buildkit_cli",
    "connect_docker",
    "discard_speculation",
    "ensure_base_images",
    "image_exists",
    "pull_image",
    "push_image",
    "remembered_buildkit_cli",
    "speculative_build",
    "tag_image",
]

PullPolicy = Literal["missing", "never"]
_LOG_TAIL_LINES = 40
_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_EXIT_RE = re.compile(r"returned a non-zero code: (\d+)")


def connect_docker(base_url: str | None = None, *, timeout: int = 600) -> DockerClient:
    """A client for DOCKER_HOST (or ``base_url``); raise DockerUnavailable with a hint when none answers."""
    try:
        client = (
            docker.DockerClient(base_url=base_url, timeout=timeout) if base_url else docker.from_env(timeout=timeout)
        )
        client.ping()
    except (docker.errors.DockerException, OSError, ValueError) as exc:  # ValueError: a DOCKER_HOST port out of range
        raise DockerUnavailable(f"no Docker engine answers: {exc}") from None
    return client


def image_exists(docker_client: DockerClient, ref: str) -> bool:
    try:
        docker_client.images.get(ref)
    except docker.errors.ImageNotFound:
        return False
    except docker.errors.APIError:
        return False
    return True


def base_images_of(dockerfile_text: str) -> list[str]:
    """External images named by FROM (stage names and ``scratch`` excluded), ARG defaults expanded."""
    args: dict[str, str] = {}
    stages: set[str] = set()
    out: list[str] = []
    for line in _logical_lines(dockerfile_text):
        parts = line.split()
        if not parts:
            continue
        instr = parts[0].upper()
        if instr == "ARG" and len(parts) > 1 and "=" in parts[1]:
            k, v = parts[1].split("=", 1)
            args.setdefault(k, v.strip("\"'"))
        if instr == "FROM":
            rest = [p for p in parts[1:] if not p.startswith("--")]
            if not rest:
                continue
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), ""), rest[0])
            if image.lower() != "scratch" and image not in stages and image not in out:
                out.append(image)
            if len(rest) >= 3 and rest[1].lower() == "as":
                stages.add(rest[2])
    return out


def _logical_lines(text: str) -> Iterator[str]:
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        yield buf + line
        buf = ""
    if buf:
        yield buf


def ensure_base_images(docker_client: DockerClient, dockerfile_text: str, policy: PullPolicy) -> list[str]:
    """Check FROM images before building: with policy ``never`` a missing one is an error, not a pull."""
    missing = [img for img in base_images_of(dockerfile_text) if not image_exists(docker_client, img)]
    if missing and policy == "never":
        raise BaseImageUnavailable(
            f"base image {missing[0]} is not available locally and pulling is disabled",
            image=missing[0],
        )
    return missing


Builder = Literal["auto", "buildkit", "legacy"]


class BuildRequest(BaseModel):
    context: Path
    dockerfile: Path
    tags: list[str]
    build_args: dict[str, str] = {}
    labels: dict[str, str] = {}
    network_mode: str = "host"
    pull_policy: PullPolicy = "missing"
    nocache: bool = False
    builder: Builder = "auto"
    secrets: dict[str, Path] = {}
    """BuildKit build secrets: id -> file, mounted with ``RUN --mount=type=secret,id=...``; never in the image."""
    detection_cache: Path | None = None
    """A file remembering which builder this engine and docker CLI offer (keyed by the engine's version
    and the CLI binary), so a run does not probe the CLI again; None: probe once per process."""


class BuildStep(BaseModel):
    """One build step as the builder reported it: what ran, whether the cache served it, how long it took."""

    number: int
    name: str
    cached: bool = False
    duration_s: float | None = None


class BuildResult(BaseModel):
    image_id: str
    tags: list[str]
    size_bytes: int
    duration_s: float
    steps: int
    cached_steps: int
    log_tail: str
    builder: Literal["buildkit", "legacy"] = "legacy"
    step_details: list[BuildStep] = []
    early: bool = False
    """Built by a speculative build that started before the build was asked for (``tools.speculative``)."""


@traced("build_image")
def build_image(
    req: BuildRequest, *, docker_client: DockerClient, on_progress: ProgressSink = null_sink
) -> BuildResult:
    """Build on the engine (BuildKit when a CLI offers it, else the API's builder).

    Raise BuildFailed (with step, exit code, log tail) on failure.
    """
    try:
        text = req.dockerfile.read_bytes()
    except OSError as exc:
        raise InvalidDockerfile(f"cannot read Dockerfile {req.dockerfile}: {exc.strerror}") from None
    if b"\x00" in text[:8192]:
        raise InvalidDockerfile(f"{req.dockerfile} is a binary file, not a Dockerfile")
    dockerfile_text = text.decode("utf-8", "replace")
    if not req.nocache and (spec := speculative.take(req)) is not None:
        adopted = spec.adopt(on_progress)
        if adopted is None:
            discard_speculation(spec)
        else:
            with _engine_gone_is_typed("tag"):
                for ref in req.tags:
                    repository, sep, tag = ref.rpartition(":")
                    if not sep or "/" in tag:  # no tag: the colon (if any) was a registry's port
                        repository, tag = ref, "latest"
                    docker_client.api.tag(adopted.image_id, repository, tag)
            return adopted.model_copy(update={"tags": list(req.tags), "early": True})
    with _engine_gone_is_typed("build"):
        ensure_base_images(docker_client, dockerfile_text, req.pull_policy)
    cli = None
    if req.builder in ("auto", "buildkit"):
        cli = (
            buildkit_cli()
            if req.detection_cache is None
            else remembered_buildkit_cli(docker_client, req.detection_cache)
        )
    if cli is None and (req.builder == "buildkit" or req.secrets):
        raise BuildFailed(
            "BuildKit is needed (asked for, or for build secrets), and no docker CLI with BuildKit was found",
            hint="Install a docker CLI with buildx (or Docker 20.10-22, which has BuildKit built in).",
        )
    with _engine_gone_is_typed("build"):
        if cli is not None:
            return _build_buildkit(req, cli, docker_client, on_progress, _count_steps(dockerfile_text))
        return _build_legacy(req, docker_client, on_progress)


@contextlib.contextmanager
def _engine_gone_is_typed(what: str) -> Iterator[None]:
    """A connection to the engine that fails (stopped, restarting) is DockerUnavailable, not a crash."""
    try:
        yield
    except (requests.exceptions.ConnectionError, ConnectionError) as exc:
        raise DockerUnavailable(
            f"lost the Docker engine during the {what}: {exc}",
            hint="Start the engine again (or wait for its restart), then `containerkit resume ID`.",
        ) from None


def _build_legacy(req: BuildRequest, docker_client: DockerClient, on_progress: ProgressSink) -> BuildResult:
    t0 = time.monotonic()
    tail: deque[str] = deque(maxlen=_LOG_TAIL_LINES)
    step: str | None = None
    step_no: int | None = None
    total = 0
    cached = 0
    image_id: str | None = None
    try:
        stream: Iterable[dict[str, Any]] = docker_client.api.build(
            path=str(req.context),
            dockerfile=str(req.dockerfile),
            tag=req.tags[0] if req.tags else None,
            buildargs=req.build_args or None,
            labels=req.labels or None,
            network_mode=req.network_mode,
            rm=True,
            forcerm=True,
            pull=False,
            nocache=req.nocache,
            decode=True,
        )
        for ev in stream:
            if "stream" in ev:
                for line in str(ev["stream"]).splitlines():
                    if not line.strip():
                        continue
                    tail.append(line)
                    m = _STEP_RE.match(line)
                    if m:
                        step_no, total, step = int(m.group(1)), int(m.group(2)), m.group(3)
                        on_progress({"kind": "build", "step": step_no, "total": total, "message": step})
                    elif "Using cache" in line:
                        cached += 1
                    elif line.startswith("Successfully built "):
                        image_id = line.split()[-1]
                    else:
                        on_progress({"kind": "log", "stage": "build", "message": line})
            elif "aux" in ev and isinstance(ev["aux"], dict) and "ID" in ev["aux"]:
                image_id = str(ev["aux"]["ID"])
            elif "error" in ev:
                msg = str(ev.get("error", "")).strip()
                tail.append(msg)
                m2 = _EXIT_RE.search(msg)
                raise BuildFailed(
                    f"build failed at step {step_no}/{total} ({step}): {msg}" if step else f"build failed: {msg}",
                    step=step,
                    step_number=step_no,
                    exit_code=int(m2.group(1)) if m2 else None,
                    log_tail="\n".join(tail),
                )
    except docker.errors.APIError as exc:
        raise BuildFailed(f"the engine refused the build: {exc.explanation or exc}", log_tail="\n".join(tail)) from None
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        raise DockerUnavailable(f"lost the Docker engine during the build: {exc}") from None
    if image_id is None:
        raise BuildFailed("the build ended without an image id", log_tail="\n".join(tail))
    img = docker_client.images.get(image_id)
    for extra in req.tags[1:]:
        tag_image(docker_client, img.id or image_id, extra)
    return BuildResult(
        image_id=str(img.id),
        tags=req.tags,
        size_bytes=int(img.attrs.get("Size", 0)),
        duration_s=round(time.monotonic() - t0, 3),
        steps=total,
        cached_steps=cached,
        log_tail="\n".join(tail),
        builder="legacy",
    )


@functools.cache
def buildkit_cli() -> str | None:
    """A docker CLI that can build with BuildKit: one with buildx, or 19.03-22 with it built in."""
    candidates = [os.environ.get("CONTAINERKIT_DOCKER_CLI"), shutil.which("docker"), "/usr/bin/docker"]
    for cli in dict.fromkeys(c for c in candidates if c and os.access(c, os.X_OK)):
        try:
            if subprocess.run([cli, "buildx", "version"], capture_output=True, timeout=10, check=False).returncode == 0:
                return cli
            out = subprocess.run(
                [cli, "version", "--format", "{{.Client.Version}}"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        m = re.match(r"(\d+)\.(\d+)", out)
        if m and (19, 3) <= (int(m.group(1)), int(m.group(2))) < (23, 0):
            return cli
    return None


def remembered_buildkit_cli(docker_client: DockerClient, cache_file: Path) -> str | None:
    """:func:`buildkit_cli`, remembered in ``cache_file`` for this engine version and this docker CLI binary."""
    import json

    try:
        engine = str(docker_client.version().get("Version", ""))
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
        return buildkit_cli()
    candidates = [os.environ.get("CONTAINERKIT_DOCKER_CLI"), shutil.which("docker"), "/usr/bin/docker"]
    clis = []
    for c in dict.fromkeys(x for x in candidates if x):
        try:
            st = os.stat(c)
        except OSError:
            continue
        clis.append(f"{c}:{st.st_size}:{st.st_mtime_ns}")
    key = f"{engine}|{'|'.join(clis)}"
    try:
        known = json.loads(cache_file.read_text(encoding="utf-8"))
        if isinstance(known, dict) and known.get("key") == key:
            found = known.get("cli")
            return str(found) if found else None
    except (OSError, ValueError):
        pass
    cli = buildkit_cli()
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "cli": cli}), encoding="utf-8")
        os.replace(tmp, cache_file)
    except OSError:
        pass  # only a cache
    return cli


_BK_STEP = re.compile(r"^#(\d+) \[([^\]]+)\] (.*)$")
_BK_DONE = re.compile(r"^#(\d+) DONE (\d+(?:\.\d+)?)s$")
_BK_CACHED = re.compile(r"^#(\d+) CACHED$")
_BK_ERROR = re.compile(r"^#(\d+) ERROR: (.*)$")
_BK_EXIT = re.compile(r"exit code: (\d+)")
_STEP_INSTRUCTIONS = {"FROM", "RUN", "COPY", "ADD"}


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """The CLI build stops when containerkit is killed (Linux), so a resumed session builds alone."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


_ENGINE_GONE = re.compile(
    r"Cannot connect to the Docker daemon|error reading from server|transport is closing|connection reset by peer"
    r"|connection refused|docker\.sock|^EOF$|unexpected EOF|daemon is shutting down|context canceled",
    re.I,
)


def _engine_lost(docker_client: DockerClient, message: str) -> bool:
    """A build that failed because the engine went away (stopped, restarted), not because of a step."""
    if _ENGINE_GONE.search(message.strip()):
        return True
    try:
        docker_client.ping()
    except Exception:  # noqa: BLE001 - any failure means: gone
        return True
    return False


def _count_steps(dockerfile_text: str) -> int:
    return sum(1 for line in _logical_lines(dockerfile_text) if line.split()[0].upper() in _STEP_INSTRUCTIONS)


def _buildkit_command(req: BuildRequest, cli: str, iidfile: Path) -> list[str]:
    cmd = [cli, "build", "--progress=plain", "--network", req.network_mode, "-f", str(req.dockerfile)]
    cmd += ["--iidfile", str(iidfile)]
    for tag in req.tags:
        cmd += ["-t", tag]
    for k, v in req.build_args.items():
        cmd += ["--build-arg", f"{k}={v}"]
    for k, v in req.labels.items():
        cmd += ["--label", f"{k}={v}"]
    for sid, path in req.secrets.items():
        cmd += ["--secret", f"id={sid},src={path}"]
    if req.nocache:
        cmd.append("--no-cache")
    cmd.append(str(req.context))
    return cmd


def _build_buildkit(
    req: BuildRequest,
    cli: str,
    docker_client: DockerClient,
    on_progress: ProgressSink,
    expected: int,
    on_started: Callable[[subprocess.Popen[str]], None] | None = None,
) -> BuildResult:
    """BuildKit through the docker CLI (``--progress=plain``): per-step durations and cache hits."""
    t0 = time.monotonic()
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    tail: deque[str] = deque(maxlen=_LOG_TAIL_LINES)
    steps: dict[int, BuildStep] = {}
    error: tuple[int, str] | None = None
    with tempfile.TemporaryDirectory(prefix="ck-build-") as tmp:
        iidfile = Path(tmp) / "iid"
        try:
            proc = subprocess.Popen(
                _buildkit_command(req, cli, iidfile),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        except OSError as exc:
            raise DockerUnavailable(f"cannot run {cli}: {exc}") from None
        if on_started is not None:
            on_started(proc)
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            if not line.strip():
                continue
            tail.append(line)
            if m := _BK_STEP.match(line):
                where, instr = m.group(2), m.group(3)
                if where.startswith("internal"):
                    continue
                steps[int(m.group(1))] = BuildStep(number=int(m.group(1)), name=f"[{where}] {instr}")
                n = len(steps)
                on_progress({"kind": "build", "step": n, "total": max(n, expected), "message": instr})
            elif m := _BK_CACHED.match(line):
                if (s := steps.get(int(m.group(1)))) is not None:
                    s.cached = True
            elif m := _BK_DONE.match(line):
                if (s := steps.get(int(m.group(1)))) is not None:
                    s.duration_s = float(m.group(2))
            elif m := _BK_ERROR.match(line):
                error = (int(m.group(1)), m.group(2))
            elif not line.startswith("#") or " sha256:" not in line:
                on_progress({"kind": "log", "stage": "build", "message": line})
        rc = proc.wait()
        if rc != 0 or error is not None:
            failed = steps.get(error[0]) if error else None
            msg = error[1] if error else (tail[-1] if tail else f"{cli} build exited {rc}")
            if _engine_lost(docker_client, msg):
                raise DockerUnavailable(
                    f"lost the Docker engine during the build: {msg}",
                    hint="The engine stopped or restarted mid-build; when it answers again, `containerkit resume ID` "
                    "builds again (the layers it kept are reused).",
                    log_tail="\n".join(tail),
                )
            code = _BK_EXIT.search(msg)
            raise BuildFailed(
                f"build failed at {failed.name}: {msg}" if failed else f"build failed: {msg}",
                step=failed.name if failed else None,
                step_number=len([k for k in steps if failed and k <= failed.number]) or None,
                exit_code=int(code.group(1)) if code else None,
                log_tail="\n".join(tail),
            )
        image_id = iidfile.read_text().strip()
    img = docker_client.images.get(image_id)
    ordered = [steps[k] for k in sorted(steps)]
    return BuildResult(
        image_id=str(img.id),
        tags=req.tags,
        size_bytes=int(img.attrs.get("Size", 0)),
        duration_s=round(time.monotonic() - t0, 3),
        steps=len(ordered),
        cached_steps=sum(1 for s in ordered if s.cached),
        log_tail="\n".join(tail),
        builder="buildkit",
        step_details=ordered,
    )


def speculative_build(spec: speculative.Speculation, request_json: str, docker_host: str | None) -> BuildResult:
    """Run the build ``request_json`` describes for ``spec`` (untagged: tags come on adoption).

    Only BuildKit builds are speculated: the docker CLI is a process that can be cancelled."""
    req = BuildRequest.model_validate_json(request_json)
    client = spec.client = connect_docker(docker_host, timeout=120)
    text = req.dockerfile.read_text(encoding="utf-8", errors="replace")
    ensure_base_images(client, text, req.pull_policy)
    cli = buildkit_cli() if req.detection_cache is None else remembered_buildkit_cli(client, req.detection_cache)
    if cli is None or spec.cancelled:
        raise BuildFailed("no early build: no BuildKit CLI, or cancelled")

    def started(proc: subprocess.Popen[str]) -> None:
        spec.proc = proc
        if spec.cancelled:
            proc.terminate()

    return _build_buildkit(req, cli, client, spec.sink, _count_steps(text), on_started=started)


def discard_speculation(spec: speculative.Speculation) -> None:
    """Cancel a speculative build nobody takes over and remove the image it left if nothing tagged it."""
    spec.cancel()
    if spec.result is None or spec.client is None:
        return
    with contextlib.suppress(Exception):  # gone already, or in use: only tidying
        if not spec.client.images.get(spec.result.image_id).tags:
            spec.client.images.remove(spec.result.image_id)
