"""Lint reports in machine formats: JSON and SARIF 2.1.0 (rule ids as ``ruleId``)."""

from __future__ import annotations

import json
from typing import Any

from containerkit.tools.lint.models import Finding, LintReport
from containerkit.tools.lint.rules import RULES_BY_ID
from containerkit.tools.sarif import SarifLocation, SarifResult, SarifRule, SarifRun, level_for, to_sarif

__all__ = ["report_to_json", "report_to_sarif", "rule_help_uri"]

TOOL_NAME = "containerkit-lint"


def rule_help_uri(rule: str) -> str | None:
    """Where a rule is documented: hadolint's wiki for DL, ShellCheck's for SC, none for CK."""
    if rule.startswith("DL"):
        return f"https://github.com/hadolint/hadolint/wiki/{rule}"
    if rule.startswith("SC"):
        return f"https://www.shellcheck.net/wiki/{rule}"
    return None


def _rule_for(f: Finding) -> SarifRule:
    known = RULES_BY_ID.get(f.rule)
    return SarifRule(
        id=f.rule,
        short_description=known.message if known else f.message,
        help_text=known.hint if known else f.hint,
        help_uri=rule_help_uri(f.rule),
        level=level_for((known.severity if known else f.severity).value),
        properties={"fixable": bool(known and known.fixable)},
    )


def report_to_sarif(report: LintReport, *, uri: str | None = None) -> dict[str, Any]:
    """One SARIF run; each finding's rule id is its ``ruleId``, its line the region's ``startLine``."""
    target = uri or report.path or "Dockerfile"
    rules = [_rule_for(f) for f in report.findings]
    results = [
        SarifResult(
            rule_id=f.rule,
            message=f"{f.message} (hint: {f.hint})" if f.hint else f.message,
            level=level_for(f.severity.value),
            locations=[SarifLocation(uri=target, start_line=f.line, start_column=f.column)],
            properties={"source": f.source, "severity": f.severity.value, "fixable": f.fixable},
        )
        for f in report.findings
    ]
    return to_sarif([SarifRun(tool_name=TOOL_NAME, rules=rules, results=results)])


def report_to_json(report: LintReport) -> str:
    data = report.model_dump(mode="json")
    data["counts"] = report.counts()
    return json.dumps(data, indent=2)
