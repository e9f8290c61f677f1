"""``containerkit sessions doctor``: check the session store and repair what can be repaired."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from containerkit.cli import current_env, handle_errors
from containerkit.cli.cmd_workflow import sessions_app

__all__ = ["register", "sessions_doctor"]


@handle_errors
def sessions_doctor(
    check_only: bool = typer.Option(False, "--check", help="Only check; move nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check sessions.sqlite; a corrupt or foreign one is moved aside (sessions.sqlite.corrupt-TIME)."""
    from containerkit.graph.sessions import doctor

    env = current_env()
    report = doctor(env.settings.sessions_db, repair=not check_only)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2), file=env.stdout)
    else:
        env.out.print(f"session store: {escape(report.path)}")
        for line in report.checks:
            env.out.print(f"  check: {escape(line)}")
        for line in report.actions:
            env.out.print(f"  [green]done:[/] {escape(line)}")
        for line in report.unreadable:
            env.out.print(f"  [yellow]unreadable session[/] {escape(line)}")
        env.out.print("[green]ok[/]" if report.ok else "[red]the store is not usable yet[/] (see above)")
    if not report.ok:
        raise typer.Exit(1)


sessions_app.command("doctor")(sessions_doctor)


def register(app: typer.Typer) -> None:
    """``doctor`` joins the ``sessions`` group that cmd_workflow registers."""
