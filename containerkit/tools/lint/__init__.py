"""Dockerfile linting for the BuildSec agent: a parser, 60+ rules (hadolint ids where they match),
inline/global ignores, auto-fix, and an optional merge with the hadolint binary."""

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
