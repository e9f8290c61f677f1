"""Dockerfile linting for the BuildSec agent: a parser, 60+ rules (hadolint ids where they match),
inline/global ignores, auto-fix, and an optional merge with the hadolint binary.

Names are imported on first use (PEP 562): ``containerkit lint`` loads the engine, not the fixer or
the SARIF writer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from containerkit._lazy import lazy_attributes

if TYPE_CHECKING:
    from containerkit.tools.lint.engine import lint_dockerfile, lint_parsed, read_dockerfile
    from containerkit.tools.lint.errors import FixBrokeDockerfile, UnknownSeverity
    from containerkit.tools.lint.fix import FIXABLE_RULES, fix_dockerfile_text, unified_diff
    from containerkit.tools.lint.models import (
        Finding,
        Heredoc,
        Instruction,
        LintConfig,
        LintReport,
        ParsedDockerfile,
        Severity,
        Stage,
    )
    from containerkit.tools.lint.parser import parse_dockerfile
    from containerkit.tools.lint.report import report_to_json, report_to_sarif
    from containerkit.tools.lint.rules import RULES, RULES_BY_ID, Rule

__all__ = [
    "FIXABLE_RULES",
    "RULES",
    "RULES_BY_ID",
    "Finding",
    "FixBrokeDockerfile",
    "Heredoc",
    "Instruction",
    "LintConfig",
    "LintReport",
    "ParsedDockerfile",
    "Rule",
    "Severity",
    "Stage",
    "UnknownSeverity",
    "fix_dockerfile_text",
    "lint_dockerfile",
    "lint_parsed",
    "parse_dockerfile",
    "read_dockerfile",
    "report_to_json",
    "report_to_sarif",
    "unified_diff",
]

_HOME = {
    "lint_dockerfile": "engine",
    "lint_parsed": "engine",
    "read_dockerfile": "engine",
    "FixBrokeDockerfile": "errors",
    "UnknownSeverity": "errors",
    "FIXABLE_RULES": "fix",
    "fix_dockerfile_text": "fix",
    "unified_diff": "fix",
    "Finding": "models",
    "Heredoc": "models",
    "Instruction": "models",
    "LintConfig": "models",
    "LintReport": "models",
    "ParsedDockerfile": "models",
    "Severity": "models",
    "Stage": "models",
    "parse_dockerfile": "parser",
    "report_to_json": "report",
    "report_to_sarif": "report",
    "RULES": "rules",
    "RULES_BY_ID": "rules",
    "Rule": "rules",
}


__getattr__ = lazy_attributes(__name__, _HOME)
