"""Run every control over the facts, score each framework, derive the mapped requirements."""

from __future__ import annotations

from containerkit.tools.compliance.controls import CONTROLS, MAPPINGS
from containerkit.tools.compliance.facts import BuildFacts
from containerkit.tools.compliance.models import (
    ComplianceReport,
    ControlResult,
    ControlStatus,
    FrameworkScore,
    MappedRequirement,
)

__all__ = ["evaluate_compliance"]


def evaluate_compliance(facts: BuildFacts) -> ComplianceReport:
    """Each control pass/fail/not_applicable/manual with evidence; score = passed / (passed + failed)."""
    results = [
        ControlResult(id=ctl.id, framework=ctl.framework, title=ctl.title, status=o.status, evidence=o.evidence)
        for ctl in CONTROLS
        for o in (ctl.check(facts),)
    ]
    by_id = {r.id: r for r in results}
    frameworks = list(dict.fromkeys(r.framework for r in results))
    return ComplianceReport(
        controls=results,
        scores=[_score(fw, [r for r in results if r.framework == fw]) for fw in frameworks],
        mappings=[
            MappedRequirement(
                framework=m.framework,
                requirement=m.requirement,
                title=m.title,
                controls=list(m.controls),
                status=_combined([by_id[cid].status for cid in m.controls]),
            )
            for m in MAPPINGS
        ],
    )


def _score(framework: str, results: list[ControlResult]) -> FrameworkScore:
    count = {s: sum(1 for r in results if r.status == s) for s in ("pass", "fail", "manual", "not_applicable")}
    applicable = count["pass"] + count["fail"]
    return FrameworkScore(
        framework=framework,
        passed=count["pass"],
        failed=count["fail"],
        manual=count["manual"],
        not_applicable=count["not_applicable"],
        score=round(count["pass"] / applicable, 4) if applicable else None,
    )


def _combined(statuses: list[ControlStatus]) -> ControlStatus:
    """A mapped requirement fails if any control fails; it passes only if none needs review."""
    for status in ("fail", "manual", "pass"):
        if status in statuses:
            return status
    return "not_applicable"
