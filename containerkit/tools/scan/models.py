"""One verdict on one image: the options of a scan, its report, and the severity scale it is judged on.

Each scanner speaks its own scale (hadolint levels, CVSS words, policy deny/warn, control
pass/fail); the report maps them onto one scale so ``--fail-on`` means the same for every part:

============== =========================================== ==========
part           finding                                     severity
============== =========================================== ==========
lint           error / warning / info / style              high / medium / low / info
vulnerability  CRITICAL / HIGH / MEDIUM / LOW              the same
vulnerability  UNKNOWN (no score; most Debian records)     low
secret         in the image (any layer, even deleted;      critical
               config, history)
secret         in the build context only                   high
policy         deny / warn                                 high / low
compliance     failed control                              medium
============== =========================================== ==========

A secret in a layer a later step deleted is still critical: anyone who pulls the image can read it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from containerkit.tools.compliance import ComplianceReport
from containerkit.tools.image_size import LayerSize
from containerkit.tools.lint import LintReport
from containerkit.tools.policy import PolicyResult
from containerkit.tools.sbom import Sbom
from containerkit.tools.scan.options import FAIL_ON_LEVELS, LEVELS, Level, ScanOptions, check_fail_on
from containerkit.tools.scan.remediation_models import RemediationPlan
from containerkit.tools.secrets import SecretFinding, SecretScanReport
from containerkit.tools.vulns import VulnReport

__all__ = [
    "FAIL_ON_LEVELS",
    "LEVELS",
    "Level",
    "Part",
    "ScanFinding",
    "ScanOptions",
    "ScanReport",
    "check_fail_on",
    "secret_level",
]

Part = Literal["lint", "vulnerabilities", "secrets", "policy", "compliance"]

_RANK: dict[str, int] = {lvl: len(LEVELS) - i for i, lvl in enumerate(LEVELS)}
_LINT: dict[str, Level] = {"error": "high", "warning": "medium", "info": "low", "style": "info"}
_VULN: dict[str, Level] = {"CRITICAL": "critical", "HIGH": "high", "MEDIUM": "medium", "LOW": "low", "UNKNOWN": "low"}


def secret_level(finding: SecretFinding) -> Level:
    return "high" if finding.source == "context" else "critical"


_THIRD_PARTY_DIRS = frozenset(
    {"node_modules", "site-packages", "dist-packages", "vendor", "bower_components", ".yarn", "gems", "jspm_packages"}
)
_SYSTEM_PREFIXES = ("usr/share/", "usr/lib/", "usr/local/lib/", "usr/include/", "etc/ssl/", "opt/venv/lib/")


def third_party(path: str) -> bool:
    """A file an installed package brought (its tests, docs, examples), not the user's own code or config."""
    p = path.lstrip("/")
    parts = p.split("/")
    return any(part in _THIRD_PARTY_DIRS for part in parts[:-1]) or p.startswith(_SYSTEM_PREFIXES)


class ScanFinding(BaseModel):
    """One finding of any part on the common scale: what tables, Markdown and summaries list."""

    part: Part
    id: str
    """Rule id (DL3008, CKP001, aws-access-key-id, CIS-4.1) or advisory id (GHSA-..., CVE-...)."""
    severity: Level
    title: str
    location: str = ""
    confidence: Literal["high", "low"] = "high"
    """Low: a finding in a third-party package's files (test fixtures, docs): reported, never gating."""


class ScanReport(BaseModel):
    image: str
    image_id: str
    duration_s: float
    lint: LintReport | None = None
    sbom: Sbom | None = None
    vulnerabilities: VulnReport | None = None
    secrets: SecretScanReport | None = None
    """Image layers, config and history, plus the build context when one was given (``source``)."""
    compliance: ComplianceReport | None = None
    policy: PolicyResult | None = None
    remediation: RemediationPlan | None = None
    """The fix of every finding, grouped into actions (``remediation.py``)."""
    notes: list[str] = Field(default_factory=list)
    """What was skipped or partial, and why: a part not run must never read as a clean part."""
    durations: dict[str, float] = Field(default_factory=dict)
    dockerfile: str | None = None
    size_bytes: int | None = None
    layers: list[LayerSize] = Field(default_factory=list)
    """Layer analysis: every layer holding files, bottom first, its size and the step that made it."""

    def findings(self) -> list[ScanFinding]:
        """Every finding of every part, most severe first."""
        out: list[ScanFinding] = []
        if self.lint is not None:
            where = self.dockerfile or "Dockerfile"
            out += [
                ScanFinding(
                    part="lint",
                    id=f.rule,
                    severity=_LINT[f.severity.value],
                    title=f.message,
                    location=f"{where}:{f.line}",
                )
                for f in self.lint.findings
            ]
        if self.vulnerabilities is not None:
            out += [
                ScanFinding(
                    part="vulnerabilities",
                    id=v.id,
                    severity=_VULN.get(v.severity, "low"),
                    title=f"{v.package} {v.version}" + (f" (fixed in {v.fixed_version})" if v.fixed_version else ""),
                    location=v.source_file or v.purl,
                )
                for v in self.vulnerabilities.findings
            ]
        if self.secrets is not None:
            out += [
                ScanFinding(
                    part="secrets",
                    id=s.rule_id,
                    severity=secret_level(s),
                    title=f"{s.description}: {s.redacted}"
                    + ("" if s.in_final_image else " (deleted by a later layer)"),
                    location=f"{s.path}:{s.line}",
                    confidence="low" if third_party(s.path) else "high",
                )
                for s in self.secrets.findings
            ]
        if self.policy is not None:
            out += [
                ScanFinding(
                    part="policy", id=v.rule_id, severity="high" if v.level == "deny" else "low", title=v.message
                )
                for v in (*self.policy.violations, *self.policy.warnings)
            ]
        if self.compliance is not None:
            out += [
                ScanFinding(
                    part="compliance",
                    id=c.id,
                    severity="medium",
                    title=c.title + (f": {c.evidence[0]}" if c.evidence else ""),
                )
                for c in self.compliance.controls
                if c.status == "fail"
            ]
        out.sort(key=lambda f: -_RANK[f.severity])
        return out

    def counts(self) -> dict[str, int]:
        """Findings per level across all parts; every level present, zeros included."""
        out: dict[str, int] = dict.fromkeys(LEVELS, 0)
        for f in self.findings():
            out[f.severity] += 1
        return out

    def failed(self, fail_on: str) -> bool:
        """True when any finding is at or above ``fail_on`` (``none`` never fails)."""
        level = check_fail_on(fail_on)
        if level == "none":
            return False
        return any(_RANK[f.severity] >= _RANK[level] for f in self.findings() if f.confidence == "high")

    def summary(self, fail_on: str = "high", *, max_findings: int = 20) -> dict[str, Any]:
        """Small JSON-safe dict for the session state (fits ``containerkit.state.ScanSummary``).

        Parts not run are ``None`` (not zero), so later stages can tell "clean" from "not checked".
        """
        findings = self.findings()
        lint = self.lint.counts() if self.lint is not None else None
        scores = {s.framework: s.score for s in self.compliance.scores} if self.compliance is not None else {}
        known = [s for s in scores.values() if s is not None]
        return {
            "image": self.image,
            "image_id": self.image_id,
            "lint_errors": lint["error"] if lint else 0,
            "lint_warnings": lint["warning"] if lint else 0,
            "vulnerabilities": dict(self.vulnerabilities.counts) if self.vulnerabilities is not None else {},
            "secrets": len(self.secrets.findings) if self.secrets is not None else 0,
            "compliance": scores,
            "compliance_score": min(known) if known else None,
            "policy_violations": len(self.policy.violations) if self.policy is not None else 0,
            "checked": {
                "lint": self.lint is not None,
                "sbom": self.sbom is not None,
                "vulnerabilities": self.vulnerabilities is not None,
                "secrets": self.secrets is not None,
                "compliance": self.compliance is not None,
                "policy": self.policy is not None,
            },
            "counts": self.counts(),
            "fail_on": check_fail_on(fail_on),
            "passed": not self.failed(fail_on),
            "findings": [f.model_dump(mode="json") for f in findings[:max_findings]],
            "notes": list(self.notes),
            "duration_s": self.duration_s,
            "remediation": self.remediation.brief() if self.remediation is not None else [],
        }
