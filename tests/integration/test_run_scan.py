"""The buildsec stage of `run`: the scan lands in the session; `--fail-on` gates; secrets never stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration._cli import ck, last_json

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# a realistic-looking (fake) AWS key pair, split so this file itself does not trip scanners
KEY_ID = "AKIA" + "Q3EGRTZ7WXKPLM4N"
SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzq8Tn3Xk2Lm9"


def test_run_records_the_scan_and_the_gate_fails_on_a_leaked_secret(example_copy, tmp_path: Path) -> None:
    app = example_copy("python-http")
    (app / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{KEY_ID}"\nAWS_SECRET_ACCESS_KEY = "{SECRET}"\n')
    home = tmp_path / "home"

    res = ck("run", str(app), "--json", "--fail-on", "high", home=home)
    assert res.returncode == 1, res.stderr[-2000:]
    out = last_json(res.stdout)
    assert out["status"] == "failed"
    assert out["errors"][-1]["code"] == "CK205"
    scan = out["scan"]
    assert scan["secrets"] >= 1
    assert scan["checked"]["secrets"] and scan["checked"]["sbom"] and scan["checked"]["lint"]
    assert scan["compliance"]  # CIS / NIST scores per framework
    report = Path(scan["report_path"])
    assert report.is_file()
    # the remediation plan rides along: the secret's fix first, named in the gate's hint
    secret_fix = next(a for a in scan["remediation"] if a["kind"] == "secret")
    assert secret_fix["severity"] in ("critical", "high") and "settings.py" in secret_fix["title"]
    assert "remediation plan" in out["errors"][-1]["hint"]
    plan = json.loads(report.read_text())["remediation"]
    assert any(a["kind"] == "secret" for a in plan["actions"])

    # the secret is reported, but never stored: not in the report, the session, or the output
    shown = ck("sessions", "show", out["session_id"], "--json", home=home)
    stored = [p.read_bytes().decode("latin-1") for p in home.rglob("*") if p.is_file()]  # db, WAL, reports
    for text in (shown.stdout, res.stdout, res.stderr, *stored):
        assert SECRET not in text
        assert KEY_ID not in text


def test_run_without_gate_succeeds_and_keeps_the_verdict(example_copy, tmp_path: Path) -> None:
    app = example_copy("node-http")
    res = ck("run", str(app), "--json", home=tmp_path / "home")
    assert res.returncode == 0, res.stderr[-2000:]
    out = last_json(res.stdout)
    assert out["status"] == "succeeded"
    assert out["scan"]["checked"]["sbom"] is True
    assert set(out["scan"]["counts"]) >= {"critical", "high", "medium", "low"}
    assert out["scan"]["lint_errors"] == 0  # the generated Dockerfile lints clean
