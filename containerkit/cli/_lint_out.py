"""`containerkit lint` output, and its fast path: ``lint DOCKERFILE`` runs without typer and rich.

Linting is what an editor hook or an agent runs on every save; its answer should not wait for the
CLI framework. The common forms (``lint PATH [--format table|json|sarif] [--fail-on LEVEL]
[--no-hadolint]``) are served here; anything else (``--fix``, ``--output``, ``--help``, an error to
report) goes to the typer command, which prints findings with the same :func:`findings_text`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from containerkit.tools.lint import LintReport

__all__ = ["counts_line", "findings_text", "try_fast_lint"]

_FORMATS = ("table", "json", "sarif")
_LEVELS = ("error", "warning", "info", "style", "none")


def findings_text(report: LintReport) -> str:
    """One line per finding (``PATH:LINE RULE severity: message [source]``), its hint indented below;
    every field one printable line, whatever the Dockerfile holds. Compilers and hadolint read alike."""
    from containerkit.tools.escape import single_line

    name = single_line(report.path or "Dockerfile", limit=300)
    if not report.findings:
        return f"{name}: no findings\n"
    lines = []
    for f in report.findings:
        fix = ", fixable with --fix" if f.fixable else ""
        lines.append(
            f"{name}:{f.line} {f.rule} {f.severity.value}: {single_line(f.message, limit=400)} [{f.source}{fix}]"
        )
        if f.hint:
            lines.append(f"    hint: {single_line(f.hint, limit=400)}")
    return "\n".join(lines) + "\n"


def counts_line(report: LintReport) -> str:
    return ", ".join(f"{n} {sev}" for sev, n in report.counts().items())


def _parse(args: list[str]) -> tuple[str, str, str, bool] | None:
    """(path, format, fail_on, hadolint) for the forms served here; None: the typer command's."""
    path: str | None = None
    fmt, fail_on, hadolint = "table", "error", True
    rest = iter(args[1:])
    for arg in rest:
        if arg == "--no-hadolint":
            hadolint = False
        elif arg in ("-f", "--format", "--fail-on"):
            value = next(rest, None)
            if value is None:
                return None
            if arg == "--fail-on":
                fail_on = value.lower()
            else:
                fmt = value
        elif arg.startswith("-") or path is not None:
            return None
        else:
            path = arg
    if path is None or fmt not in _FORMATS or fail_on not in _LEVELS:
        return None
    return path, fmt, fail_on, hadolint


def try_fast_lint(args: list[str]) -> bool:
    """Serve the common ``lint`` forms directly (exit 1 at ``--fail-on``); False leaves them to typer."""
    if args[:1] != ["lint"]:
        return False
    parsed = _parse(args)
    if parsed is None:
        return False
    path_arg, fmt, fail_on, hadolint = parsed
    from containerkit.errors import ContainerKitError
    from containerkit.tools.fsio import is_dir
    from containerkit.tools.lint import LintConfig, Severity, lint_dockerfile, read_dockerfile

    given = Path(path_arg)
    try:
        text = read_dockerfile(given / "Dockerfile" if is_dir(given) else given)
        report = lint_dockerfile(text, LintConfig(use_hadolint=hadolint)).model_copy(update={"path": path_arg})
    except ContainerKitError:
        return False  # the typer command reports it (code, message, hint) as every command does
    if fmt == "table":
        body = findings_text(report)
    elif fmt == "json":
        from containerkit.tools.lint.report import report_to_json

        body = report_to_json(report) + "\n"
    else:
        from containerkit.tools.lint.report import report_to_sarif

        body = json.dumps(report_to_sarif(report, uri=path_arg), indent=2) + "\n"
    try:
        for note in report.notes:
            print(f"note: {note}", file=sys.stderr)
        sys.stdout.write(body)
        sys.stdout.flush()
        print(counts_line(report), file=sys.stderr)
    except BrokenPipeError:  # `containerkit lint Dockerfile | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if fail_on != "none" and report.at_or_above(Severity(fail_on)):
        sys.exit(1)
    return True
