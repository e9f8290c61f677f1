"""`containerkit db import|update|info`: the local OSV advisory database that `scan` matches against."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from containerkit.cli import current_env, handle_errors

__all__ = ["db_path", "register"]

db_app = typer.Typer(help="Manage the local vulnerability database (OSV advisories).", no_args_is_help=True)


def db_path() -> Path:
    """``$CONTAINERKIT_VULNDB`` or ``$CONTAINERKIT_HOME/vulndb.sqlite``."""
    return current_env().settings.vuln_db


@db_app.command("import")
@handle_errors
def import_cmd(
    path: Path = typer.Argument(..., help="An OSV JSON file, an OSV ecosystem zip export, or a folder of them."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Import OSV advisories; an invalid record aborts the whole import and names its file."""
    from containerkit.tools.vulns import VulnDB

    db = VulnDB(db_path())
    result = db.import_path(path)
    if as_json:
        print(json.dumps({"status": "ok", "db": str(db.path), **result.model_dump()}), file=current_env().stdout)
        return
    current_env().out.print(
        f"imported {result.records} advisories from {result.sources} file(s) into {db.path} in {result.duration_s:.2f}s"
    )


@db_app.command("update")
@handle_errors
def update_cmd(
    ecosystem: list[str] = typer.Option(
        None,
        "--ecosystem",
        "-e",
        help="OSV ecosystem to download (repeatable); default: PyPI, npm, Go, Maven, crates.io, RubyGems, Packagist, Debian, Alpine.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Download OSV's per-ecosystem exports and import them (needs access to the OSV export bucket)."""
    from containerkit.tools.vulns import ECOSYSTEMS, VulnDB
    from containerkit.tools.vulns.db import OSV_EXPORT_URL

    db = VulnDB(db_path())
    base_url = current_env().environ.get("CONTAINERKIT_OSV_URL") or OSV_EXPORT_URL
    result = db.update(ecosystem or ECOSYSTEMS, base_url=base_url)
    if as_json:
        print(json.dumps({"status": "ok", "db": str(db.path), **result.model_dump()}), file=current_env().stdout)
        return
    current_env().out.print(f"updated {db.path}: {result.records} advisories in {result.duration_s:.1f}s")


@db_app.command("info")
@handle_errors
def info_cmd(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Where the database is, how many advisories per ecosystem, and when it was last filled."""
    from rich.table import Table

    from containerkit.tools.vulns import VulnDB

    info = VulnDB(db_path()).info()
    if as_json:
        print(info.model_dump_json(), file=current_env().stdout)
        return
    out = current_env().out
    out.print(f"database: {info.path}\nadvisories: {info.advisories}")
    out.print(f"last import: {info.last_import or '-'}   last update: {info.last_update or '-'}")
    table = Table("ecosystem", "advisories")
    for eco, n in info.ecosystems.items():
        table.add_row(eco, str(n))
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
