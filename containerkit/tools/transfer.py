"""Pull, tag and push on the engine, each with a time limit and retries for transient faults.

Every operation runs on its own engine connection whose socket time-out is the operation's limit
(pull 10 min, push 15 min, tag 2 min by default: :class:`Timeouts`), and stops at the first event
after the limit; an abandoned connection makes the engine cancel the transfer. A transient fault
(the registry or the engine gone, a time-out, 5xx, 429) is tried again with exponential backoff and
full jitter (:mod:`containerkit.tools.retry`); 401, 403, 404 and TLS failures are not. Each
result carries its attempts; a failure carries them in ``exc.context["attempts"]``.

Credentials are :class:`RegistryCredentials` (their password a ``SecretStr``): they reach the
engine's ``X-Registry-Auth`` header and the registry's ``Authorization`` header, nothing else.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
import urllib3
from docker import DockerClient
from pydantic import BaseModel, Field

from containerkit.errors import (
    DockerUnavailable,
    InvalidImageReference,
    OperationTimedOut,
    PushFailed,
    RegistryAuthFailed,
)
from containerkit.tools.credentials import RegistryCredentials, docker_config_path
from containerkit.tools.images import ImageRef
from containerkit.tools.progress import ProgressSink, null_sink
from containerkit.tools.registry import RegistryAccess, engine_error, manifest_digest, ping_registry
from containerkit.tools.retry import OperationAttempt, RetryPolicy, Timeouts, with_retries

__all__ = [
    "PullResult",
    "PushResult",
    "TagResult",
    "Timeouts",
    "credentials_of",
    "pull_image",
    "push_image",
    "tag_image",
]


class PushResult(BaseModel):
    ref: str
    digest: str
    size_bytes: int | None = None
    verified: bool = False
    duration_s: float = 0.0
    attempts: list[OperationAttempt] = Field(default_factory=list)


class PullResult(BaseModel):
    ref: str
    image_id: str
    duration_s: float = 0.0
    attempts: list[OperationAttempt] = Field(default_factory=list)


class TagResult(BaseModel):
    image: str
    ref: str
    attempts: list[OperationAttempt] = Field(default_factory=list)


def credentials_of(auth_config: dict[str, str] | None, registry: str) -> RegistryCredentials | None:
    """A ``{"username", "password"}`` dict (an MCP call's, the run's) as credentials for ``registry``."""
    if not auth_config or not auth_config.get("username") or not auth_config.get("password"):
        return None
    from pydantic import SecretStr

    return RegistryCredentials(
        registry=registry,
        username=auth_config["username"],
        password=SecretStr(auth_config["password"]),
        source=auth_config.get("source") or "the caller",
    )


@contextlib.contextmanager
def _engine(docker_client: DockerClient, timeout: float) -> Iterator[Any]:
    """An engine API client for one operation, its socket time-out the operation's limit.

    A local socket gets a connection of its own (closed afterwards, so an abandoned push is cancelled);
    an engine over TCP is used through the shared client (its own time-out applies).
    """
    api = docker_client.api
    adapter = api.adapters.get("http+docker://") if str(api.base_url).startswith("http+docker://") else None
    path = getattr(adapter, "socket_path", None)
    if not isinstance(path, str):
        yield api
        return
    try:
        client = docker.APIClient(base_url="unix://" + path, version=api.api_version, timeout=timeout)
    except docker.errors.DockerException as exc:
        raise DockerUnavailable(f"cannot connect to the Docker engine: {exc}") from None
    try:
        yield client
    finally:
        client.close()


_LOST = (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError)


def _timed_out(operation: str, target: str, limit: float) -> OperationTimedOut:
    return OperationTimedOut(
        f"{operation} of {target} did not finish within {limit:.0f}s",
        operation=operation,
        timeout_s=limit,
    )


def _events(
    stream: Iterable[dict[str, Any]], deadline: float, operation: str, target: str, limit: float
) -> Iterator[dict[str, Any]]:
    """The engine's JSON events until the deadline; a read that outlasts it is a time-out."""
    try:
        for ev in stream:
            yield ev
            if time.monotonic() > deadline:
                raise _timed_out(operation, target, limit)
    except _LOST as exc:
        if time.monotonic() >= deadline - 1.0 or "timed out" in str(exc).lower():
            raise _timed_out(operation, target, limit) from None
        raise DockerUnavailable(f"lost the Docker engine during the {operation} of {target}: {exc}") from None


def _stream_error(ev: dict[str, Any]) -> str | None:
    if "error" in ev:
        return str(ev["error"])
    detail = ev.get("errorDetail")
    if isinstance(detail, dict) and detail.get("message"):
        return str(detail["message"])
    return None


def _split(ref: str) -> tuple[str, str]:
    repo, _, tag = ref.rpartition(":") if ref.rfind(":") > ref.rfind("/") else (ref, "", "latest")
    return repo, tag or "latest"


def _tag_once(api: Any, image: str, ref: str) -> None:
    repo, tag = _split(ref)
    try:
        api.tag(image, repo, tag)
    except docker.errors.ImageNotFound:
        raise InvalidImageReference(
            f"no local image {image} to tag as {ref}",
            hint="Name an image the engine has (`docker images`), by name:tag or id.",
        ) from None
    except docker.errors.APIError as exc:
        raise PushFailed(f"the engine refused to tag {image} as {ref}: {exc.explanation or exc}") from None


def tag_image(
    docker_client: DockerClient,
    image: str,
    ref: str,
    *,
    timeout_s: float = Timeouts().tag,
    retry: RetryPolicy | None = None,
) -> TagResult:
    """Give the local ``image`` the name ``ref`` (``NAME[:TAG]``, default tag ``latest``)."""

    def once(_n: int) -> None:
        deadline = time.monotonic() + timeout_s
        with _engine(docker_client, timeout_s) as api:
            try:
                _tag_once(api, image, ref)
            except _LOST as exc:
                if time.monotonic() >= deadline - 1.0 or "timed out" in str(exc).lower():
                    raise _timed_out("tag", ref, timeout_s) from None
                raise DockerUnavailable(f"lost the Docker engine while tagging {ref}: {exc}") from None

    _, attempts = with_retries("tag", ref, once, policy=retry or RetryPolicy(attempts=2))
    return TagResult(image=image, ref=ref, attempts=attempts)


def _access(ref: ImageRef, credentials: RegistryCredentials | None, ca_file: Path | None) -> RegistryAccess:
    assert ref.registry is not None
    return RegistryAccess(registry=ref.registry, ca_file=ca_file, credentials=credentials)


def _check_access(access: RegistryAccess, operation: str, timeout: float) -> None:
    """Reach the registry (and sign in) before the engine transfers anything: a clear error, early."""
    status = ping_registry(access.registry, access=access, timeout=min(30.0, timeout))
    if status == 401:
        raise RegistryAuthFailed(
            f"registry {access.registry} asks for credentials and none were found for the {operation} "
            f"(looked at --password-stdin, CONTAINERKIT_REGISTRY_USER/_PASSWORD, {docker_config_path()})",
            registry=access.registry,
        )


def _push_events(
    stream: Iterator[dict[str, Any]], ref: ImageRef, on_progress: ProgressSink
) -> tuple[str | None, int | None]:
    assert ref.registry is not None
    digest: str | None = None
    size: int | None = None
    retrying: set[str] = set()
    for ev in stream:
        err = _stream_error(ev)
        if err:
            raise engine_error(err, registry=ref.registry, operation="push", ref=str(ref))
        aux = ev.get("aux")
        if isinstance(aux, dict) and aux.get("Digest"):
            digest, size = str(aux["Digest"]), aux.get("Size")
        if "status" in ev:
            status, layer = str(ev["status"]), str(ev.get("id", ""))
            if status.startswith("Retrying") and layer not in retrying:
                retrying.add(layer)  # the engine's own retry of a layer: said once, not every second
                on_progress({"kind": "warning", "stage": "push", "message": f"layer {layer}: {status} (engine)"})
            elif not status.startswith("Retrying"):
                retrying.discard(layer)
            detail = ev.get("progressDetail") or {}
            on_progress(
                {
                    "kind": "push",
                    "status": status,
                    "layer": layer,
                    "current": int(detail.get("current", 0) or 0),
                    "total": int(detail.get("total", 0) or 0),
                }
            )
    return digest, size


def push_image(
    docker_client: DockerClient,
    image: str,
    ref: ImageRef,
    *,
    auth_config: dict[str, str] | None = None,
    credentials: RegistryCredentials | None = None,
    ca_file: Path | None = None,
    timeout_s: float = Timeouts().push,
    retry: RetryPolicy | None = None,
    on_progress: ProgressSink = null_sink,
    sleep: Callable[[float], None] = time.sleep,
) -> PushResult:
    """Tag ``image`` as ``ref`` and push it; return the digest the registry reports (and verify it)."""
    if ref.registry is None:
        raise PushFailed(f"{ref} names no registry", hint="Pass --registry HOST:PORT.")
    creds = credentials or credentials_of(auth_config, ref.registry)
    access = _access(ref, creds, ca_file)
    tag = ref.tag or "latest"
    target = f"{ref.name}:{tag}"
    t0 = time.monotonic()

    def once(_n: int) -> tuple[str, int | None, bool]:
        deadline = time.monotonic() + timeout_s
        _check_access(access, "push", timeout_s)
        with _engine(docker_client, timeout_s) as api:
            try:
                _tag_once(api, image, target)
                stream = api.push(
                    ref.name, tag=tag, stream=True, decode=True, auth_config=creds.engine_auth() if creds else None
                )
                digest, size = _push_events(_events(stream, deadline, "push", target, timeout_s), ref, on_progress)
            except docker.errors.APIError as exc:
                raise engine_error(
                    str(exc.explanation or exc), registry=access.registry, operation="push", ref=target
                ) from None
            except _LOST as exc:
                if time.monotonic() >= deadline - 1.0:
                    raise _timed_out("push", target, timeout_s) from None
                raise DockerUnavailable(f"lost the Docker engine during the push of {target}: {exc}") from None
        if digest is None:
            raise PushFailed(f"push of {target} ended without a digest")
        served = manifest_digest(ref.model_copy(update={"tag": tag, "digest": None}), access=access)
        if served is not None and served != digest:
            raise PushFailed(f"the registry serves {served} for {target}, not the pushed {digest}")
        return digest, size, served == digest

    (digest, size, verified), attempts = with_retries(
        "push", target, once, policy=retry, on_progress=on_progress, sleep=sleep
    )
    return PushResult(
        ref=target,
        digest=digest,
        size_bytes=size,
        verified=verified,
        duration_s=round(time.monotonic() - t0, 3),
        attempts=attempts,
    )


def pull_image(
    docker_client: DockerClient,
    ref: ImageRef,
    *,
    auth_config: dict[str, str] | None = None,
    credentials: RegistryCredentials | None = None,
    ca_file: Path | None = None,
    timeout_s: float = Timeouts().pull,
    retry: RetryPolicy | None = None,
    on_progress: ProgressSink = null_sink,
    sleep: Callable[[float], None] = time.sleep,
) -> PullResult:
    """Pull ``ref`` (by digest when it has one); return the local image id."""
    registry = ref.registry or "docker.io"
    creds = credentials or credentials_of(auth_config, registry)
    target = ref.digest or ref.tag or "latest"
    sep = "@" if ref.digest else ":"
    name = f"{ref.name}{sep}{target}"
    t0 = time.monotonic()

    def once(_n: int) -> str:
        deadline = time.monotonic() + timeout_s
        if ref.registry:
            _check_access(_access(ref, creds, ca_file), "pull", timeout_s)
        with _engine(docker_client, timeout_s) as api:
            try:
                stream = api.pull(
                    ref.name, tag=target, stream=True, decode=True, auth_config=creds.engine_auth() if creds else None
                )
                for ev in _events(stream, deadline, "pull", name, timeout_s):
                    err = _stream_error(ev)
                    if err:
                        raise engine_error(err, registry=registry, operation="pull", ref=name)
                    if "status" in ev:
                        detail = ev.get("progressDetail") or {}
                        on_progress(
                            {
                                "kind": "pull",
                                "status": str(ev["status"]),
                                "layer": str(ev.get("id", "")),
                                "current": int(detail.get("current", 0) or 0),
                                "total": int(detail.get("total", 0) or 0),
                            }
                        )
                return str(api.inspect_image(name)["Id"])
            except docker.errors.APIError as exc:
                raise engine_error(str(exc.explanation or exc), registry=registry, operation="pull", ref=name) from None
            except _LOST as exc:
                if time.monotonic() >= deadline - 1.0:
                    raise _timed_out("pull", name, timeout_s) from None
                raise DockerUnavailable(f"lost the Docker engine during the pull of {name}: {exc}") from None

    image_id, attempts = with_retries("pull", name, once, policy=retry, on_progress=on_progress, sleep=sleep)
    return PullResult(ref=name, image_id=image_id, duration_s=round(time.monotonic() - t0, 3), attempts=attempts)
