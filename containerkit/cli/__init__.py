"""The command line: a thin face over tools and the graph. Parse input, render output, map errors.

The typer application lives in ``_app`` (sub-command modules ``cmd_*.py`` are discovered there and
each ``register(app)`` is called, so a capability adds its commands without editing it). This module
stays light: ``containerkit --help`` is answered from a table (``_fast``) without loading typer, and
every name below is imported on first use.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from containerkit.cli._app import Environment, app, current_env, handle_errors

__all__ = ["Environment", "app", "current_env", "handle_errors", "main"]

_LAZY = frozenset({"_ENV", "Environment", "app", "current_env", "handle_errors", "report_error"})


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from containerkit.cli import _app

    return getattr(_app, name)


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    from containerkit.cli._fast import print_help, wants_top_help

    if wants_top_help(args):
        print_help(sys.stdout)
        return
    if args[:1] == ["run"]:  # a warm server (`containerkit warm`) runs it without this start-up
        from containerkit.cli._warm import try_warm

        code = try_warm(args)
        if code is not None:
            sys.exit(code)
    # this process needs no pydantic plugin: skip scanning every installed package's entry points
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if args[:1] == ["analyze"]:
        from containerkit.cli._analysis_out import try_fast_analyze

        if try_fast_analyze(args):
            return
    if args[:1] == ["lint"]:
        from containerkit.cli._lint_out import try_fast_lint

        if try_fast_lint(args):
            return
    from containerkit.cli._app import run

    run(args)
