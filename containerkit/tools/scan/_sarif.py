"""SARIF 2.1.0 of a scan: one run per part, so code-scanning services show which scanner found what.

``ruleId`` is the rule id (DLxxxx, CKPxxx, CIS-4.1, a secret rule) or the advisory id (GHSA, PYSEC,
CVE, DSA, ...). Secrets appear only redacted. Image findings point at the file inside the image.
"""

from __future__ import annotations

from typing import Any

from containerkit.tools.lint.report import report_to_sarif
from containerkit.tools.sarif import SarifLocation, SarifResult, SarifRule, SarifRun, level_for, to_sarif
from containerkit.tools.scan._remediation_render import action_for, sarif_fixes, sarif_help
from containerkit.tools.scan.models import ScanReport, secret_level
from containerkit.tools.scan.remediation import finding_key
from containerkit.tools.scan.remediation_models import RemediationAction
from containerkit.tools.secrets import SecretFinding
from containerkit.tools.vulns import Finding as VulnFinding

__all__ = ["report_to_sarif_log"]

_CVSS_FOR_LEVEL = {"CRITICAL": "9.0", "HIGH": "7.0", "MEDIUM": "5.0", "LOW": "2.0", "UNKNOWN": "0.0"}


def report_to_sarif_log(report: ScanReport) -> dict[str, Any]:
    runs: list[SarifRun] = []
    if report.vulnerabilities is not None:
        runs.append(_vuln_run(report))
    if report.secrets is not None:
        runs.append(_secrets_run(report))
    if report.policy is not None:
        runs.append(_policy_run(report))
    if report.compliance is not None:
        runs.append(_compliance_run(report))
    log = to_sarif(runs)
    if report.lint is not None:
        lint_runs: list[dict[str, Any]] = report_to_sarif(report.lint, uri=report.dockerfile or "Dockerfile")["runs"]
        log["runs"] = [*lint_runs, *log["runs"]]
    return log


def _image_uri(report: ScanReport) -> str:
    return report.image


def _path_uri(path: str) -> str:
    """A path inside the image as a relative URI reference (no leading slash, spaces escaped)."""
    return path.lstrip("/").replace(" ", "%20") or "."


def _fix(report: ScanReport, key: str) -> RemediationAction | None:
    return action_for(report.remediation, key)


def _vuln_rule(f: VulnFinding, action: RemediationAction | None = None) -> SarifRule:
    score = f"{f.cvss_score:.1f}" if f.cvss_score is not None else _CVSS_FOR_LEVEL[f.severity]
    return SarifRule(
        id=f.id,
        short_description=f.summary or f.id,
        help_text=f"{f.id} ({', '.join(f.aliases) or 'no aliases'}); "
        + (f"fixed in {f.fixed_version}" if f.fixed_version else "no fixed version known")
        + sarif_help(action),
        help_uri=f"https://osv.dev/vulnerability/{f.id}",
        level=level_for(f.severity),
        properties={"security-severity": score, "tags": ["security", "vulnerability"], "aliases": f.aliases},
    )


def _vuln_run(report: ScanReport) -> SarifRun:
    assert report.vulnerabilities is not None
    findings = report.vulnerabilities.findings
    results = [
        SarifResult(
            rule_id=f.id,
            message=f"{f.package} {f.version} is affected by {f.id}"
            + (f" ({', '.join(f.cves)})" if f.cves and f.id not in f.cves else "")
            + (f"; fixed in {f.fixed_version}" if f.fixed_version else "; no fix available"),
            level=level_for(f.severity),
            locations=[SarifLocation(uri=_path_uri(f.source_file) if f.source_file else _image_uri(report))],
            properties={
                "severity": f.severity,
                "package": f.package,
                "installedVersion": f.version,
                "fixedVersion": f.fixed_version,
                "purl": f.purl,
                "layerDiffId": f.layer_diff_id,
                "layerCreatedBy": f.layer_created_by[:300],
                "scanners": f.scanners,
                "image": report.image,
            },
            fixes=sarif_fixes(_fix(report, finding_key("vulnerabilities", f.id, f.package))),
        )
        for f in findings
    ]
    return SarifRun(
        tool_name="containerkit-vulnerabilities",
        information_uri="https://osv.dev",
        rules=[_vuln_rule(f, _fix(report, finding_key("vulnerabilities", f.id, f.package))) for f in findings],
        results=results,
    )


def _secret_result(report: ScanReport, s: SecretFinding) -> SarifResult:
    where = "the build context" if s.source == "context" else f"image {report.image}"
    removed = "" if s.in_final_image else " (deleted by a later layer, still in the image)"
    props: dict[str, Any] = {
        "source": s.source,
        "redacted": s.redacted,
        "fingerprint": s.fingerprint,
        "inFinalImage": s.in_final_image,
        "severity": secret_level(s),
    }
    if s.layer is not None:
        props["layerDiffId"] = s.layer.diff_id
        props["layerCreatedBy"] = s.layer.created_by[:300]
    if s.removed_in_layer is not None:
        props["removedInLayerCreatedBy"] = s.removed_in_layer.created_by[:300]
    return SarifResult(
        rule_id=s.rule_id,
        message=f"{s.description} in {where}: {s.redacted}{removed}",
        level="error",
        locations=[SarifLocation(uri=_path_uri(s.path), start_line=s.line or None)],
        properties=props,
        fixes=sarif_fixes(_fix(report, finding_key("secrets", s.rule_id, s.path))),
    )


def _secrets_run(report: ScanReport) -> SarifRun:
    assert report.secrets is not None
    findings = report.secrets.findings
    rules = [
        SarifRule(
            id=s.rule_id,
            short_description=s.description,
            help_text="Remove the credential from the image and its history (a later RUN rm does not), "
            "rotate it, and pass build-time secrets with `RUN --mount=type=secret`.",
            level="error",
            properties={"tags": ["security", "secret"], "security-severity": "9.0"},
        )
        for s in findings
    ]
    return SarifRun(
        tool_name="containerkit-secrets", rules=rules, results=[_secret_result(report, s) for s in findings]
    )


def _policy_run(report: ScanReport) -> SarifRun:
    assert report.policy is not None
    items = [*report.policy.violations, *report.policy.warnings]
    where = report.dockerfile or _image_uri(report)
    rules = [
        SarifRule(
            id=v.rule_id,
            short_description=v.message,
            help_text=f"Rego policy {v.package} ({v.policy_file})"
            + sarif_help(_fix(report, finding_key("policy", v.rule_id))),
            level="error" if v.level == "deny" else "warning",
            properties={"tags": ["security", "policy"]},
        )
        for v in items
    ]
    results = [
        SarifResult(
            rule_id=v.rule_id,
            message=v.message,
            level="error" if v.level == "deny" else "warning",
            locations=[SarifLocation(uri=where)],
            properties={"package": v.package, "policyFile": v.policy_file, "decision": v.level},
            fixes=sarif_fixes(_fix(report, finding_key("policy", v.rule_id))),
        )
        for v in items
    ]
    return SarifRun(tool_name="containerkit-policy", rules=rules, results=results)


def _compliance_run(report: ScanReport) -> SarifRun:
    assert report.compliance is not None
    failed = [c for c in report.compliance.controls if c.status == "fail"]
    where = report.dockerfile or _image_uri(report)
    rules = [
        SarifRule(
            id=c.id,
            short_description=c.title,
            help_text=c.framework + sarif_help(_fix(report, finding_key("compliance", c.id))),
            level="warning",
            name=c.id.replace(".", "_"),
        )
        for c in failed
    ]
    results = [
        SarifResult(
            rule_id=c.id,
            message=f"{c.title}: " + ("; ".join(c.evidence) if c.evidence else "failed"),
            level="warning",
            locations=[SarifLocation(uri=where)],
            properties={"framework": c.framework},
            fixes=sarif_fixes(_fix(report, finding_key("compliance", c.id))),
        )
        for c in failed
    ]
    return SarifRun(tool_name="containerkit-compliance", rules=rules, results=results)
