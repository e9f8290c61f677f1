"""Errors of the image scan and its reports (codes CK280-CK289).

Missing images reuse ``ImageNotFound`` (CK240) and policy problems the policy package's codes, so
one cause always has one code whichever command meets it.
"""

from __future__ import annotations

from typing import ClassVar

from containerkit.errors import ContainerKitError

__all__ = ["UnknownFailOn", "UnknownReportFormat", "VulnDbUnreadable"]


class UnknownFailOn(ContainerKitError):
    code: ClassVar[str] = "CK280"
    exit_code: ClassVar[int] = 2
    default_hint: ClassVar[str] = "Use one of: critical, high, medium, low, info, none."


class UnknownReportFormat(ContainerKitError):
    code: ClassVar[str] = "CK281"
    exit_code: ClassVar[int] = 2
    default_hint: ClassVar[str] = "Use one of: table, json, sarif, cyclonedx, markdown."


class VulnDbUnreadable(ContainerKitError):
    code: ClassVar[str] = "CK282"
    exit_code: ClassVar[int] = 2
    default_hint: ClassVar[str] = (
        "The file given as vulnerability database is not one; delete it and import advisories again "
        "(`containerkit db import PATH`), or pass another with --db."
    )
