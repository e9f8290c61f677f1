"""`containerkit scan` on a real image built from ``tests/fixtures/remediation/pinned-pyyaml`` (PyYAML
5.3.1 pinned in requirements.txt, on python:3.11-slim): the report's remediation plan names the fixed
version, the requirements.txt line to change, and what to do about the base image's own finding."""

from __future__ import annotations

import io
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import containerkit.cli as cli
from containerkit.cli import Environment, app
from containerkit.tools.engine import image_exists
from containerkit.tools.scan import ScanReport, render_report
from containerkit.tools.vulns import VulnDB

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
APP = FIXTURES / "remediation" / "pinned-pyyaml"
PYYAML = "GHSA-8q59-q68h-6hv4"  # PyYAML < 5.4
APT = "DEBIAN-CVE-2011-3374"  # apt in Debian 11/12, no fix; the record names no Debian 13


@pytest.fixture(scope="module")
def built(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    ctx = tmp_path_factory.mktemp("remedy") / "app"
    shutil.copytree(APP, ctx)
    tag = f"ck-test-remedy:{uuid.uuid4().hex[:10]}"
    docker_client.images.build(path=str(ctx), tag=tag, network_mode="host", rm=True, forcerm=True, pull=False)
    try:
        yield tag, ctx
    finally:
        docker_client.images.remove(tag, force=True)


def test_scan_plans_the_pinned_upgrade_and_the_base_image(
    docker_client: Any, built: tuple[str, Path], tmp_path: Path
) -> None:
    tag, ctx = built
    db = tmp_path / "vulndb.sqlite"
    VulnDB(db).import_path(FIXTURES / "osv" / "records")
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), environ={"CONTAINERKIT_HOME": str(tmp_path)})
    cli._ENV[:] = [env]
    try:
        result = CliRunner().invoke(
            app,
            [
                "scan",
                tag,
                "--dockerfile",
                str(ctx / "Dockerfile"),
                "--context",
                str(ctx),
                "--db",
                str(db),
                "-f",
                "json",
                "--fail-on",
                "none",
                "--no-external",
            ],
        )
    finally:
        cli._ENV.clear()
    assert result.exit_code == 0, env.stderr.getvalue()  # type: ignore[attr-defined]
    data = json.loads(env.stdout.getvalue())  # type: ignore[attr-defined]
    assert "remediation: " in env.stderr.getvalue()  # type: ignore[attr-defined]
    plan = data["remediation"]
    assert plan["base_image"] == "python:3.11-slim"

    upgrade = next(a for a in plan["actions"] if a["key"] == "upgrade:PyPI:PyYAML")
    assert (upgrade["installed_version"], upgrade["fixed_version"]) == ("5.3.1", "5.4")
    assert f"vulnerabilities:PyYAML:{PYYAML}" in upgrade["resolves"]
    assert {"file": "requirements.txt", "line": 1, "before": "PyYAML==5.3.1", "after": "PyYAML==5.4"} in upgrade[
        "changes"
    ]
    assert "pip install" in upgrade["layer"]

    apt = f"vulnerabilities:apt:{APT}"
    if image_exists(docker_client, "python:3.13-slim"):  # trixie: the fixture record names no Debian 13
        base = next(a for a in plan["actions"] if a["kind"] == "base_image")
        assert base["base_image"] == "python:3.13-slim" and apt in base["resolves"]
        assert base["changes"] == [
            {"file": "Dockerfile", "line": 1, "before": "FROM python:3.11-slim", "after": "FROM python:3.13-slim"}
        ]
        option = next(o for o in plan["base_options"] if o["image"] == "python:3.13-slim")
        assert apt in option["removes"]
        # the candidate's findings are kept by image id: a rerun does not export it again
        candidate = docker_client.images.get("python:3.13-slim").id.removeprefix("sha256:")
        cached = json.loads((tmp_path / "cache" / "scan" / f"{candidate}.json").read_text())
        assert "base-vulns" in cached
    else:
        assert apt in [u["finding"] for u in plan["unresolved"]]

    user = next(a for a in plan["actions"] if a["kind"] == "user")
    assert user["changes"] == [{"file": "Dockerfile", "line": 6, "before": "", "after": "USER 10001"}]
    assert data["summary"]["remediation"][0]["severity"] == "critical"

    report = ScanReport.model_validate({k: v for k, v in data.items() if k != "summary"})
    md = render_report(report, "markdown")
    assert "## Remediation plan" in md and "`PyYAML==5.3.1` → `PyYAML==5.4`" in md
