"""CycloneDX 1.5 of a scan: the image's SBOM with a ``vulnerabilities`` section (VEX-style) attached.

The SBOM package owns the component mapping; its JSON is read back into a cyclonedx-python-lib
``Bom`` so each vulnerability can name the components it affects by their ``bom-ref``.
"""

from __future__ import annotations

import json
from decimal import Decimal

from cyclonedx.model import Property, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.vulnerability import (
    BomTarget,
    Vulnerability,
    VulnerabilityRating,
    VulnerabilityReference,
    VulnerabilityScoreSource,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot5

from containerkit.tools.sbom import Sbom, sbom_to_cyclonedx
from containerkit.tools.scan.models import ScanReport
from containerkit.tools.vulns import Finding

__all__ = ["report_to_cyclonedx"]

_SEVERITY = {
    "CRITICAL": VulnerabilitySeverity.CRITICAL,
    "HIGH": VulnerabilitySeverity.HIGH,
    "MEDIUM": VulnerabilitySeverity.MEDIUM,
    "LOW": VulnerabilitySeverity.LOW,
    "UNKNOWN": VulnerabilitySeverity.UNKNOWN,
}


def _source(advisory_id: str) -> VulnerabilitySource:
    if advisory_id.startswith("CVE-"):
        return VulnerabilitySource(name="NVD", url=XsUri(f"https://nvd.nist.gov/vuln/detail/{advisory_id}"))
    if advisory_id.startswith("GHSA-"):
        return VulnerabilitySource(name="GitHub", url=XsUri(f"https://github.com/advisories/{advisory_id}"))
    return VulnerabilitySource(name="OSV", url=XsUri(f"https://osv.dev/vulnerability/{advisory_id}"))


def _method(vector: str) -> VulnerabilityScoreSource:
    if vector.startswith("CVSS:3.1"):
        return VulnerabilityScoreSource.CVSS_V3_1
    if vector.startswith("CVSS:3"):
        return VulnerabilityScoreSource.CVSS_V3
    if vector.startswith("CVSS:4"):
        return VulnerabilityScoreSource.CVSS_V4
    if vector:
        return VulnerabilityScoreSource.CVSS_V2
    return VulnerabilityScoreSource.OTHER


def _vulnerability(
    advisory_id: str, findings: list[Finding], refs_by_purl: dict[str, list[str]], root: str
) -> Vulnerability:
    first = findings[0]
    aliases = sorted({a for f in findings for a in f.aliases} - {advisory_id})
    targets = sorted({ref for f in findings for ref in refs_by_purl.get(f.purl, [])}) or [root]
    rating = VulnerabilityRating(
        source=_source(advisory_id),
        severity=_SEVERITY.get(first.severity, VulnerabilitySeverity.UNKNOWN),
        score=Decimal(str(first.cvss_score)) if first.cvss_score is not None else None,
        method=_method(first.cvss_vector) if first.cvss_score is not None else None,
        vector=first.cvss_vector or None,
    )
    fixes = sorted({f"{f.package} {f.fixed_version}" for f in findings if f.fixed_version})
    return Vulnerability(
        bom_ref=f"vuln:{advisory_id}",
        id=advisory_id,
        source=_source(advisory_id),
        references=[VulnerabilityReference(id=a, source=_source(a)) for a in aliases],
        ratings=[rating],
        description=first.summary or None,
        recommendation=f"Upgrade to {', '.join(fixes)}" if fixes else None,
        affects=[BomTarget(ref=ref) for ref in targets],
        properties=[
            Property(name="containerkit:scanners", value=",".join(sorted({s for f in findings for s in f.scanners}))),
            *(
                Property(name="containerkit:layer:diff_id", value=d)
                for d in sorted({f.layer_diff_id for f in findings if f.layer_diff_id})
            ),
        ],
    )


def report_to_cyclonedx(report: ScanReport) -> str:
    """CycloneDX 1.5 JSON; an image scanned without an SBOM part still gets its image component."""
    sbom = report.sbom or Sbom(image_ref=report.image, image_id=report.image_id)
    bom = Bom.from_json(json.loads(sbom_to_cyclonedx(sbom)))  # type: ignore[attr-defined]
    refs_by_purl: dict[str, list[str]] = {}
    for comp in bom.components:
        if comp.purl is not None and comp.bom_ref.value:
            refs_by_purl.setdefault(comp.purl.to_string(), []).append(comp.bom_ref.value)
    root = bom.metadata.component.bom_ref.value if bom.metadata.component is not None else None
    grouped: dict[str, list[Finding]] = {}
    for f in report.vulnerabilities.findings if report.vulnerabilities is not None else []:
        grouped.setdefault(f.id, []).append(f)
    for advisory_id, findings in grouped.items():
        bom.vulnerabilities.add(_vulnerability(advisory_id, findings, refs_by_purl, root or "image"))
    return str(JsonV1Dot5(bom).output_as_string(indent=2))
