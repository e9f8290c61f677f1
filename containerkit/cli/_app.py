"""The typer application: a thin face over tools and the graph. Parse input, render output, map errors.

Sub-command modules named ``cmd_*.py`` in this package are discovered and each ``register(app)``
is called, so a capability adds its commands without editing this file.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from containerkit.cli._env import Environment
from containerkit.errors import ContainerKitError, InternalError

__all__ = ["Environment", "app", "current_env", "handle_errors", "report_error", "run"]

app = typer.Typer(
    name="containerkit",
    help="Carry a source repository to a running container: analyze, Dockerfile, build, scan, push, deploy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # plain help and usage errors: typer's rich formatter imports markdown-it, rich.markdown and
    # rich.traceback (~0.4 s of a 0.2 s budget for `--help`)
    rich_markup_mode=None,
)
_ENV: list[Environment] = []
F = TypeVar("F", bound=Callable[..., Any])


def current_env() -> Environment:
    """The injected environment (tests, embedding apps), else one made for this invocation."""
    if not _ENV:
        _ENV.append(Environment(managed=True))
    return _ENV[-1]


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for unexpected errors."),
) -> None:
    if _ENV and _ENV[-1].managed:
        _ENV[-1] = Environment(managed=True)  # today's streams and environment, not the first call's
    current_env().debug = debug


def report_error(env: Environment, exc: ContainerKitError, *, as_json: bool = False) -> None:
    from rich.markup import escape

    if as_json:
        print(json.dumps({"status": "failed", "errors": [exc.to_dict()]}), file=env.stdout)
    env.err.print(f"[bold red]error[/] {escape(f'[{exc.code}] {exc.message}')}", markup=True, highlight=False)
    env.err.print(f"[yellow]hint:[/] {escape(exc.hint)}", markup=True, highlight=False)


def handle_errors(func: F) -> F:
    """Map typed errors to a message, a hint and an exit code; never a traceback unless --debug."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        env = current_env()
        as_json = bool(kwargs.get("as_json"))
        try:
            return func(*args, **kwargs)
        except ContainerKitError as exc:
            report_error(env, exc, as_json=as_json)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as exc:  # noqa: BLE001 - the last net: a message, never a traceback
            if env.debug:
                traceback.print_exc(file=env.stderr)
            report_error(env, InternalError(f"unexpected {type(exc).__name__}: {exc}"), as_json=as_json)
            raise typer.Exit(70) from None

    return wrapper  # type: ignore[return-value]


def _discover() -> None:
    package = __name__.rpartition(".")[0]
    folder = os.path.dirname(__file__)
    for info in sorted(pkgutil.iter_modules([folder]), key=lambda i: i.name):
        if info.name.startswith("cmd_"):
            mod = importlib.import_module(f"{package}.{info.name}")
            mod.register(app)


_discover()


def run(args: list[str]) -> None:
    """Parse ``args`` and run the command (``containerkit.cli.main`` is the entry point)."""
    try:
        app(args=args, prog_name="containerkit")
    except BrokenPipeError:  # `containerkit ... | head`: the reader left, nothing is wrong
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except KeyboardInterrupt:
        print("interrupted; the session is saved: `containerkit sessions list`", file=sys.stderr)
        sys.exit(130)
