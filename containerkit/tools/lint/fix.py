"""Auto-fix: rewrite the fixable findings in place, leaving every other byte of the file as it was."""

from __future__ import annotations

import difflib
from collections import defaultdict

from containerkit.errors import InvalidDockerfile
from containerkit.tools.lint._context import Ctx
from containerkit.tools.lint._fixes import FIXERS
from containerkit.tools.lint.engine import lint_parsed
from containerkit.tools.lint.errors import FixBrokeDockerfile
from containerkit.tools.lint.models import Finding, LintConfig, ParsedDockerfile
from containerkit.tools.lint.parser import parse_dockerfile

__all__ = ["FIXABLE_RULES", "fix_dockerfile_text", "unified_diff"]

FIXABLE_RULES: frozenset[str] = frozenset(code for code, _ in FIXERS)
_MAX_ROUNDS = 4


def _apply(text: str, parsed: ParsedDockerfile, findings: list[Finding], config: LintConfig) -> str:
    wanted: dict[int, set[str]] = defaultdict(set)
    for f in findings:
        if f.rule in FIXABLE_RULES:
            wanted[f.line].add(f.rule)
    if not wanted:
        return text
    ctx = Ctx(parsed, config)
    lines = text.split("\n")
    for ins in reversed(parsed.instructions):
        codes = wanted.get(ins.line)
        if not codes:
            continue
        span = "\n".join(lines[ins.line - 1 : ins.end_line])
        for code, fixer in FIXERS:
            if code in codes:
                span = fixer(span, ins, ctx)
        lines[ins.line - 1 : ins.end_line] = span.split("\n")
    return "\n".join(lines)


def fix_dockerfile_text(text: str, findings: list[Finding] | None = None, config: LintConfig | None = None) -> str:
    """Return ``text`` with fixable findings rewritten.

    With ``findings`` given, exactly those are fixed; without, the file is linted and fixed until no
    fixable finding is left (one fix, such as apt -> apt-get, can reveal another).
    """
    config = config or LintConfig(use_hadolint=False)
    rounds = 1 if findings is not None else _MAX_ROUNDS
    for _ in range(rounds):
        parsed = parse_dockerfile(text)
        current = findings if findings is not None else lint_parsed(parsed, config)
        new = _apply(text, parsed, current, config)
        if new == text:
            break
        text = new
    try:
        parse_dockerfile(text)
    except InvalidDockerfile as exc:  # pragma: no cover - a fixer bug; keep the user's file
        raise FixBrokeDockerfile(f"the fixed Dockerfile no longer parses: {exc.message}") from None
    return text


def unified_diff(before: str, after: str, name: str = "Dockerfile") -> str:
    """The change ``--fix`` makes, for ``--diff`` and for agents to record."""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{name}", f"b/{name}"
        )
    )
