"""Render a scan report: JSON, SARIF 2.1.0, CycloneDX 1.5 (with vulnerabilities), Markdown, plain table."""

from __future__ import annotations

import io
import json
from typing import Literal, get_args

from rich.console import Console

from containerkit.tools.scan._cyclonedx import report_to_cyclonedx
from containerkit.tools.scan._markdown import report_to_markdown
from containerkit.tools.scan._sarif import report_to_sarif_log
from containerkit.tools.scan._table import report_tables
from containerkit.tools.scan.errors import UnknownReportFormat
from containerkit.tools.scan.models import ScanReport, check_fail_on

__all__ = ["REPORT_FORMATS", "ReportFormat", "render_report", "report_to_json", "report_to_sarif_log"]

ReportFormat = Literal["table-text", "json", "sarif", "cyclonedx", "markdown"]
REPORT_FORMATS: tuple[str, ...] = get_args(ReportFormat)


def report_to_json(report: ScanReport, fail_on: str = "high") -> str:
    """The whole report plus its verdict (``summary``), so one file answers "did it pass, and why"."""
    data = report.model_dump(mode="json")
    data["summary"] = report.summary(fail_on)
    return json.dumps(data, indent=2)


def render_report(report: ScanReport, fmt: ReportFormat | str, *, fail_on: str = "high") -> str:
    """The report as text in ``fmt``; ``fail_on`` sets the verdict shown by json, markdown and table."""
    fail_on = check_fail_on(fail_on)
    if fmt == "json":
        return report_to_json(report, fail_on)
    if fmt == "sarif":
        return json.dumps(report_to_sarif_log(report), indent=2)
    if fmt == "cyclonedx":
        return report_to_cyclonedx(report)
    if fmt == "markdown":
        return report_to_markdown(report, fail_on)
    if fmt == "table-text":
        buf = io.StringIO()
        Console(file=buf, width=160, no_color=True, highlight=False, soft_wrap=False).print(
            report_tables(report, fail_on)
        )
        return buf.getvalue()
    raise UnknownReportFormat(f"unknown report format {fmt!r}; use one of {', '.join(REPORT_FORMATS)}")
