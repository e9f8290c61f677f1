"""Auto-fix: fixed files lose the fixable findings, still parse, and change nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from containerkit.tools.lint import LintConfig, lint_dockerfile, parse_dockerfile
from containerkit.tools.lint.fix import FIXABLE_RULES, fix_dockerfile_text, unified_diff

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dockerfiles"
OFF = LintConfig(use_hadolint=False)


def _fixable(text: str) -> set[str]:
    return {f.rule for f in lint_dockerfile(text, OFF).findings if f.fixable}


def test_fixture_fixes_every_fixable_finding_and_still_parses() -> None:
    text = (FIXTURES / "fixable.Dockerfile").read_text()
    before = _fixable(text)
    # DL3015/DL3009 appear only once apt became apt-get: the fixer loops until nothing is left
    assert {"DL3027", "DL3042", "DL4000", "DL3025", "DL3000", "DL3020", "DL3021", "CK1008"} <= before
    fixed = fix_dockerfile_text(text)
    assert "apt-get install --no-install-recommends -y curl" in fixed and "rm -rf /var/lib/apt/lists/*" in fixed
    assert _fixable(fixed) == set()
    parse_dockerfile(fixed)


def test_untouched_lines_stay_byte_identical() -> None:
    text = (FIXTURES / "fixable.Dockerfile").read_text()
    fixed = fix_dockerfile_text(text)
    kept = [
        ln
        for ln in text.split("\n")
        if ln.startswith(("# ", "FROM", "    # install", "RUN apt-get update && apt-get install -y --no"))
    ]
    for line in kept:
        assert line in fixed.split("\n")


def test_crlf_line_endings_are_kept() -> None:
    text = (FIXTURES / "fixable.Dockerfile").read_text().replace("\n", "\r\n")
    fixed = fix_dockerfile_text(text)
    assert "\n" not in fixed.replace("\r\n", "")
    assert _fixable(fixed) == set()


def test_relative_workdir_resolves_against_the_previous_one() -> None:
    fixed = fix_dockerfile_text("FROM a:1\nWORKDIR app\nWORKDIR sub\n")
    assert fixed == "FROM a:1\nWORKDIR /app\nWORKDIR /app/sub\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("CMD python app.py --port 8080", 'CMD ["python", "app.py", "--port", "8080"]'),
        ("CMD exec gunicorn app | tee log", 'CMD ["/bin/sh", "-c", "exec gunicorn app | tee log"]'),
        (
            "HEALTHCHECK --interval=5s CMD curl -f http://localhost/ || exit 1",
            'HEALTHCHECK --interval=5s CMD ["/bin/sh", "-c", "curl -f http://localhost/ || exit 1"]',
        ),
        ("MAINTAINER Jane Doe", 'LABEL maintainer="Jane Doe"'),
        ("RUN apk add curl=8", "RUN apk add --no-cache curl=8"),
        ("ENV DEBIAN_FRONTEND noninteractive", "ARG DEBIAN_FRONTEND=noninteractive"),
        ("add app.py /app/", "copy app.py /app/"),
    ],
)
def test_single_instruction_rewrites(before: str, after: str) -> None:
    assert fix_dockerfile_text(f"FROM a:1\n{before}\n") == f"FROM a:1\n{after}\n"


def test_only_given_findings_are_fixed() -> None:
    text = "FROM debian:12\nRUN apt-get install curl=1\n"
    findings = [f for f in lint_dockerfile(text, OFF).findings if f.rule == "DL3014"]
    fixed = fix_dockerfile_text(text, findings)
    assert fixed == "FROM debian:12\nRUN apt-get install -y curl=1\n"


def test_append_respects_backtick_escape() -> None:
    text = "# escape=`\nFROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends x=1\n"
    fixed = fix_dockerfile_text(text)
    assert "x=1 `\n    && rm -rf /var/lib/apt/lists/*" in fixed
    assert "DL3009" not in _fixable(fixed)


def test_clean_file_is_returned_unchanged_and_diff_is_empty() -> None:
    text = (FIXTURES / "good_multistage.Dockerfile").read_text()
    assert fix_dockerfile_text(text) == text
    assert unified_diff(text, text) == ""


def test_fixable_rules_cover_the_issue_list() -> None:
    assert {"DL3015", "DL3009", "DL3042", "DL4000", "DL3025", "DL3027", "DL3000"} <= FIXABLE_RULES
