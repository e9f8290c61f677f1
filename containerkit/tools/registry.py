"""Talking HTTP to a registry (Distribution API v2): reachability and the digest it serves."""

from __future__ import annotations

import ipaddress
import urllib.error
import urllib.request

from containerkit.errors import RegistryUnreachable
from containerkit.tools.images import ImageRef

__all__ = ["MANIFEST_ACCEPT", "is_loopback", "manifest_digest", "ping_registry", "registry_url"]

MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


def is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if not registry.endswith("]") else registry
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def registry_url(registry: str, insecure: bool | None = None) -> str:
    """Plain HTTP for loopback registries (Docker treats 127.0.0.0/8 as insecure too), else HTTPS."""
    plain = is_loopback(registry) if insecure is None else insecure
    return f"{'http' if plain else 'https'}://{registry}"


def ping_registry(registry: str, *, timeout: float = 5.0, insecure: bool | None = None) -> int:
    """GET /v2/: returns the HTTP status (200, or 401 when auth is needed); raise when nothing answers."""
    url = registry_url(registry, insecure) + "/v2/"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            return exc.code
        raise RegistryUnreachable(
            f"registry {registry} answered {exc.code} on {url}",
            hint="Check that --registry names a Docker registry (it must serve the /v2/ API).",
            registry=registry,
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RegistryUnreachable(
            f"registry {registry} is unreachable: {reason}",
            hint=f"Check --registry {registry}: is the registry running and listening there?",
            registry=registry,
        ) from None


def manifest_digest(ref: ImageRef, *, timeout: float = 10.0, insecure: bool | None = None) -> str | None:
    """The digest the registry serves for ``ref`` (None when it asks for credentials or lacks it)."""
    if ref.registry is None:
        return None
    url = f"{registry_url(ref.registry, insecure)}/v2/{ref.repository}/manifests/{ref.digest or ref.tag or 'latest'}"
    req = urllib.request.Request(url, method="HEAD", headers={"Accept": MANIFEST_ACCEPT})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            digest = resp.headers.get("Docker-Content-Digest")
            return str(digest) if digest else None
    except (urllib.error.URLError, OSError):
        return None
