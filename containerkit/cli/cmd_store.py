"""The session store's housekeeping: ``sessions doctor | delete | prune | export | stats``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from containerkit.cli import current_env, handle_errors
from containerkit.cli.cmd_workflow import session_filter, sessions_app

__all__ = ["register", "sessions_delete", "sessions_doctor", "sessions_export", "sessions_prune", "sessions_stats"]


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


@handle_errors
def sessions_delete(
    session_ids: list[str] = typer.Argument(..., help="Session ids (or unique prefixes)."),
    as_json: bool = typer.Option(False, "--json", help="Print the deleted ids as JSON."),
) -> None:
    """Delete sessions and their folders (a running one is refused; a wrong id deletes nothing)."""
    from containerkit.graph.admin import delete_sessions

    env = current_env()
    deleted = delete_sessions(env.settings, session_ids)
    if as_json:
        print(json.dumps({"deleted": deleted}), file=env.stdout)
        return
    for sid in deleted:
        env.out.print(f"deleted {sid}")


@handle_errors
def sessions_prune(
    older_than: str | None = typer.Option(
        None, "--older-than", help="Delete sessions last updated before this age: 30d, 12h... (default: the TTL)."
    ),
    status: list[str] = typer.Option([], "--status", help="Only these statuses (repeatable or comma-separated)."),
    label: list[str] = typer.Option([], "--label", "-l", help="Only sessions with this KEY=VALUE label."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be deleted; delete nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Delete old sessions: older than --older-than, else the TTL (sessions.ttl in config.toml, default 30d)."""
    from containerkit.graph.admin import prune_sessions
    from containerkit.settings import parse_duration

    env = current_env()
    where = session_filter(status, label, None, None)
    ttl = parse_duration(older_than, what="--older-than") if older_than else None
    result = prune_sessions(env.settings, older_than_s=ttl, where=where, dry_run=dry_run)
    if as_json:
        print(json.dumps(result.to_dict()), file=env.stdout)
        return
    verb = "would delete" if dry_run else "deleted"
    for sid in result.deleted:
        env.out.print(f"{verb} {sid}")
    for sid in result.kept_running:
        env.out.print(f"kept {sid}: running now")
    env.err.print(f"{verb} {len(result.deleted)} session(s) older than {_age(result.older_than_s)}")


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


@handle_errors
def sessions_export(
    session_id: str = typer.Argument(..., help="Session id (or a unique prefix)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="The .tar.gz to write (default: containerkit-session-ID.tar.gz here)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print what was bundled as JSON."),
) -> None:
    """One .tar.gz with the session's state, reports, Dockerfile and manifests; credentials redacted."""
    from containerkit.graph.admin import export_session

    env = current_env()
    result = export_session(env.settings, session_id, output)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2), file=env.stdout)
        return
    env.out.print(f"wrote {escape(result.path)}: {len(result.files)} file(s), {result.redacted} credential(s) redacted")
    for line in result.skipped:
        env.err.print(f"[yellow]not bundled:[/] {escape(line)}")


@handle_errors
def sessions_stats(
    status: list[str] = typer.Option([], "--status", help="Only these statuses."),
    label: list[str] = typer.Option([], "--label", "-l", help="Only sessions with this KEY=VALUE label."),
    newer_than: str | None = typer.Option(None, "--newer-than", help="Only sessions updated within: 7d, 24h..."),
    as_json: bool = typer.Option(False, "--json", help="Print the statistics as JSON."),
) -> None:
    """Runs by status, top error codes and recovery categories, median time per stage."""
    from containerkit.graph.admin import session_stats
    from containerkit.graph.sessions import SessionStore

    env = current_env()
    where = session_filter(status, label, None, newer_than)
    sessions = []
    if env.settings.sessions_db.exists():
        with SessionStore(env.settings.sessions_db) as store:
            sessions = list(store.sessions(where))
    stats = session_stats(sessions)
    if as_json:
        print(json.dumps(stats.to_dict(), indent=2), file=env.stdout)
        return
    env.out.print(f"{stats.runs} run(s): " + (", ".join(f"{n} {s}" for s, n in stats.by_status.items()) or "none"))
    if stats.stage_median_s:
        table = Table("stage", "runs", "median")
        for stage, median in stats.stage_median_s.items():
            table.add_row(stage, str(stats.stage_runs[stage]), f"{median:.1f}s")
        env.out.print(table)
    if stats.top_errors:
        env.out.print("top errors: " + ", ".join(f"{c} x{n}" for c, n in stats.top_errors))
    if stats.top_recovery:
        env.out.print("top recovery categories: " + ", ".join(f"{c} x{n}" for c, n in stats.top_recovery))


sessions_app.command("delete")(sessions_delete)
sessions_app.command("prune")(sessions_prune)
sessions_app.command("export")(sessions_export)
sessions_app.command("stats")(sessions_stats)


def register(app: typer.Typer) -> None:
    """``doctor`` joins the ``sessions`` group that cmd_workflow registers."""
