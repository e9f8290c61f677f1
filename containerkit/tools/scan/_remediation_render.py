"""The remediation plan in each report format: a Markdown section, a terminal table, SARIF ``fixes``.

Everything here is read from an image or a user's files (package names, paths, lines): Markdown
cells go through ``markdown_text``/``markdown_code``, terminal cells through rich's ``escape``.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from containerkit.tools.escape import markdown_code, markdown_text
from containerkit.tools.scan.remediation_models import FileChange, RemediationAction, RemediationPlan

__all__ = ["count_text", "plan_markdown", "plan_table", "sarif_fixes", "sarif_help"]

_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
_MAX_ROWS = 50


def count_text(n: int, noun: str) -> str:
    """``1 action``, ``2 actions``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _where(c: FileChange) -> str:
    return f"{c.file}:{c.line}" if c.line is not None else c.file


def _change_md(c: FileChange) -> str:
    if not c.before:
        return f"{markdown_code(_where(c))} add {markdown_code(c.after)}"
    if not c.after:
        return f"{markdown_code(_where(c))} remove {markdown_code(c.before)}"
    return f"{markdown_code(_where(c))} {markdown_code(c.before)} → {markdown_code(c.after)}"


def _change_text(c: FileChange) -> str:
    if not c.before:
        return f"{_where(c)}: add {c.after.strip()}"
    if not c.after:
        return f"{_where(c)}: remove {c.before.strip()}"
    return f"{_where(c)}: {c.before.strip()} -> {c.after.strip()}"


def plan_markdown(plan: RemediationPlan) -> list[str]:
    """The ``## Remediation plan`` section: one row per action, then what has no fix."""
    lines = [f"## Remediation plan ({count_text(len(plan.actions), 'action')})", ""]
    if plan.base_image:
        lines += [f"Final stage base image: {markdown_code(plan.base_image)}.", ""]
    if plan.actions:
        lines += ["| Severity | Fix | How | Change | Resolves |", "|---|---|---|---|---|"]
        for a in plan.actions:
            changes = "<br>".join(_change_md(c) for c in a.changes[:8]) or "—"
            lines.append(
                "| "
                + " | ".join(
                    [
                        markdown_text(a.severity),
                        markdown_text(a.title),
                        markdown_text(a.detail or "—"),
                        changes,
                        markdown_text(f"{len(a.resolves)}: {', '.join(a.resolves[:4])}"),
                    ]
                )
                + " |"
            )
        lines.append("")
    if plan.base_options:
        lines += ["Other base images checked against the same advisories:", ""]
        lines += [
            f"- {markdown_code(o.image)} ({markdown_text(o.source)}): removes {len(o.removes)}, "
            f"keeps {o.remaining}, adds {len(o.introduces)}"
            for o in plan.base_options
        ]
        lines.append("")
    if plan.unresolved:
        lines += ["No fix yet:", ""]
        lines += [f"- {markdown_text(u.finding)}: {markdown_text(u.reason)}" for u in plan.unresolved]
        lines.append("")
    if plan.notes:
        lines += [*(f"Note: {markdown_text(n)}." for n in plan.notes), ""]
    return lines


def plan_table(plan: RemediationPlan) -> Table:
    """The terminal table of the plan (``scan --format table``)."""
    table = Table(title=f"Remediation plan ({len(plan.actions)})", title_justify="left")
    table.add_column("Severity", no_wrap=True)
    for col in ("Fix", "Change", "Resolves"):
        table.add_column(col, overflow="fold")
    for a in plan.actions[:_MAX_ROWS]:
        changes = "\n".join(escape(_change_text(c)) for c in a.changes[:5]) or escape(a.detail[:160])
        table.add_row(f"[{_STYLE[a.severity]}]{a.severity}[/]", escape(a.title), changes, str(len(a.resolves)))
    if plan.unresolved:
        table.caption = f"{len(plan.unresolved)} findings have no fix yet (see --format json or markdown)"
    return table


def action_for(plan: RemediationPlan | None, key: str) -> RemediationAction | None:
    if plan is None:
        return None
    return next((a for a in plan.actions if key in a.resolves), None)


def sarif_help(action: RemediationAction | None) -> str:
    """A sentence appended to a SARIF rule's help: the fix, in words."""
    if action is None:
        return ""
    return f" Remediation: {action.title}." + (f" {action.detail}" if action.detail else "")


def sarif_fixes(action: RemediationAction | None) -> list[dict[str, Any]]:
    """SARIF 2.1.0 ``fix`` objects: the file lines the action changes, as replacements."""
    if action is None:
        return []
    by_file: dict[str, list[dict[str, Any]]] = {}
    for c in action.changes:
        if c.line is None:
            continue
        if c.before:
            region: dict[str, Any] = {"startLine": c.line}
            text = c.after
        else:  # an insertion before the line
            region = {"startLine": c.line, "startColumn": 1, "endColumn": 1}
            text = c.after + "\n"
        by_file.setdefault(c.file, []).append({"deletedRegion": region, "insertedContent": {"text": text}})
    if not by_file:
        return []
    return [
        {
            "description": {"text": action.title},
            "artifactChanges": [{"artifactLocation": {"uri": f}, "replacements": reps} for f, reps in by_file.items()],
        }
    ]
