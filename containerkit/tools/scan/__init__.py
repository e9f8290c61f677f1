"""One verdict on one image (issue 4, item 8): every BuildSec scanner composed, one report.

Public API::

    scan_image(image, ScanOptions(...), docker_client=...) -> ScanReport
    render_report(report, "table-text" | "json" | "sarif" | "cyclonedx" | "markdown") -> str
    report.counts(), report.failed("high"), report.summary()   # summary goes to the session
    scan_cache_key(image_id, options, fail_on=...)              # what a verdict depends on

Severities of every part are mapped onto critical/high/medium/low/info; the table is in ``models``.
Names are imported on first use: a verdict reused from the cache loads no scanner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from containerkit._lazy import lazy_attributes

if TYPE_CHECKING:
    from containerkit.tools.scan.cache import scan_cache_key
    from containerkit.tools.scan.errors import UnknownFailOn, UnknownReportFormat, VulnDbUnreadable
    from containerkit.tools.scan.models import ScanFinding, ScanReport
    from containerkit.tools.scan.options import FAIL_ON_LEVELS, LEVELS, Level, ScanOptions, check_fail_on
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
    "scan_cache_key",
    "scan_image",
]

_WHERE = {
    "scan_cache_key": "cache",
    "UnknownFailOn": "errors",
    "UnknownReportFormat": "errors",
    "VulnDbUnreadable": "errors",
    "FAIL_ON_LEVELS": "options",
    "LEVELS": "options",
    "Level": "options",
    "ScanFinding": "models",
    "ScanReport": "models",
    "check_fail_on": "options",
    "ScanOptions": "options",
    "REPORT_FORMATS": "render",
    "ReportFormat": "render",
    "render_report": "render",
    "report_to_json": "render",
    "scan_image": "scan",
}


__getattr__ = lazy_attributes(__name__, _WHERE)
