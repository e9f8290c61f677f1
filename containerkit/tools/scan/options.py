"""What a scan reads besides the image, and which parts run: light, so a cached verdict costs no scanner import."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from containerkit.tools.scan.errors import UnknownFailOn

__all__ = ["FAIL_ON_LEVELS", "LEVELS", "Level", "ScanOptions", "check_fail_on"]

Level = Literal["critical", "high", "medium", "low", "info"]
LEVELS: tuple[Level, ...] = ("critical", "high", "medium", "low", "info")
FAIL_ON_LEVELS = (*LEVELS, "none")


def check_fail_on(fail_on: str) -> str:
    """The threshold in lower case, or UnknownFailOn (checked before any scanning starts)."""
    value = fail_on.strip().lower()
    if value not in FAIL_ON_LEVELS:
        raise UnknownFailOn(f"unknown --fail-on level: {fail_on!r}")
    return value


class ScanOptions(BaseModel):
    """What to scan besides the image itself, and which parts to run."""

    image_ref: str | None = None
    """The name policies judge (its tag); None: the image's first tag when it is given by id."""
    dockerfile: Path | None = None
    """Linted, and read for Dockerfile facts (base images, final USER) by compliance and policy."""
    context: Path | None = None
    """Build context scanned for secrets as ``docker build`` would send it (.dockerignore honoured)."""
    vuln_db: Path | None = None
    """A VulnDB sqlite file; None, missing or empty means vulnerabilities are "not checked" (a note)."""
    policies: list[Path] = Field(default_factory=list)
    """User Rego files or folders, evaluated with the default policy."""
    policy_data: dict[str, Any] = Field(default_factory=dict)
    trusted_registries: list[str] = Field(default_factory=list)
    """Registries base images may come from (lint DL3026, CIS 4.2, policy CKP004 unless data says otherwise)."""
    cache_dir: Path | None = None
    """Per-layer results (redacted secret findings, package records) kept under ``<cache_dir>/scan/``;
    None = no cache. Agents pass ``settings.home / "cache"``."""
    external_scanners: bool = True
    """Merge trivy/grype findings when they are installed and have a database."""
    lint: bool = True
    sbom: bool = True
    vulnerabilities: bool = True
    secrets: bool = True
    compliance: bool = True
    policy: bool = True
