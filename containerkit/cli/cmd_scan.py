"""``containerkit scan IMAGE``: one verdict on one local image; table, JSON, SARIF, CycloneDX or Markdown."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from containerkit.cli import current_env, handle_errors
from containerkit.cli.cmd_db import db_path
from containerkit.tools.fsio import check_writable_target, write_text

if TYPE_CHECKING:
    from containerkit.tools.progress import ProgressEvent

__all__ = ["register", "scan"]

_FORMATS = ("table", "json", "sarif", "cyclonedx", "markdown")


def scan(
    image: str = typer.Argument(..., help="A local image (name:tag or id); never pulled."),
    dockerfile: Path | None = typer.Option(
        None, "--dockerfile", help="Lint it and judge its facts (base images, USER)."
    ),
    context: Path | None = typer.Option(None, "--context", help="Scan this build context for secrets too."),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json | sarif | cyclonedx | markdown"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report here instead of stdout."),
    fail_on: str = typer.Option(
        "high", "--fail-on", help="Exit 1 on findings at or above: critical|high|medium|low|info|none."
    ),
    policy: list[Path] = typer.Option([], "--policy", help="A Rego file or folder added to the default policy."),
    allowed_registry: list[str] = typer.Option(
        [], "--allowed-registry", help="Registry base images may come from (repeatable)."
    ),
    db: Path | None = typer.Option(
        None, "--db", help="Vulnerability database (default $CONTAINERKIT_HOME/vulndb.sqlite)."
    ),
    no_external: bool = typer.Option(False, "--no-external", help="Do not run trivy/grype even when present."),
) -> None:
    """Lint, SBOM, vulnerabilities, secrets, compliance and policy of an image, as one verdict."""
    from rich.console import Console

    from containerkit.cli._render import ProgressRenderer
    from containerkit.tools.engine import connect_docker
    from containerkit.tools.scan import ScanOptions, UnknownReportFormat, check_fail_on, render_report, scan_image
    from containerkit.tools.scan._remediation_render import count_text
    from containerkit.tools.scan._table import report_tables, verdict_line
    from containerkit.tools.vulns import VulnDB

    env = current_env()
    if fmt not in _FORMATS:
        raise UnknownReportFormat(f"unknown --format {fmt!r}; use one of {', '.join(_FORMATS)}")
    threshold = check_fail_on(fail_on)
    inputs = [p for p in (dockerfile, db) if p is not None]
    if output is not None:  # refused before the scan runs, and again (atomically) when written
        check_writable_target(output, inputs=inputs)
    if db is not None:
        from containerkit.tools.scan.errors import VulnDbUnreadable
        from containerkit.tools.vulns.errors import VulnDbError

        try:
            VulnDB(db).check_ours()
        except VulnDbError as exc:  # a file the user named that is not our database: bad input (exit 2)
            raise VulnDbUnreadable(exc.message, hint=exc.hint) from None
    options = ScanOptions(
        dockerfile=dockerfile,
        context=context,
        vuln_db=db if db is not None else db_path(),
        policies=list(policy),
        trusted_registries=list(allowed_registry),
        external_scanners=not no_external,
        cache_dir=env.settings.cache_dir,
    )
    client = connect_docker(env.settings.docker_host)
    with ProgressRenderer(env.err) as progress:

        def sink(ev: ProgressEvent) -> None:
            progress(dict(ev))

        report = scan_image(image, options, docker_client=client, on_progress=sink)
    if fmt == "table":
        if output is None:
            env.out.print(report_tables(report, threshold))
        else:
            buf = io.StringIO()
            Console(file=buf, soft_wrap=True, highlight=False, width=200, no_color=True).print(
                report_tables(report, threshold)
            )
            write_text(output, buf.getvalue(), inputs=inputs)
    else:
        body = render_report(report, fmt, fail_on=threshold)
        if output is None:
            print(body, file=env.stdout)
        else:
            write_text(output, body if body.endswith("\n") else body + "\n", inputs=inputs)
    if fmt != "table" or output is not None:
        env.err.print(verdict_line(report, threshold))
        plan = report.remediation
        if plan is not None and (plan.actions or plan.unresolved):
            first = f"; first: {escape(plan.actions[0].title)}" if plan.actions else ""
            env.err.print(
                f"remediation: {count_text(len(plan.actions), 'action')}, "
                f"{count_text(len(plan.unresolved), 'finding')} without a fix{first}"
            )
        for note in report.notes:
            env.err.print(f"[yellow]note:[/] {escape(note)}")
    if report.failed(threshold):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("scan")(handle_errors(scan))
