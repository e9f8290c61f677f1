"""Talking HTTP to a registry (Distribution API v2): reachability, credentials, TLS, the digest it serves.

A registry on a loopback address is spoken to in plain HTTP (Docker treats 127.0.0.0/8 as insecure
too) unless a CA is given (``--registry-ca``), then in HTTPS verified with that CA; any other
registry in HTTPS with the system's trust store. Credentials (Basic, or a Bearer token fetched from
the realm the registry names) are sent only when the registry asks. Every answer that is not a
success becomes a typed error: 401 :class:`RegistryAuthFailed`, 403 :class:`RegistryForbidden`, 404
:class:`ImageNotInRegistry`, 429/5xx :class:`RegistryBusy` (transient, with ``Retry-After``), a
failed handshake :class:`RegistryTLSFailed`, no answer :class:`RegistryUnreachable`. The same
mapping reads the engine's messages during a pull or a push (:func:`engine_error`).
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import re
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from containerkit.errors import (
    ContainerKitError,
    ImageNotInRegistry,
    PullFailed,
    PushFailed,
    RegistryAuthFailed,
    RegistryBusy,
    RegistryForbidden,
    RegistryTLSFailed,
    RegistryUnreachable,
)
from containerkit.tools.credentials import RegistryCredentials
from containerkit.tools.images import ImageRef

__all__ = [
    "MANIFEST_ACCEPT",
    "RegistryAccess",
    "engine_error",
    "is_loopback",
    "manifest_digest",
    "ping_registry",
    "registry_url",
]

MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)
_HTTP_TO_HTTPS = "HTTP request to an HTTPS server"


def is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if not registry.endswith("]") else registry
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def registry_url(registry: str, insecure: bool | None = None, *, ca_file: Path | None = None) -> str:
    """Plain HTTP for loopback registries (Docker treats 127.0.0.0/8 as insecure too), else HTTPS.

    A CA file means the registry speaks TLS: HTTPS, whatever its address.
    """
    plain = (is_loopback(registry) and ca_file is None) if insecure is None else insecure
    return f"{'http' if plain else 'https'}://{registry}"


class RegistryAccess(BaseModel):
    """How to reach one registry: which CA to trust, which credentials to offer (never printed)."""

    model_config = ConfigDict(frozen=True)

    registry: str
    ca_file: Path | None = None
    credentials: RegistryCredentials | None = None
    insecure: bool | None = None
    """True: plain HTTP; False: HTTPS; None: plain HTTP for loopback without a CA, else HTTPS."""

    @property
    def host(self) -> str:
        """Where the API answers: Docker Hub's name for images is not its API's host."""
        return "registry-1.docker.io" if self.registry in ("docker.io", "index.docker.io") else self.registry

    def schemes(self) -> list[str]:
        if self.insecure is not None:
            return ["http" if self.insecure else "https"]
        if self.ca_file is not None or not is_loopback(self.registry):
            return ["https"]
        return ["http", "https"]  # a loopback registry serving TLS answers plain HTTP with a 400

    def ssl_context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        except (OSError, ssl.SSLError) as exc:
            raise RegistryTLSFailed(
                f"cannot use {self.ca_file} as the CA of {self.registry}: {getattr(exc, 'strerror', None) or exc}",
                hint="Pass the registry CA's certificate in PEM form with --registry-ca FILE.",
                registry=self.registry,
            ) from None


def _retry_after(headers: Message | None) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _challenge(headers: Message | None) -> tuple[str, dict[str, str]]:
    """``WWW-Authenticate: Bearer realm="...",service="..."`` -> ("bearer", {...})."""
    value = (headers.get("WWW-Authenticate") if headers is not None else None) or ""
    scheme, _, rest = value.strip().partition(" ")
    params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return scheme.lower(), params


def _status_error(code: int, url: str, access: RegistryAccess, headers: Message | None, what: str) -> ContainerKitError:
    reg = access.registry
    if code == 401:
        who = access.credentials.describe() if access.credentials else None
        return RegistryAuthFailed(
            f"registry {reg} refused the credentials of {who} ({what})"
            if who
            else f"registry {reg} asks for credentials and none were found ({what})",
            registry=reg,
        )
    if code == 403:
        who = f" for {access.credentials.username}" if access.credentials else ""
        return RegistryForbidden(f"registry {reg} forbids {what}{who} (HTTP 403)", registry=reg)
    if code == 404:
        return ImageNotInRegistry(f"registry {reg} has no {what} (HTTP 404)", registry=reg)
    if code == 429 or code >= 500:
        wait = _retry_after(headers)
        after = f"; it asks to retry after {wait:.0f}s" if wait is not None else ""
        return RegistryBusy(
            f"registry {reg} answered HTTP {code} to {what}{after}", registry=reg, retry_after_s=wait, status=code
        )
    return RegistryUnreachable(
        f"registry {reg} answered HTTP {code} on {url}",
        hint="Check that --registry names a Docker registry (it must serve the /v2/ API).",
        registry=reg,
        transient=False,
    )


def _network_error(exc: BaseException, url: str, access: RegistryAccess) -> ContainerKitError:
    reg = access.registry
    reason: object = getattr(exc, "reason", exc)
    if isinstance(reason, ssl.SSLCertVerificationError):
        return RegistryTLSFailed(
            f"registry {reg}: its TLS certificate is not trusted ({reason.verify_message})",
            registry=reg,
        )
    if isinstance(reason, ssl.SSLError):
        plain = "WRONG_VERSION_NUMBER" in str(reason) or "wrong version number" in str(reason)
        return RegistryTLSFailed(
            f"registry {reg}: TLS handshake failed ({reason.reason or reason})"
            + (": it seems to speak plain HTTP" if plain else ""),
            hint="Leave --registry-ca out for a plain-HTTP registry." if plain else None,
            registry=reg,
        )
    if isinstance(reason, socket.gaierror):
        return RegistryUnreachable(
            f"registry {reg} is unreachable: the host name does not resolve",
            hint=f"Check --registry {reg}: is the host name right?",
            registry=reg,
            transient=False,
        )
    return RegistryUnreachable(
        f"registry {reg} is unreachable: {reason}",
        hint=f"Check --registry {reg}: is the registry running and listening there?",
        registry=reg,
        transient=True,
    )


class _Client:
    """One conversation with a registry: the scheme that works and the authorization once earned."""

    def __init__(self, access: RegistryAccess, timeout: float) -> None:
        self.access = access
        self.timeout = timeout
        self.schemes = access.schemes()
        self.authorization: str | None = None

    def _urlopen(self, req: urllib.request.Request) -> tuple[int, Message]:
        ctx = self.access.ssl_context() if req.full_url.startswith("https:") else None
        with urllib.request.urlopen(req, timeout=self.timeout, context=ctx) as resp:
            return int(resp.status), resp.headers

    def _token(self, params: dict[str, str], scope: str | None) -> str:
        realm = params.get("realm")
        if not realm or not realm.startswith(("http://", "https://")):
            raise RegistryAuthFailed(f"registry {self.access.registry} names no usable token realm")
        query = {k: v for k, v in (("service", params.get("service")), ("scope", scope or params.get("scope"))) if v}
        url = realm + ("?" + urllib.parse.urlencode(query) if query else "")
        req = urllib.request.Request(url, method="GET")
        if self.access.credentials is not None:
            req.add_header("Authorization", self.access.credentials.basic_header())
        ctx = self.access.ssl_context() if url.startswith("https:") else None
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=ctx) as resp:
                body = json.loads(resp.read(1024 * 1024) or b"{}")
        except urllib.error.HTTPError as exc:
            raise _status_error(exc.code, url, self.access, exc.headers, "a token") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise _network_error(exc, url, self.access) from None
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryAuthFailed(f"registry {self.access.registry}: the token service answered no token")
        return "Bearer " + token

    def request(
        self, method: str, path: str, *, what: str, accept: str | None = None, scope: str | None = None
    ) -> tuple[int, Message]:
        """The status and headers of ``method path``; 401 is returned only when no credentials exist."""
        last: ContainerKitError | None = None
        for scheme in list(self.schemes):
            url = f"{scheme}://{self.access.host}{path}"
            for _ in range(2):  # once as we are, once more with the authorization the 401 asked for
                req = urllib.request.Request(url, method=method)
                if accept:
                    req.add_header("Accept", accept)
                if self.authorization:
                    req.add_header("Authorization", self.authorization)
                try:
                    status, headers = self._urlopen(req)
                    self.schemes = [scheme]
                    return status, headers
                except urllib.error.HTTPError as exc:
                    if exc.code == 400 and _HTTP_TO_HTTPS in _body(exc):
                        last = RegistryTLSFailed(
                            f"registry {self.access.registry} speaks TLS", registry=self.access.registry
                        )
                        break  # try the next scheme (https)
                    if exc.code != 401:
                        raise _status_error(exc.code, url, self.access, exc.headers, what) from None
                    if self.authorization is not None or self.access.credentials is None:
                        if self.access.credentials is None:
                            self.schemes = [scheme]
                            return 401, exc.headers
                        raise _status_error(401, url, self.access, exc.headers, what) from None
                    kind, params = _challenge(exc.headers)
                    self.authorization = (
                        self._token(params, scope) if kind == "bearer" else self.access.credentials.basic_header()
                    )
                except (urllib.error.URLError, OSError, ValueError) as exc:
                    raise _network_error(exc, url, self.access) from None
        assert last is not None
        raise last


def _body(exc: urllib.error.HTTPError) -> str:
    try:
        return exc.read(2048).decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""


def _access(registry: str, access: RegistryAccess | None, insecure: bool | None) -> RegistryAccess:
    if access is None:
        return RegistryAccess(registry=registry, insecure=insecure)
    if insecure is not None and access.insecure is None:
        return access.model_copy(update={"insecure": insecure})
    return access


def ping_registry(
    registry: str, *, timeout: float = 5.0, insecure: bool | None = None, access: RegistryAccess | None = None
) -> int:
    """GET /v2/: 200 (signed in when credentials are given); 401 when it asks for credentials nobody gave.

    Raise a typed error otherwise: wrong credentials, 403, TLS, not a registry, nothing answering.
    """
    client = _Client(_access(registry, access, insecure), timeout)
    try:
        status, _ = client.request("GET", "/v2/", what="GET /v2/")
    except ImageNotInRegistry:
        raise RegistryUnreachable(
            f"{registry} answered 404 on /v2/: it is not a Docker registry",
            hint="Check that --registry names a Docker registry (it must serve the /v2/ API).",
            registry=registry,
            transient=False,
        ) from None
    return status


def manifest_digest(
    ref: ImageRef, *, timeout: float = 10.0, insecure: bool | None = None, access: RegistryAccess | None = None
) -> str | None:
    """The digest the registry serves for ``ref`` (None when it asks for credentials, lacks it, or cannot answer)."""
    if ref.registry is None:
        return None
    client = _Client(_access(ref.registry, access, insecure), timeout)
    target = ref.digest or ref.tag or "latest"
    try:
        status, headers = client.request(
            "HEAD",
            f"/v2/{ref.repository}/manifests/{target}",
            what=f"{ref.repository}:{target}",
            accept=MANIFEST_ACCEPT,
            scope=f"repository:{ref.repository}:pull",
        )
    except ContainerKitError:
        return None
    digest = headers.get("Docker-Content-Digest") if status == 200 else None
    return str(digest) if digest else None


# -- the engine's words ---------------------------------------------------------------------------

_TLS = re.compile(r"x509:|certificate|tls: |server gave HTTP response to HTTPS client", re.I)
_AUTH = re.compile(r"no basic auth credentials|unauthorized|authentication required|\b401 Unauthorized", re.I)
_FORBIDDEN = re.compile(r"\bdenied\b|\b403 Forbidden|forbidden", re.I)
_NOT_FOUND = re.compile(r"manifest unknown|name unknown|repository does not exist|\bnot found\b", re.I)
_BUSY = re.compile(
    r"toomanyrequests|too many requests|\b429\b|\b5\d\d (Internal Server Error|Bad Gateway|Service Unavailable|"
    r"Gateway Timeout)|received unexpected HTTP status: 5\d\d",
    re.I,
)
_DNS = re.compile(r"no such host|Name or service not known|server misbehaving", re.I)
_UNREACHABLE = re.compile(
    r"connection refused|connection reset|broken pipe|\bEOF\b|i/o timeout|dial tcp|context deadline exceeded|"
    r"TLS handshake timeout|use of closed network connection|request canceled|network is unreachable|timeout",
    re.I,
)


def engine_error(message: str, *, registry: str, operation: str, ref: str) -> ContainerKitError:
    """The typed error for what the engine reported while pulling or pushing ``ref``."""
    msg = message.strip()
    what = f"{operation} of {ref}"
    if "does not exist locally" in msg or "No such image" in msg:
        return PushFailed(f"{what} failed: {msg}", hint="Build or tag the image first (`containerkit tag`).")
    if _TLS.search(msg):
        return RegistryTLSFailed(f"{what} failed: {msg}", registry=registry)
    if _AUTH.search(msg):
        return RegistryAuthFailed(f"{what} was refused by {registry}: {msg}", registry=registry)
    if _FORBIDDEN.search(msg):
        return RegistryForbidden(f"{what} was forbidden by {registry}: {msg}", registry=registry)
    if _BUSY.search(msg):
        return RegistryBusy(f"{what} failed: registry {registry} is busy or failing: {msg}", registry=registry)
    if _DNS.search(msg):
        return RegistryUnreachable(f"{what} failed: {msg}", registry=registry, transient=False)
    if _UNREACHABLE.search(msg):
        return RegistryUnreachable(f"{what} failed: registry {registry} went away: {msg}", registry=registry)
    if _NOT_FOUND.search(msg):
        return ImageNotInRegistry(f"{what} failed: {msg}", registry=registry)
    cls = PullFailed if operation == "pull" else PushFailed
    return cls(f"{what} failed: {msg}", registry=registry)
