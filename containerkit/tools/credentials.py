"""Registry credentials, found where Docker keeps them, and never shown.

Looked up in this order for a registry ``HOST[:PORT]``: credentials the caller passes (``--password-stdin``,
an MCP call's own), ``CONTAINERKIT_REGISTRY_USER``/``_PASSWORD``, then Docker's client configuration
(``$DOCKER_CONFIG/config.json``, default ``~/.docker/config.json``): a ``credHelpers`` entry for the host,
the ``credsStore`` for all hosts, then the host's ``auths`` entry. A helper is the program
``docker-credential-NAME`` speaking Docker's credential-helper protocol (``get``, the server on stdin, JSON
on stdout).

The password is a :class:`pydantic.SecretStr`: it prints as ``**********`` in a repr, a model dump, a
log line or an error, and only :meth:`RegistryCredentials.engine_auth` and :meth:`basic_header` hand it on.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr

from containerkit.errors import RegistryCredentialsUnavailable

__all__ = [
    "DOCKER_HUB",
    "RegistryCredentials",
    "credentials_from_docker_config",
    "credentials_from_env",
    "docker_config_path",
    "registry_key",
    "resolve_credentials",
]

DOCKER_HUB = "docker.io"
_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")
_HELPER_TIMEOUT_S = 30.0
_CONFIG_MAX_BYTES = 4 * 1024 * 1024


class RegistryCredentials(BaseModel):
    """A user name and a password (or token) for one registry; ``source`` says where they came from."""

    model_config = ConfigDict(frozen=True)

    registry: str
    username: str
    password: SecretStr
    source: str
    """``--password-stdin``, ``CONTAINERKIT_REGISTRY_USER/_PASSWORD``, ``config.json auths``, ``docker-credential-X``."""
    identity_token: bool = False
    """The secret is an OAuth2 identity token (a helper answered the user name ``<token>``)."""

    def engine_auth(self) -> dict[str, str]:
        """The engine API's ``X-Registry-Auth`` fields."""
        if self.identity_token:
            return {"identitytoken": self.password.get_secret_value(), "serveraddress": self.registry}
        return {
            "username": self.username,
            "password": self.password.get_secret_value(),
            "serveraddress": self.registry,
        }

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password.get_secret_value()}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def describe(self) -> str:
        """Who and from where, for messages: never the password."""
        return f"{self.username} (from {self.source})"


def registry_key(server: str) -> str:
    """``https://host:5000/v1/`` -> ``host:5000``; Docker Hub's many names -> ``docker.io``."""
    key = server.strip().lower()
    for scheme in ("https://", "http://"):
        key = key.removeprefix(scheme)
    key = key.split("/", 1)[0]
    return DOCKER_HUB if key in {k.removeprefix("https://").split("/")[0] for k in _HUB_KEYS} else key


def docker_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json`` (as the docker CLI reads it)."""
    env = os.environ if environ is None else environ
    folder = env.get("DOCKER_CONFIG")
    if folder:
        return Path(folder).expanduser() / "config.json"
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".docker" / "config.json"


def credentials_from_env(registry: str, environ: Mapping[str, str] | None = None) -> RegistryCredentials | None:
    env = os.environ if environ is None else environ
    user, password = env.get("CONTAINERKIT_REGISTRY_USER"), env.get("CONTAINERKIT_REGISTRY_PASSWORD")
    if not user or not password:
        return None
    return RegistryCredentials(
        registry=registry, username=user, password=SecretStr(password), source="CONTAINERKIT_REGISTRY_USER/_PASSWORD"
    )


def _read_config(path: Path) -> dict[str, object]:
    try:
        if not path.is_file():
            return {}
        if path.stat().st_size > _CONFIG_MAX_BYTES:
            raise RegistryCredentialsUnavailable(f"{path} is larger than {_CONFIG_MAX_BYTES} bytes")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RegistryCredentialsUnavailable(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        # the position only: the text around it may be a password
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise RegistryCredentialsUnavailable(f"{path} is not valid JSON{where}") from None
    if not isinstance(data, dict):
        raise RegistryCredentialsUnavailable(f"{path} is not a JSON object")
    return data


def _entry_for(table: object, registry: str) -> object:
    if not isinstance(table, dict):
        return None
    want = registry_key(registry)
    for key, value in table.items():
        if isinstance(key, str) and registry_key(key) == want:
            return value
    return None


def _from_helper(helper: str, registry: str, environ: Mapping[str, str]) -> RegistryCredentials | None:
    program = f"docker-credential-{helper}"
    exe = shutil.which(program, path=environ.get("PATH"))
    if exe is None:
        raise RegistryCredentialsUnavailable(
            f"the credential helper {program} named in the Docker config is not installed",
            hint=f"Install {program}, or remove it from credsStore/credHelpers in the Docker config.",
        )
    server = "https://index.docker.io/v1/" if registry_key(registry) == DOCKER_HUB else registry
    try:
        res = subprocess.run(
            [exe, "get"],
            input=server,
            capture_output=True,
            text=True,
            timeout=_HELPER_TIMEOUT_S,
            env=dict(environ),
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise RegistryCredentialsUnavailable(f"the credential helper {program} failed to run: {exc}") from None
    if res.returncode != 0:
        if "credentials not found" in (res.stdout + res.stderr).lower():
            return None
        # never echo its output: a broken helper may print what it holds
        raise RegistryCredentialsUnavailable(f"the credential helper {program} exited {res.returncode} for {registry}")
    try:
        answer = json.loads(res.stdout)
        username, secret = str(answer["Username"]), str(answer["Secret"])
    except (ValueError, KeyError, TypeError):
        raise RegistryCredentialsUnavailable(
            f"the credential helper {program} did not answer {{Username, Secret}} JSON"
        ) from None
    if not secret:
        return None
    return RegistryCredentials(
        registry=registry,
        username=username,
        password=SecretStr(secret),
        source=program,
        identity_token=username == "<token>",
    )


def credentials_from_docker_config(
    registry: str, environ: Mapping[str, str] | None = None
) -> RegistryCredentials | None:
    """The credentials Docker's client configuration holds for ``registry`` (helpers first), or None."""
    env = os.environ if environ is None else environ
    path = docker_config_path(env)
    config = _read_config(path)
    helper = _entry_for(config.get("credHelpers"), registry)
    if isinstance(helper, str) and helper:
        return _from_helper(helper, registry, env)
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        found = _from_helper(store, registry, env)
        if found is not None:
            return found
    entry = _entry_for(config.get("auths"), registry)
    if not isinstance(entry, dict):
        return None
    token = entry.get("identitytoken")
    if isinstance(token, str) and token:
        return RegistryCredentials(
            registry=registry, username="<token>", password=SecretStr(token), source=str(path), identity_token=True
        )
    user, password = entry.get("username"), entry.get("password")
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        try:
            user, _, password = base64.b64decode(entry["auth"], validate=False).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            raise RegistryCredentialsUnavailable(
                f"{path}: the auth entry for {registry} is not base64 user:password"
            ) from None
    if isinstance(user, str) and user and isinstance(password, str) and password:
        return RegistryCredentials(registry=registry, username=user, password=SecretStr(password), source=str(path))
    return None


def resolve_credentials(
    registry: str,
    *,
    explicit: RegistryCredentials | None = None,
    environ: Mapping[str, str] | None = None,
) -> RegistryCredentials | None:
    """The credentials to use for ``registry``: the caller's, the environment's, then Docker's config."""
    if explicit is not None:
        return explicit.model_copy(update={"registry": registry})
    return credentials_from_env(registry, environ) or credentials_from_docker_config(registry, environ)
