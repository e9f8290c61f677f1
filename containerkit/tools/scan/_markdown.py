"""A human report in Markdown: verdict first, then counts, then one table per part."""

from __future__ import annotations

from containerkit.tools.escape import markdown_code, markdown_text
from containerkit.tools.scan.models import LEVELS, ScanReport

__all__ = ["report_to_markdown"]


class _Md(str):
    """Text already rendered as Markdown (inline code): put in a cell as it is."""


def _cell(text: object) -> str:
    """Anything read from an image (package names, paths, messages) is text, never markup."""
    return str(text) if isinstance(text, _Md) else markdown_text(text)


def _table(head: list[str], rows: list[list[object]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def report_to_markdown(report: ScanReport, fail_on: str = "high") -> str:
    failed = report.failed(fail_on)
    counts = report.counts()
    lines = [
        f"# Scan of {markdown_code(report.image)}",
        "",
        f"**{'FAILED' if failed else 'PASSED'}** (fail on {fail_on} or above) — "
        + ", ".join(f"{counts[lvl]} {lvl}" for lvl in LEVELS),
        "",
        f"Image id {markdown_code(report.image_id)}, scanned in {report.duration_s:.1f}s.",
        "",
        "## Findings by severity",
        "",
        *_table(["Part", *LEVELS], _counts_by_part(report)),
    ]
    if report.notes:
        lines += ["## Not checked / notes", "", *(f"- {_cell(n)}" for n in report.notes), ""]
    if report.vulnerabilities is not None:
        v = report.vulnerabilities
        lines += [f"## Vulnerabilities ({len(v.findings)})", ""]
        lines += _table(
            ["Severity", "Advisory", "Aliases", "Package", "Installed", "Fixed in", "Layer"],
            [
                [
                    f.severity,
                    f.id,
                    ", ".join(f.aliases),
                    f.package,
                    f.version,
                    f.fixed_version or "—",
                    f.layer_created_by[:60],
                ]
                for f in v.findings
            ],
        )
    if report.secrets is not None:
        s = report.secrets
        lines += [f"## Secrets ({len(s.findings)})", "", "Values are redacted; the fingerprint identifies a match.", ""]
        lines += _table(
            ["Rule", "Where", "Line", "Match", "In final image", "Source"],
            [
                [
                    f.rule_id,
                    f.path,
                    f.line,
                    _Md(markdown_code(f.redacted)),
                    "yes" if f.in_final_image else "no (deleted later)",
                    f.source,
                ]
                for f in s.findings
            ],
        )
    if report.policy is not None:
        p = report.policy
        lines += [f"## Policy ({len(p.violations)} denied, {len(p.warnings)} warnings)", ""]
        lines += _table(
            ["Decision", "Rule", "Message", "Policy"],
            [[x.level, x.rule_id, x.message, x.policy_file.rsplit("/", 1)[-1]] for x in (*p.violations, *p.warnings)],
        )
    if report.compliance is not None:
        c = report.compliance
        lines += ["## Compliance", ""]
        lines += _table(
            ["Framework", "Score", "Passed", "Failed", "Manual", "N/A"],
            [
                [
                    s.framework,
                    f"{s.score:.0%}" if s.score is not None else "n/a",
                    s.passed,
                    s.failed,
                    s.manual,
                    s.not_applicable,
                ]
                for s in c.scores
            ],
        )
        failed_controls = [x for x in c.controls if x.status == "fail"]
        if failed_controls:
            lines += _table(
                ["Control", "Title", "Evidence"], [[x.id, x.title, "; ".join(x.evidence)] for x in failed_controls]
            )
    if report.lint is not None:
        lines += [f"## Dockerfile lint ({len(report.lint.findings)})", ""]
        lines += _table(
            ["Line", "Rule", "Severity", "Message"],
            [[f.line, f.rule, f.severity.value, f.message] for f in report.lint.findings],
        )
    if report.sbom is not None:
        sb = report.sbom
        os_name = sb.os.pretty_name or sb.os.id if sb.os else "unknown OS"
        kinds = ", ".join(f"{n} {t}" for t, n in sb.counts().items()) or "none"
        lines += ["## Software bill of materials", "", f"{len(sb.components)} packages on {os_name}: {kinds}.", ""]
    return "\n".join(lines).rstrip() + "\n"


def _counts_by_part(report: ScanReport) -> list[list[object]]:
    rows: dict[str, dict[str, int]] = {}
    for f in report.findings():
        rows.setdefault(f.part, dict.fromkeys(LEVELS, 0))[f.severity] += 1
    return [[part, *(c[lvl] for lvl in LEVELS)] for part, c in rows.items()] or [["(none)", *([0] * len(LEVELS))]]
