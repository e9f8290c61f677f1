"""Vulnerabilities of an SBOM: a local OSV database, per-ecosystem version matching, and optional
external scanners (trivy, grype) merged in with the scanner that found each finding recorded."""

from __future__ import annotations

from containerkit.tools.vulns.db import ECOSYSTEMS, DbInfo, ImportResult, VulnDB
from containerkit.tools.vulns.errors import OsvRecordInvalid, UnknownEcosystem, VulnDbError, VulnDbUpdateFailed
from containerkit.tools.vulns.external import ExternalScan, merge_external, run_external_scanners
from containerkit.tools.vulns.match import Finding, ScannerStatus, VulnReport, ecosystem_of, match

__all__ = [
    "ECOSYSTEMS",
    "DbInfo",
    "ExternalScan",
    "Finding",
    "ImportResult",
    "OsvRecordInvalid",
    "ScannerStatus",
    "UnknownEcosystem",
    "VulnDB",
    "VulnDbError",
    "VulnDbUpdateFailed",
    "VulnReport",
    "ecosystem_of",
    "match",
    "merge_external",
    "run_external_scanners",
]
