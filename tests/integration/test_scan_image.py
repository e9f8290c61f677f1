"""`containerkit scan` end to end on an image built by the real engine: a known-vulnerable PyYAML and
an AWS key added in one layer and deleted in the next, matched against real OSV records offline."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import containerkit.cli as cli
from containerkit.cli import Environment, app
from containerkit.tools.metrics import BuildSecMetrics, render
from containerkit.tools.progress import ProgressEvent
from containerkit.tools.scan import ScanOptions, scan_image
from containerkit.tools.vulns import VulnDB

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OSV = Path(__file__).resolve().parent.parent / "fixtures" / "osv" / "records"
AWS_ID = "AKIA" + "Q3EGUV6XMZ7YK2PL"
AWS_SECRET = "wJalrXUtnF" + "EMI/K7MDENG/bPxRfiCY" + "9q2T8hLzKe"
ADVISORY = "GHSA-8q59-q68h-6hv4"  # PyYAML < 5.4, CRITICAL, aliases CVE-2020-14343 / PYSEC-2021-142

DOCKERFILE = """\
FROM python:3.11-slim
RUN python -m pip install --no-cache-dir PyYAML==5.3.1
COPY credentials /root/.aws/credentials
RUN rm /root/.aws/credentials
"""


@pytest.fixture(scope="module")
def built(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(tag, build context holding the Dockerfile); the image is removed after the module."""
    ctx = tmp_path_factory.mktemp("scanctx")
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "credentials").write_text(f"[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n")
    tag = f"ck-test-scan:{uuid.uuid4().hex[:10]}"
    docker_client.images.build(path=str(ctx), tag=tag, network_mode="host", rm=True, forcerm=True, pull=False)
    try:
        yield tag, ctx
    finally:
        docker_client.images.remove(tag, force=True)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scandb") / "vulndb.sqlite"
    VulnDB(path).import_path(OSV)
    return path


def _scan_cli(*args: str, home: Path) -> tuple[int, str, str]:
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), environ={"CONTAINERKIT_HOME": str(home)})
    cli._ENV[:] = [env]
    try:
        result = CliRunner().invoke(app, ["scan", *args, "--no-external"])
    finally:
        cli._ENV.clear()
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, env.stdout.getvalue(), env.stderr.getvalue()  # type: ignore[attr-defined]


def _no_secret(text: str) -> None:
    for value in (AWS_ID, AWS_SECRET, AWS_ID[4:], AWS_SECRET[4:]):
        assert value not in text


def test_scan_image_gathers_every_part_and_records_metrics(
    docker_client: Any, built: tuple[str, Path], db: Path
) -> None:
    tag, ctx = built
    events: list[ProgressEvent] = []
    metrics = BuildSecMetrics()
    report = scan_image(
        tag,
        ScanOptions(dockerfile=ctx / "Dockerfile", vuln_db=db, external_scanners=False),
        docker_client=docker_client,
        on_progress=events.append,
        metrics=metrics,
    )
    assert report.image_id == docker_client.images.get(tag).id
    assert report.vulnerabilities is not None and report.sbom is not None and report.lint is not None
    pyyaml = next(f for f in report.vulnerabilities.findings if f.id == ADVISORY)
    assert (pyyaml.version, pyyaml.fixed_version, pyyaml.severity) == ("5.3.1", "5.4", "CRITICAL")
    assert report.policy is not None and {"CKP001", "CKP003"} <= {v.rule_id for v in report.policy.violations}
    assert report.compliance is not None and report.compliance.control("CIS-4.1").status == "fail"
    assert report.failed("critical") and report.summary()["passed"] is False
    assert {"sbom", "vulnerabilities", "secrets", "compliance", "policy", "lint"} <= set(report.durations)
    assert any("sbom:" in str(e.get("message")) for e in events)
    exposition = render(metrics).decode()
    assert f'containerkit_vulnerabilities{{image="{tag}",severity="CRITICAL"}} 1.0' in exposition
    assert 'containerkit_scan_duration_seconds_count{scanner="secrets"} 1.0' in exposition


def test_json_format_fail_on_none_and_deleted_secret_redacted(
    built: tuple[str, Path], db: Path, tmp_path: Path
) -> None:
    tag, ctx = built
    code, out, err = _scan_cli(
        tag, "--dockerfile", str(ctx / "Dockerfile"), "-f", "json", "--db", str(db), "--fail-on", "none", home=tmp_path
    )
    assert code == 0, err
    data = json.loads(out)
    ids = {f["id"] for f in data["vulnerabilities"]["findings"]}
    assert ADVISORY in ids
    secret = next(
        f
        for f in data["secrets"]["findings"]
        if f["path"] == "root/.aws/credentials" and f["rule_id"] == "aws-access-key-id"
    )
    assert secret["in_final_image"] is False and secret["redacted"] == "AKIA***(20 chars)"
    assert "rm /root/.aws/credentials" in secret["removed_in_layer"]["created_by"]
    assert data["summary"]["passed"] is True and data["summary"]["counts"]["critical"] >= 2
    _no_secret(out + err)


def test_sarif_to_file_fails_on_high(built: tuple[str, Path], db: Path, tmp_path: Path) -> None:
    tag, _ = built
    target = tmp_path / "scan.sarif"
    code, out, err = _scan_cli(
        tag, "-f", "sarif", "-o", str(target), "--db", str(db), "--fail-on", "high", home=tmp_path
    )
    assert code == 1 and out == "" and "FAILED" in err
    log = json.loads(target.read_text())
    assert log["version"] == "2.1.0"
    by_tool = {r["tool"]["driver"]["name"]: {res["ruleId"] for res in r["results"]} for r in log["runs"]}
    assert ADVISORY in by_tool["containerkit-vulnerabilities"]
    assert "aws-access-key-id" in by_tool["containerkit-secrets"]
    assert "CKP001" in by_tool["containerkit-policy"]
    _no_secret(target.read_text())


def test_cyclonedx_carries_the_advisory(built: tuple[str, Path], db: Path, tmp_path: Path) -> None:
    tag, _ = built
    code, out, _ = _scan_cli(tag, "-f", "cyclonedx", "--db", str(db), "--fail-on", "none", home=tmp_path)
    assert code == 0
    bom = json.loads(out)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.5"
    vuln = next(v for v in bom["vulnerabilities"] if v["id"] == ADVISORY)
    pyyaml_ref = next(c["bom-ref"] for c in bom["components"] if c.get("purl") == "pkg:pypi/pyyaml@5.3.1")
    assert {"ref": pyyaml_ref} in vuln["affects"]


def test_markdown_and_table_default_db_from_home(built: tuple[str, Path], db: Path, tmp_path: Path) -> None:
    tag, _ = built
    home = tmp_path / "home"
    home.mkdir()
    (home / "vulndb.sqlite").write_bytes(db.read_bytes())  # the default DB: $CONTAINERKIT_HOME/vulndb.sqlite
    code, out, _ = _scan_cli(tag, "-f", "markdown", home=home)
    assert code == 1  # default --fail-on high
    assert out.startswith(f"# Scan of `{tag}`") and "**FAILED**" in out and ADVISORY in out
    _no_secret(out)
    code, out, _ = _scan_cli(tag, "--fail-on", "none", home=home)
    assert code == 0 and "PASSED" in out and ADVISORY in out


def test_user_policy_and_allowed_registry(built: tuple[str, Path], db: Path, tmp_path: Path) -> None:
    tag, ctx = built
    policy = tmp_path / "org.rego"
    policy.write_text(
        "package org.images\nimport rego.v1\n\ndeny contains v if {\n  some x in input.vulnerabilities\n"
        '  x.package == "PyYAML"\n  v := {"id": "ORG001", "msg": "PyYAML is banned here"}\n}\n'
    )
    code, out, _ = _scan_cli(
        tag,
        "--dockerfile",
        str(ctx),
        "-f",
        "json",
        "--db",
        str(db),
        "--policy",
        str(policy),
        "--allowed-registry",
        "127.0.0.1:5000",
        "--fail-on",
        "none",
        home=tmp_path,
    )
    assert code == 0
    denied = {v["rule_id"] for v in json.loads(out)["policy"]["violations"]}
    assert {"ORG001", "CKP004"} <= denied


def test_bad_input_exits_2_with_code_and_hint(built: tuple[str, Path], tmp_path: Path) -> None:
    tag, _ = built
    missing = f"ck-no-such-image:{uuid.uuid4().hex[:8]}"
    code, out, err = _scan_cli(missing, home=tmp_path)
    assert out == ""
    assert code == 2 and "CK240" in err and "hint:" in err and "Traceback" not in err
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not a sqlite database at all" * 10)
    code, _, err = _scan_cli(tag, "--db", str(corrupt), home=tmp_path)
    assert code == 2 and "CK282" in err
    code, _, err = _scan_cli(tag, "--policy", str(tmp_path / "nope.rego"), home=tmp_path)
    assert code == 2 and "CK270" in err
    broken = tmp_path / "broken.rego"
    broken.write_text("package broken\ndeny contains v if {\n")
    code, _, err = _scan_cli(tag, "--policy", str(broken), home=tmp_path)
    assert code == 2 and "CK271" in err
    binary = tmp_path / "Dockerfile"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00binary")
    code, _, err = _scan_cli(tag, "--dockerfile", str(binary), home=tmp_path)
    assert code == 2 and "CK108" in err and "Traceback" not in err


def test_200mb_layer_is_scanned_without_error(docker_client: Any, db: Path, tmp_path: Path) -> None:
    """A 200 MB file is skipped by the secret scanner (listed as too large), not loaded, not an error."""
    tag = f"ck-test-scan-big:{uuid.uuid4().hex[:10]}"
    dockerfile = "FROM debian:bookworm-slim\nRUN head -c 200000000 /dev/zero > /blob.bin\n"
    docker_client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=tag, network_mode="host", rm=True, forcerm=True, pull=False
    )
    try:
        code, out, err = _scan_cli(tag, "-f", "json", "--db", str(db), "--fail-on", "none", home=tmp_path)
    finally:
        docker_client.images.remove(tag, force=True)
    assert code == 0, err
    data = json.loads(out)
    assert any(s["path"] == "blob.bin" and s["reason"] == "too_large" for s in data["secrets"]["skipped"])
    assert data["sbom"]["layers"][-1]["size"] >= 200_000_000
    assert "Traceback" not in err


def test_layers_are_read_in_place_from_the_engine_store_as_the_saved_image_has_them(
    docker_client: Any, built: tuple[str, Path]
) -> None:
    """A rescan of a rebuilt image exports nothing: the overlay2 store's folders are the layers."""
    from containerkit.tools import image_fs
    from containerkit.tools.secrets import scan_image_secrets

    tag, _ = built
    image = docker_client.images.get(tag)
    assert image_fs._store_folders(docker_client, image.attrs) is not None  # the engine here is local overlay2
    with image_fs.open_image(docker_client, tag) as stored:
        assert all(src.folder for src in stored._sources)  # no archive was written
        saved_fs = image_fs.ImageFS(_saved(docker_client, tag), owns_archive=True)
        with saved_fs as saved:
            assert stored.image_id == saved.image_id == image.id and stored.config == saved.config
            assert [x.diff_id for x in stored.layers] == [x.diff_id for x in saved.layers]
            for i in range(len(saved.layers)):
                want = {(e.path, e.kind) for e in saved.iter_entries(i) if e.kind not in ("dir", "hardlink")}
                got = {(e.path, e.kind) for e in stored.iter_entries(i) if e.kind not in ("dir", "hardlink")}
                assert got >= want and not {p for p, k in got - want if k != "file"}, i
            # the credentials file, added then deleted: present in its layer, whited out above it
            assert "/root/.aws/credentials" not in stored.merged()
            kinds = [e.kind for e in stored.history("/root/.aws/credentials")]
            assert kinds == ["file", "whiteout"]
            assert stored.read_file("/etc/os-release") == saved.read_file("/etc/os-release")
        report = scan_image_secrets(None, tag, fs=stored)
        deleted = [f for f in report.findings if not f.in_final_image and f.path.lstrip("/") == "root/.aws/credentials"]
        assert deleted and all(AWS_SECRET not in f.redacted for f in deleted), report.findings


def _saved(docker_client: Any, tag: str) -> Path:
    import tempfile

    fd, name = tempfile.mkstemp(suffix=".tar")
    with open(fd, "wb") as out:
        for chunk in docker_client.images.get(tag).save(named=False):
            out.write(chunk)
    return Path(name)
