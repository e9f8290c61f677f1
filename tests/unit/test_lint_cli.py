"""`containerkit lint`: formats, --output, --fail-on exit codes, --fix/--diff, bad input."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import containerkit.cli as cli
from containerkit.cli import Environment, app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dockerfiles"
runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    """One invocation with its own streams (the CLI keeps its Environment between invocations)."""
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), environ={})
    cli._ENV[:] = [env]
    try:
        result = runner.invoke(app, ["lint", *args, "--no-hadolint"])
    finally:
        cli._ENV.clear()
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, env.stdout.getvalue(), env.stderr.getvalue()  # type: ignore[attr-defined]


@pytest.fixture
def problems(tmp_path: Path) -> Path:
    dst = tmp_path / "Dockerfile"
    shutil.copy(FIXTURES / "many_problems.Dockerfile", dst)
    return dst


def test_json_report_and_default_fail_on_error(problems: Path) -> None:
    code, out, _ = _run(str(problems), "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert {"DL3061", "DL4000"} <= {f["rule"] for f in data["findings"]}
    assert data["counts"]["error"] > 0


def test_fail_on_none_and_clean_file_exit_zero(problems: Path) -> None:
    assert _run(str(problems), "--fail-on", "none", "-f", "json")[0] == 0
    assert _run(str(FIXTURES / "good_multistage.Dockerfile"), "--fail-on", "style")[0] == 0


def test_fail_on_warning_counts_warnings(tmp_path: Path) -> None:
    df = tmp_path / "Dockerfile"
    df.write_text(
        "FROM debian:12\nRUN apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\nUSER 1\nHEALTHCHECK CMD true\n"
    )
    assert _run(str(df))[0] == 0
    assert _run(str(df), "--fail-on", "warning")[0] == 1


def test_sarif_to_output_file(problems: Path, tmp_path: Path) -> None:
    out = tmp_path / "lint.sarif"
    code, stdout, _ = _run(str(problems), "-f", "sarif", "--output", str(out), "--fail-on", "none")
    assert code == 0 and stdout == ""
    log = json.loads(out.read_text())
    assert log["version"] == "2.1.0"
    assert "DL4000" in {r["ruleId"] for r in log["runs"][0]["results"]}


def test_table_lists_rules(problems: Path) -> None:
    code, out, _ = _run(str(problems), "--ignore", "DL3061,DL4000")
    assert "DL3006" in out and "DL3061" not in out and "DL4000" not in out
    assert code == 1  # other errors remain


def test_fix_rewrites_file_and_diff_shows_it(tmp_path: Path) -> None:
    df = tmp_path / "Dockerfile"
    original = (FIXTURES / "fixable.Dockerfile").read_text()
    df.write_text(original)
    code, out, _ = _run(str(df), "--diff", "--fail-on", "none")
    assert code == 0 and "+LABEL maintainer=" in out
    assert df.read_text() == original  # --diff alone writes nothing
    _run(str(df), "--fix", "--fail-on", "none")
    fixed = df.read_text()
    assert fixed != original and "MAINTAINER" not in fixed
    data = json.loads(_run(str(df), "-f", "json", "--fail-on", "none")[1])
    assert [f for f in data["findings"] if f["fixable"]] == []


@pytest.mark.parametrize(
    ("content", "code_text"),
    [(b"\x7fELF\x02\x01\x01\x00\x00\x00binary", "CK108"), (b"\xff\xfe\xfaFROM", "CK108"), (b"RUN echo hi\n", "CK108")],
)
def test_bad_input_gives_code_and_hint_not_traceback(tmp_path: Path, content: bytes, code_text: str) -> None:
    df = tmp_path / "Dockerfile"
    df.write_bytes(content)
    code, _, err = _run(str(df))
    assert code == 2
    assert code_text in err and "hint:" in err and "Traceback" not in err


def test_missing_file_and_bad_options(tmp_path: Path) -> None:
    code, _, err = _run(str(tmp_path / "nope"))
    assert code == 2 and "CK101" in err
    code, _, err = _run(str(FIXTURES / "good_multistage.Dockerfile"), "--fail-on", "fatal")
    assert code == 2 and "CK130" in err
    code, _, err = _run(str(FIXTURES / "good_multistage.Dockerfile"), "--format", "xml")
    assert code == 2 and "CK106" in err


def test_folder_argument_lints_its_dockerfile(problems: Path) -> None:
    code, out, _ = _run(str(problems.parent), "-f", "json")
    assert code == 1 and json.loads(out)["findings"]
