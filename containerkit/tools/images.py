"""Image references, validated by the distribution reference grammar before anything is sent."""

from __future__ import annotations

import re

from pydantic import BaseModel

from containerkit.errors import InvalidImageReference, InvalidOption

__all__ = ["ImageRef", "parse_image_ref", "parse_registry", "sanitize_repo_name"]

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_NAME_RE = re.compile(rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}\Z")
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}\Z")
_REGISTRY_RE = re.compile(rf"^{_DOMAIN}$")


class ImageRef(BaseModel):
    registry: str | None = None
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s

    def with_registry(self, registry: str) -> ImageRef:
        return self.model_copy(update={"registry": registry})


def _port_problem(domain: str) -> str | None:
    """Why the ``:PORT`` of a registry host is not a TCP port (None when it is, or there is none)."""
    m = re.search(r":([0-9]+)$", domain)
    if m is None:
        return None
    port = int(m.group(1)) if len(m.group(1)) <= 5 else 0
    return None if 1 <= port <= 65535 else f"port {m.group(1)} is not a TCP port (1-65535)"


def _looks_like_domain(first: str) -> bool:
    return "." in first or ":" in first or first == "localhost" or first.startswith("[")


def parse_image_ref(ref: str, *, default_tag: str | None = "latest") -> ImageRef:
    """Parse ``[REGISTRY/]NAME[:TAG][@DIGEST]``; raise InvalidImageReference naming the bad part."""
    raw = ref.strip()
    if not raw or raw != ref or any(c.isspace() for c in raw):
        raise InvalidImageReference(f"invalid image reference {ref!r}: it contains white space or is empty")
    digest = None
    if "@" in raw:
        raw, digest = raw.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise InvalidImageReference(f"invalid image reference {ref!r}: bad digest {digest!r}")
    tag = None
    slash = raw.rfind("/")
    colon = raw.rfind(":")
    if colon > slash:
        raw, tag = raw[:colon], raw[colon + 1 :]
        if not _TAG_RE.match(tag):
            raise InvalidImageReference(f"invalid image reference {ref!r}: bad tag {tag!r}")
    m = _NAME_RE.match(raw)
    if not m:
        bad = "upper-case letters are not allowed in a repository name" if raw.lower() != raw else "bad repository name"
        raise InvalidImageReference(f"invalid image reference {ref!r}: {bad}")
    domain = m.group("domain")
    path = m.group("path")
    if domain and not _looks_like_domain(domain):
        path, domain = f"{domain}/{path}", None
        if not re.match(rf"^{_COMPONENT}(?:/{_COMPONENT})*$", path):
            bad = (
                "upper-case letters are not allowed in a repository name"
                if path.lower() != path
                else "bad repository name"
            )
            raise InvalidImageReference(f"invalid image reference {ref!r}: {bad}")
    if domain and (why := _port_problem(domain)):
        raise InvalidImageReference(
            f"invalid image reference {ref!r}: registry {domain!r}: {why}",
            hint="Give the registry part as HOST[:PORT] with a port from 1 to 65535, e.g. 127.0.0.1:5000/shop/api:1.0.",
        )
    if len(raw) > 255:
        raise InvalidImageReference(f"invalid image reference {ref!r}: name longer than 255 characters")
    return ImageRef(registry=domain, repository=path, tag=tag or (None if digest else default_tag), digest=digest)


def parse_registry(value: str) -> str:
    """Validate ``HOST[:PORT]`` (no scheme, no path); the port must be a TCP port."""
    if not value.strip():
        raise InvalidOption(
            "the registry is empty",
            hint="Give the registry as HOST[:PORT] (e.g. 127.0.0.1:5000), or leave --registry out to skip the push.",
        )
    v = value.strip().removeprefix("http://").removeprefix("https://").rstrip("/")
    if v and _REGISTRY_RE.match(v) and (why := _port_problem(v)):
        raise InvalidOption(
            f"invalid registry {value!r}: {why}",
            hint="Give the registry as HOST[:PORT] with a port from 1 to 65535, e.g. 127.0.0.1:5000.",
        )
    if not v or not _REGISTRY_RE.match(v):
        raise InvalidOption(
            f"invalid registry {value!r}",
            hint="Give the registry as HOST[:PORT], e.g. 127.0.0.1:5000 or registry.example.com.",
        )
    return v


def sanitize_repo_name(name: str) -> str:
    """Turn a project name (``My_App``) into a valid repository component (``my_app``)."""
    s = re.sub(r"[^a-z0-9._/-]+", "-", name.lower()).strip("-._/")
    s = re.sub(r"[-]{2,}", "-", s)
    return s or "app"
