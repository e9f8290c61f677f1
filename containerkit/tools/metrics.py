"""Prometheus collectors for BuildSec (issue 4, item 9), on a dedicated registry.

A dedicated ``CollectorRegistry`` (never the process-global one) keeps tests isolated and lets
the later ``serve`` issue expose exactly these series. Record functions take result models, so
agents call ``record_*`` with what the tools returned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest

__all__ = [
    "DURATION_BUCKETS",
    "SEVERITIES",
    "BuildSecMetrics",
    "render",
    "risk_score",
]

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
_DURATION_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
DURATION_BUCKETS: tuple[float, ...] = tuple(float(b) for b in _DURATION_BUCKETS)
_RISK_WEIGHTS = {"CRITICAL": 10.0, "HIGH": 5.0, "MEDIUM": 2.0, "LOW": 0.5}


def risk_score(vulnerabilities: Mapping[str, int], *, secrets: int = 0, policy_violations: int = 0) -> float:
    """0 (nothing found) to 100: weighted findings, saturating.

    Each critical vulnerability weighs 10, high 5, medium 2, low 0.5, a credential 15 and a policy
    violation 5; the score is ``100 * (1 - exp(-weight / 50))``: one critical gives 18, five 63,
    and it never passes 100. Monotone: a finding more never lowers it.
    """
    weight = sum(_RISK_WEIGHTS.get(k.upper(), 0.0) * max(0, n) for k, n in vulnerabilities.items())
    weight += 15.0 * max(0, secrets) + 5.0 * max(0, policy_violations)
    return round(100.0 * (1.0 - math.exp(-weight / 50.0)), 1)


@dataclass
class BuildSecMetrics:
    """All containerkit_ collectors, registered on their own registry."""

    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry(auto_describe=True))

    def __post_init__(self) -> None:
        r = self.registry
        self.scan_duration = Histogram(
            "containerkit_scan_duration_seconds",
            "Duration of a security scan.",
            ["scanner"],
            registry=r,
            buckets=_DURATION_BUCKETS,
        )
        self.build_duration = Histogram(
            "containerkit_build_duration_seconds", "Duration of an image build.", registry=r, buckets=_DURATION_BUCKETS
        )
        self.vulnerabilities = Gauge(
            "containerkit_vulnerabilities",
            "Vulnerabilities found in an image, by severity.",
            ["image", "severity"],
            registry=r,
        )
        self.compliance_score = Gauge(
            "containerkit_compliance_score",
            "Passed / applicable controls (0-1) per framework.",
            ["framework"],
            registry=r,
        )
        self.lint_findings = Gauge(
            "containerkit_lint_findings", "Dockerfile lint findings, by severity.", ["severity"], registry=r
        )
        self.secrets_found = Gauge(
            "containerkit_secrets_found", "Credentials found, by source.", ["source"], registry=r
        )

    def record_scan(self, scanner: str, duration_s: float) -> None:
        self.scan_duration.labels(scanner=scanner).observe(duration_s)

    def record_build(self, duration_s: float) -> None:
        self.build_duration.observe(duration_s)

    def record_vulnerabilities(self, image: str, severities: Iterable[str]) -> None:
        """One severity string per vulnerability; every known severity is set, zeros included."""
        counts = dict.fromkeys(SEVERITIES, 0)
        for s in severities:
            key = s.upper() if s.upper() in counts else "UNKNOWN"
            counts[key] += 1
        for severity, n in counts.items():
            self.vulnerabilities.labels(image=image, severity=severity).set(n)

    def record_compliance(self, scores: Mapping[str, float | None]) -> None:
        """Framework -> score; a framework with nothing applicable (None) is not exported."""
        for framework, score in scores.items():
            if score is not None:
                self.compliance_score.labels(framework=framework).set(score)

    def record_lint(self, counts: Mapping[str, int]) -> None:
        for severity, n in counts.items():
            self.lint_findings.labels(severity=severity).set(n)

    def record_secrets(self, sources: Iterable[str]) -> None:
        counts: dict[str, int] = {}
        for s in sources:
            counts[s] = counts.get(s, 0) + 1
        for source, n in counts.items():
            self.secrets_found.labels(source=source).set(n)


def render(metrics: BuildSecMetrics) -> bytes:
    """The text exposition format of the dedicated registry (what /metrics will serve)."""
    return generate_latest(metrics.registry)
