"""Match an SBOM against the local OSV database: findings with ids, CVEs, severity, fix and layer."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from containerkit.tools.sbom.models import Component, Sbom
from containerkit.tools.vulns._severity import SEVERITIES, Severity, severity_of
from containerkit.tools.vulns._versions import BadVersion, affected_fix
from containerkit.tools.vulns.db import VulnDB
from containerkit.tools.vulns.osv import OsvAffected, OsvRecord

__all__ = ["Finding", "ScannerStatus", "Severity", "VulnReport", "ecosystem_of", "match"]

_ECOSYSTEMS = {
    "pypi": "PyPI",
    "npm": "npm",
    "golang": "Go",
    "maven": "Maven",
    "cargo": "crates.io",
    "gem": "RubyGems",
    "composer": "Packagist",
}


class Finding(BaseModel):
    """One advisory affecting one installed package. ``scanners`` says who reported it."""

    id: str
    aliases: list[str] = Field(default_factory=list)
    summary: str = ""
    severity: Severity = "UNKNOWN"
    cvss_score: float | None = None
    cvss_vector: str = ""
    package: str
    version: str
    purl: str = ""
    ecosystem: str = ""
    fixed_version: str = ""
    layer_index: int = -1
    layer_diff_id: str = ""
    layer_created_by: str = ""
    source_file: str = ""
    scanners: list[str] = Field(default_factory=lambda: ["containerkit"])

    @property
    def ids(self) -> set[str]:
        return {self.id, *self.aliases}

    @property
    def cves(self) -> list[str]:
        return sorted(i for i in self.ids if i.startswith("CVE-"))


class ScannerStatus(BaseModel):
    ran: bool
    reason: str = ""
    findings: int = 0
    duration_s: float = 0.0


class VulnReport(BaseModel):
    image_ref: str = ""
    image_id: str = ""
    findings: list[Finding] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)
    components_scanned: int = 0
    components_unsupported: int = 0
    scanners: dict[str, ScannerStatus] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)

    def recount(self) -> None:
        self.counts = {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES}


def ecosystem_of(component: Component, sbom: Sbom) -> tuple[str, str, str] | None:
    """(OSV ecosystem, package name, version) to look up, or None when OSV has no such ecosystem.

    OS advisories name source packages: Debian's and Alpine's are matched on source name/version.
    """
    if component.type == "deb":
        os = sbom.os
        if os is None or os.id != "debian" or not os.version_id:
            return None
        return (
            f"Debian:{os.version_id.split('.')[0]}",
            component.source_name or component.name,
            component.source_version or component.version,
        )
    if component.type == "apk":
        os = sbom.os
        if os is None or os.id != "alpine" or not os.version_id:
            return None
        major_minor = ".".join(os.version_id.split(".")[:2])
        return f"Alpine:v{major_minor}", component.source_name or component.name, component.version
    eco = _ECOSYSTEMS.get(component.type)
    if eco is None:
        return None
    if component.type == "maven":
        return eco, f"{component.namespace}:{component.name}", component.version
    if component.type in ("golang", "composer", "npm") and component.namespace:
        sep = "/"
        return eco, f"{component.namespace}{sep}{component.name}", component.version
    if component.type == "golang" and component.name == "stdlib":
        return eco, "stdlib", component.version.removeprefix("v")
    return eco, component.name, component.version


def match(sbom: Sbom, db: VulnDB) -> VulnReport:
    """Findings for every component an advisory in ``db`` covers; advisories aliasing each other
    (GHSA/PYSEC for one CVE) are merged into one finding per package."""
    started = time.perf_counter()
    report = VulnReport(image_ref=sbom.image_ref, image_id=sbom.image_id)
    cache: dict[tuple[str, str], list[tuple[OsvRecord, list[OsvAffected]]]] = {}
    for comp in sbom.components:
        target = ecosystem_of(comp, sbom)
        if target is None:
            report.components_unsupported += 1
            continue
        eco, name, version = target
        report.components_scanned += 1
        key = (eco, name)
        if key not in cache:
            cache[key] = db.advisories_for(eco, name)
        found: list[Finding] = []
        for rec, affs in cache[key]:
            hit, fix = False, ""
            for aff in affs:
                try:
                    h, f = affected_fix(eco, version, aff)
                except BadVersion as exc:
                    report.warnings.append(f"{rec.id}: {comp.purl}: {exc}")
                    continue
                if h:
                    hit, fix = True, fix or f
            if hit:
                found.append(_finding(rec, affs, comp, eco, fix))
        report.findings.extend(_merge_aliases(found))
    report.findings.sort(key=lambda f: (SEVERITIES.index(f.severity), f.package, f.id))
    report.recount()
    report.scanners["containerkit"] = ScannerStatus(
        ran=True, findings=len(report.findings), duration_s=round(time.perf_counter() - started, 3)
    )
    return report


def _finding(rec: OsvRecord, affs: list[OsvAffected], comp: Component, eco: str, fix: str) -> Finding:
    vectors = [(s.type, s.score) for s in rec.severity]
    for a in affs:
        vectors.extend((s.type, s.score) for s in a.severity)
    specific = [rec.database_specific, *(a.database_specific for a in affs), *(a.ecosystem_specific for a in affs)]
    sev, score, vector = severity_of(vectors, *specific)
    return Finding(
        id=rec.id,
        aliases=sorted(set(rec.aliases) | set(rec.upstream)),
        summary=rec.summary or rec.details.split("\n", 1)[0][:200],
        severity=sev,
        cvss_score=score,
        cvss_vector=vector,
        package=comp.name,
        version=comp.version,
        purl=comp.purl,
        ecosystem=eco,
        fixed_version=fix,
        layer_index=comp.layer_index,
        layer_diff_id=comp.layer_diff_id,
        layer_created_by=comp.layer_created_by,
        source_file=comp.source_file,
    )


def _merge_aliases(found: list[Finding]) -> list[Finding]:
    """One finding per vulnerability: records whose ids/aliases overlap are folded together,
    keeping the better-scored one as primary and every id as an alias."""
    out: list[Finding] = []
    for f in sorted(found, key=lambda f: (f.cvss_score is None, f.severity == "UNKNOWN", f.id)):
        twin = next((o for o in out if o.ids & f.ids), None)
        if twin is None:
            out.append(f)
            continue
        twin.aliases = sorted((twin.ids | f.ids) - {twin.id})
        if not twin.fixed_version:
            twin.fixed_version = f.fixed_version
    return out
