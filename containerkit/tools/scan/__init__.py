"""One verdict on one image (issue 4, item 8): every BuildSec scanner composed, one report.

Public API::

    scan_image(image, ScanOptions(...), docker_client=...) -> ScanReport
    render_report(report, "table-text" | "json" | "sarif" | "cyclonedx" | "markdown") -> str
    report.counts(), report.failed("high"), report.summary()   # summary goes to the session

Severities of every part are mapped onto critical/high/medium/low/info; the table is in ``models``.
"""

from __future__ import annotations

from containerkit.tools.scan.errors import UnknownFailOn, UnknownReportFormat, VulnDbUnreadable
from containerkit.tools.scan.models import (
    FAIL_ON_LEVELS,
    LEVELS,
    Level,
    ScanFinding,
    ScanOptions,
    ScanReport,
    check_fail_on,
)
from containerkit.tools.scan.render import REPORT_FORMATS, ReportFormat, render_report, report_to_json
from containerkit.tools.scan.scan import scan_image

__all__ = [
    "FAIL_ON_LEVELS",
    "LEVELS",
    "REPORT_FORMATS",
    "Level",
    "ReportFormat",
    "ScanFinding",
    "ScanOptions",
    "ScanReport",
    "UnknownFailOn",
    "UnknownReportFormat",
    "VulnDbUnreadable",
    "check_fail_on",
    "render_report",
    "report_to_json",
    "scan_image",
]
