"""`containerkit pull|tag|push`: registry operations on their own, with progress bars, time limits and retries.

Thin over :mod:`containerkit.tools.transfer`. Credentials: ``--username`` with ``--password-stdin``,
else ``CONTAINERKIT_REGISTRY_USER``/``_PASSWORD``, else Docker's ``config.json`` (auths, credential
helpers; ``DOCKER_CONFIG`` honoured). The password is read from stdin, never from an argument.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.markup import escape

from containerkit.cli import current_env, handle_errors
from containerkit.cli._env import Environment
from containerkit.errors import InvalidOption

if TYPE_CHECKING:
    from docker import DockerClient

    from containerkit.tools.credentials import RegistryCredentials
    from containerkit.tools.retry import OperationAttempt, RetryPolicy

__all__ = ["password_from_stdin", "register", "registry_ca"]

_USER = typer.Option(None, "--username", "-u", help="Registry user (default: CONTAINERKIT_REGISTRY_USER).")
_PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="Read the registry password (or token) from stdin; it is never stored."
)
_CA = typer.Option(None, "--registry-ca", help="CA certificate (PEM) the registry's TLS certificate is checked with.")
_TIMEOUT = typer.Option(None, "--timeout", min=1, max=24 * 3600, help="Seconds one attempt may take.")
_RETRIES = typer.Option(
    None, "--retries", min=1, max=20, help="Attempts in all for transient faults (default 4, [retries] attempts)."
)
_JSON = typer.Option(False, "--json", help="Print the result as one JSON object.")


def password_from_stdin(env: Environment, username: str | None, registry: str) -> RegistryCredentials:
    """``--password-stdin``: the first line of stdin, for ``username`` (or CONTAINERKIT_REGISTRY_USER)."""
    from pydantic import SecretStr

    from containerkit.tools.credentials import RegistryCredentials

    user = username or env.environ.get("CONTAINERKIT_REGISTRY_USER")
    if not user:
        raise InvalidOption(
            "--password-stdin needs a user name",
            hint="Pass --username NAME (or set CONTAINERKIT_REGISTRY_USER) with --password-stdin.",
        )
    if env.stdin_is_tty:
        raise InvalidOption(
            "--password-stdin reads from a pipe, not a terminal",
            hint="Pipe the password in: `cat token.txt | containerkit push ... --password-stdin`.",
        )
    password = env.stdin.readline().rstrip("\r\n")
    if not password:
        raise InvalidOption("--password-stdin: stdin holds no password", hint="Pipe the password in on one line.")
    return RegistryCredentials(
        registry=registry, username=user, password=SecretStr(password), source="--password-stdin"
    )


def registry_ca(path: Path) -> Path:
    if not path.is_file():
        raise InvalidOption(f"--registry-ca {path}: no such file", hint="Pass the registry CA's certificate (PEM).")
    return path.absolute()


def _credentials(
    env: Environment, registry: str, username: str | None, password_stdin: bool
) -> RegistryCredentials | None:
    from containerkit.tools.credentials import resolve_credentials

    explicit = password_from_stdin(env, username, registry) if password_stdin else None
    if username and not password_stdin:
        raise InvalidOption("--username needs --password-stdin", hint="Pipe the password in with --password-stdin.")
    return resolve_credentials(registry, explicit=explicit, environ=env.environ)


def _retry(retries: int | None) -> RetryPolicy:
    policy = current_env().settings.retry
    return policy if retries is None else policy.model_copy(update={"attempts": retries})


def _tries(attempts: list[OperationAttempt]) -> str:
    return f", {len(attempts)} attempts" if len(attempts) > 1 else ""


R = TypeVar("R", bound=BaseModel)


def _transfer(
    operation: Callable[[DockerClient, RegistryCredentials | None, Path | None, Callable[[Any], None]], R],
    *,
    registry: str,
    username: str | None,
    password_stdin: bool,
    ca: Path | None,
) -> R:
    """What pull and push share: the credentials and CA for ``registry``, the engine, the progress bars."""
    from containerkit.cli._render import ProgressRenderer  # rich.progress loads when used
    from containerkit.tools.engine import connect_docker

    env = current_env()
    creds = _credentials(env, registry, username, password_stdin)
    ca_file = registry_ca(ca) if ca is not None else None
    client = connect_docker(env.settings.docker_host)
    with ProgressRenderer(env.err) as render:
        return operation(client, creds, ca_file, lambda ev: render(dict(ev)))


def _report(result: BaseModel, as_json: bool, line: str) -> None:
    env = current_env()
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), indent=2), file=env.stdout)
    else:
        env.out.print(escape(line))


@handle_errors
def pull_cmd(
    ref: str = typer.Argument(..., help="REGISTRY/NAME:TAG or NAME@sha256:... to pull."),
    username: str | None = _USER,
    password_stdin: bool = _PASSWORD_STDIN,
    ca: Path | None = _CA,
    timeout: float | None = _TIMEOUT,
    retries: int | None = _RETRIES,
    as_json: bool = _JSON,
) -> None:
    """Pull an image onto the engine (time limit: 10 min per attempt by default)."""
    from containerkit.tools.images import parse_image_ref
    from containerkit.tools.transfer import pull_image

    env = current_env()
    parsed = parse_image_ref(ref)
    result = _transfer(
        lambda client, creds, ca_file, on_progress: pull_image(
            client,
            parsed,
            credentials=creds,
            ca_file=ca_file,
            timeout_s=timeout or env.settings.timeouts.pull,
            retry=_retry(retries),
            on_progress=on_progress,
        ),
        registry=parsed.registry or "docker.io",
        username=username,
        password_stdin=password_stdin,
        ca=ca,
    )
    _report(
        result,
        as_json,
        f"pulled {result.ref} as {result.image_id} in {result.duration_s:.1f}s{_tries(result.attempts)}",
    )


@handle_errors
def tag_cmd(
    source: str = typer.Argument(..., help="A local image (name:tag or id)."),
    target: str = typer.Argument(..., help="The new name, e.g. 127.0.0.1:5000/shop/api:1.0."),
    timeout: float | None = _TIMEOUT,
    as_json: bool = _JSON,
) -> None:
    """Give a local image another name (time limit: 2 min by default)."""
    from containerkit.tools.engine import connect_docker
    from containerkit.tools.images import parse_image_ref
    from containerkit.tools.transfer import tag_image

    env = current_env()
    ref = str(parse_image_ref(target))
    result = tag_image(
        connect_docker(env.settings.docker_host), source, ref, timeout_s=timeout or env.settings.timeouts.tag
    )
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), indent=2), file=env.stdout)
        return
    env.out.print(escape(f"tagged {source} as {ref}"))


@handle_errors
def push_cmd(
    source: str = typer.Argument(..., help="A local image: REGISTRY/NAME:TAG, or any name or id with TARGET."),
    target: str | None = typer.Argument(None, help="Push SOURCE as this REGISTRY/NAME:TAG (tagged first)."),
    username: str | None = _USER,
    password_stdin: bool = _PASSWORD_STDIN,
    ca: Path | None = _CA,
    timeout: float | None = _TIMEOUT,
    retries: int | None = _RETRIES,
    as_json: bool = _JSON,
) -> None:
    """Push an image to a registry and check the digest it serves (time limit: 15 min per attempt by default)."""
    from containerkit.tools.images import parse_image_ref
    from containerkit.tools.transfer import push_image

    env = current_env()
    ref = parse_image_ref(target or source)
    if ref.registry is None:
        raise InvalidOption(
            f"{target or source} names no registry",
            hint="Name the registry in the reference: containerkit push IMAGE HOST:PORT/NAME:TAG.",
        )
    result = _transfer(
        lambda client, creds, ca_file, on_progress: push_image(
            client,
            source,
            ref,
            credentials=creds,
            ca_file=ca_file,
            timeout_s=timeout or env.settings.timeouts.push,
            retry=_retry(retries),
            on_progress=on_progress,
        ),
        registry=ref.registry,
        username=username,
        password_stdin=password_stdin,
        ca=ca,
    )
    checked = " (the registry serves this digest)" if result.verified else ""
    _report(
        result,
        as_json,
        f"pushed {result.ref}@{result.digest}{checked} in {result.duration_s:.1f}s{_tries(result.attempts)}",
    )


def register(app: typer.Typer) -> None:
    app.command("pull")(pull_cmd)
    app.command("tag")(tag_cmd)
    app.command("push")(push_cmd)
