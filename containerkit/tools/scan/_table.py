"""The terminal view of a scan: a verdict line, counts per part, then each part's findings (rich)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from containerkit.tools.scan._remediation_render import plan_table
from containerkit.tools.scan.models import LEVELS, ScanReport

__all__ = ["report_tables"]

STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
_MAX_ROWS = 50


def verdict_line(report: ScanReport, fail_on: str) -> Text:
    failed = report.failed(fail_on)
    counts = report.counts()
    text = Text()
    text.append("FAILED" if failed else "PASSED", style="bold red" if failed else "bold green")
    text.append(f"  {report.image}  ({report.image_id[:19]})  fail-on {fail_on}  ")
    text.append(", ".join(f"{counts[lvl]} {lvl}" for lvl in LEVELS))
    return text


def report_tables(report: ScanReport, fail_on: str = "high") -> RenderableType:
    """Everything ``containerkit scan`` prints for ``--format table``."""
    parts: list[RenderableType] = [verdict_line(report, fail_on)]
    overview = Table(title="Parts", title_justify="left")
    for col in ("Part", "Result", "Time (s)"):
        overview.add_column(col)
    for name, result in _part_results(report):
        ran = name in report.durations and result not in ("not run", "not checked")
        overview.add_row(name, result, f"{report.durations[name]:.2f}" if ran else "")
    parts.append(overview)
    findings = report.findings()
    if findings:
        table = Table(title=f"Findings ({len(findings)})", title_justify="left")
        for col in ("Severity", "Part", "Id"):
            table.add_column(col, no_wrap=True)  # ids are what users copy and grep for
        for col in ("Finding", "Where"):
            table.add_column(col, overflow="fold")
        for f in findings[:_MAX_ROWS]:
            table.add_row(
                f"[{STYLE[f.severity]}]{f.severity}[/]", f.part, escape(f.id), escape(f.title), escape(f.location)
            )
        parts.append(table)
        if len(findings) > _MAX_ROWS:
            parts.append(Text(f"... and {len(findings) - _MAX_ROWS} more (use --format json or markdown for all)"))
    if report.remediation is not None and (report.remediation.actions or report.remediation.unresolved):
        parts.append(plan_table(report.remediation))
    parts += [Text(f"note: {n}", style="yellow") for n in report.notes]
    return Group(*parts)


def _part_results(report: ScanReport) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if report.lint is not None:
        c = report.lint.counts()
        out.append(("lint", ", ".join(f"{n} {s}" for s, n in c.items())))
    else:
        out.append(("lint", "not run"))
    out.append(("sbom", f"{len(report.sbom.components)} components" if report.sbom is not None else "not run"))
    if report.vulnerabilities is not None:
        v = report.vulnerabilities
        ran = [k for k, s in v.scanners.items() if s.ran]
        out.append(
            (
                "vulnerabilities",
                (", ".join(f"{n} {s.lower()}" for s, n in v.counts.items() if n) or "none found")
                + f" (by {', '.join(ran) or 'nobody'})",
            )
        )
    else:
        out.append(("vulnerabilities", "not checked"))
    if report.layers:
        top = max(report.layers, key=lambda layer: layer.size_bytes)
        out.append(
            (
                "layers",
                f"{len(report.layers)} holding files, {(report.size_bytes or 0) / 1e6:.1f} MB;"
                f" largest {top.size_bytes / 1e6:.1f} MB: {top.created_by[:70]}",
            )
        )
    if report.secrets is not None:
        s = report.secrets
        out.append(("secrets", f"{len(s.findings)} found in {s.files_scanned} files, {s.layers_scanned} layers"))
    else:
        out.append(("secrets", "not run"))
    if report.compliance is not None:
        out.append(
            (
                "compliance",
                "; ".join(
                    f"{sc.framework}: {sc.score:.0%}" if sc.score is not None else f"{sc.framework}: n/a"
                    for sc in report.compliance.scores
                ),
            )
        )
    else:
        out.append(("compliance", "not run"))
    if report.policy is not None:
        p = report.policy
        out.append(("policy", f"{len(p.violations)} denied, {len(p.warnings)} warnings ({len(p.policies)} files)"))
    else:
        out.append(("policy", "not run"))
    return out
