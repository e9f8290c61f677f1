"""``containerkit lint DOCKERFILE``: lint (and optionally fix) a Dockerfile; table, JSON or SARIF."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from containerkit.cli import current_env, handle_errors
from containerkit.errors import InvalidOption
from containerkit.tools.fsio import check_writable_target, is_dir, read_bytes, write_bytes, write_text

if TYPE_CHECKING:  # the linter (pydantic models, rule tables) loads when `lint` runs, not with every command
    from containerkit.tools.lint import LintReport, Severity

__all__ = ["lint", "register"]

_FORMATS = ("table", "json", "sarif")
_BOM = b"\xef\xbb\xbf"


def _threshold(fail_on: str) -> Severity | None:
    from containerkit.tools.lint import Severity, UnknownSeverity

    if fail_on.lower() == "none":
        return None
    try:
        return Severity(fail_on.lower())
    except ValueError:
        raise UnknownSeverity(f"unknown --fail-on level: {fail_on!r}") from None


def lint(
    dockerfile: Path = typer.Argument(..., help="The Dockerfile (or a folder holding one)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json | sarif"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report here instead of stdout."),
    fail_on: str = typer.Option(
        "error", "--fail-on", help="Exit 1 on findings at or above: error|warning|info|style|none."
    ),
    fix: bool = typer.Option(False, "--fix", help="Rewrite fixable findings in the file."),
    diff: bool = typer.Option(False, "--diff", help="Print the fix as a unified diff (writes nothing without --fix)."),
    ignore: list[str] = typer.Option([], "--ignore", help="Rule id to skip (repeatable), e.g. DL3008."),
    trusted_registry: list[str] = typer.Option([], "--trusted-registry", help="Registry FROM may use (DL3026)."),
    no_hadolint: bool = typer.Option(False, "--no-hadolint", help="Do not merge the hadolint binary's findings."),
) -> None:
    """Lint a Dockerfile with hadolint-compatible rules (DLxxxx) and containerkit's own (CKxxxx)."""
    from containerkit.cli._lint_out import counts_line, findings_text
    from containerkit.tools.lint import LintConfig, lint_dockerfile, read_dockerfile
    from containerkit.tools.lint.engine import MAX_DOCKERFILE_BYTES
    from containerkit.tools.lint.fix import fix_dockerfile_text, unified_diff
    from containerkit.tools.lint.report import report_to_json

    env = current_env()
    if fmt not in _FORMATS:
        raise InvalidOption(f"unknown --format {fmt!r}; use one of {', '.join(_FORMATS)}")
    threshold = _threshold(fail_on)
    config = LintConfig(
        ignored=frozenset(code.strip().upper() for item in ignore for code in item.split(",") if code.strip()),
        trusted_registries=frozenset(trusted_registry),
        use_hadolint=not no_hadolint,
    )
    path = dockerfile / "Dockerfile" if is_dir(dockerfile) else dockerfile
    text = read_dockerfile(path)
    if output is not None:  # checked before anything is written, so a refused --output changes nothing
        check_writable_target(output, inputs=[path])
    if fix or diff:
        text_had_bom = fix and read_bytes(path, max_bytes=MAX_DOCKERFILE_BYTES).startswith(_BOM)
        fixed = fix_dockerfile_text(text, config=LintConfig(ignored=config.ignored, use_hadolint=False))
        if diff and fixed != text:
            print(
                unified_diff(text, fixed, path.name),
                file=env.stderr if output is None and fmt != "table" else env.stdout,
                end="",
            )
        if fix and fixed != text:
            bom = _BOM if text_had_bom else b""
            write_bytes(path, bom + fixed.encode("utf-8"))
            env.err.print(f"fixed {path}")
            text = fixed
    report = lint_dockerfile(text, config).model_copy(update={"path": str(dockerfile)})
    for note in report.notes:
        env.err.print(f"[yellow]note:[/] {note}")
    if fmt == "table":
        if output is None:
            print(findings_text(report), file=env.stdout, end="")
        else:
            write_text(output, findings_text(report), inputs=[path])
    else:
        body = report_to_json(report) if fmt == "json" else _sarif_text(report, str(dockerfile))
        if output is None:
            print(body, file=env.stdout)
        else:
            write_text(output, body + "\n", inputs=[path])
    print(counts_line(report), file=env.stderr)
    if threshold is not None and report.at_or_above(threshold):
        raise typer.Exit(1)


def _sarif_text(report: LintReport, uri: str) -> str:
    import json

    from containerkit.tools.lint.report import report_to_sarif

    return json.dumps(report_to_sarif(report, uri=uri), indent=2)


def register(app: typer.Typer) -> None:
    app.command("lint")(handle_errors(lint))
