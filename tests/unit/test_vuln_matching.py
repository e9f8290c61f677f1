"""OSV range evaluation per ecosystem, the SQLite database, matching and merging external scanners."""

from __future__ import annotations

import http.server
import io
import json
import shutil
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from containerkit.tools.sbom import Component, OsInfo, Sbom
from containerkit.tools.sbom._purl import purl_for
from containerkit.tools.vulns import (
    OsvRecordInvalid,
    UnknownEcosystem,
    VulnDB,
    VulnDbError,
    VulnDbUpdateFailed,
    match,
    merge_external,
)
from containerkit.tools.vulns._versions import affected_fix
from containerkit.tools.vulns.external import ExternalScan, parse_grype_json, parse_trivy_json
from containerkit.tools.vulns.match import ScannerStatus
from containerkit.tools.vulns.osv import OsvAffected

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "osv"


def aff(events: list[dict[str, str]], versions: list[str] | None = None, rtype: str = "ECOSYSTEM") -> OsvAffected:
    return OsvAffected.model_validate({"ranges": [{"type": rtype, "events": events}], "versions": versions or []})


@pytest.mark.parametrize(
    ("eco", "version", "events", "expected"),
    [
        # Debian: epochs, tildes and +debNuM suffixes
        ("Debian:12", "2.36-9+deb12u2", [{"introduced": "0"}, {"fixed": "2.36-9+deb12u3"}], (True, "2.36-9+deb12u3")),
        ("Debian:12", "2.36-9+deb12u10", [{"introduced": "0"}, {"fixed": "2.36-9+deb12u3"}], (False, "")),
        ("Debian:12", "1:2.38.1-5", [{"introduced": "0"}, {"fixed": "2.39-1"}], (False, "")),
        ("Debian:12", "3.0.11-1~deb12u2", [{"introduced": "0"}, {"fixed": "3.0.11-1"}], (True, "3.0.11-1")),
        ("Debian:12", "2.6.1", [{"introduced": "0"}], (True, "")),
        # Alpine revisions
        ("Alpine:v3.18", "3.1.4-r5", [{"introduced": "0"}, {"fixed": "3.1.4-r6"}], (True, "3.1.4-r6")),
        ("Alpine:v3.18", "3.1.4-r10", [{"introduced": "0"}, {"fixed": "3.1.4-r6"}], (False, "")),
        # PEP 440: pre-releases sort before the release, 5.10 after 5.9
        ("PyPI", "5.4b1", [{"introduced": "0"}, {"fixed": "5.4"}], (True, "5.4")),
        ("PyPI", "5.10", [{"introduced": "0"}, {"fixed": "5.9"}], (False, "")),
        ("PyPI", "5.3.1", [{"introduced": "5.1"}, {"fixed": "5.3.1"}], (False, "")),
        # npm semver: a pre-release is below its release; 1.10.0 above 1.9.9
        ("npm", "4.17.21-beta.1", [{"introduced": "0"}, {"fixed": "4.17.21"}], (True, "4.17.21")),
        ("npm", "1.10.0", [{"introduced": "1.0.0"}, {"last_affected": "1.9.9"}], (False, "")),
        ("npm", "1.9.9", [{"introduced": "1.0.0"}, {"last_affected": "1.9.9"}], (True, "")),
        # Go, with and without the v prefix
        ("Go", "v0.17.0", [{"introduced": "0"}, {"fixed": "0.23.0"}], (True, "0.23.0")),
        ("Go", "v0.23.0", [{"introduced": "0"}, {"fixed": "0.23.0"}], (False, "")),
        # Maven: 2.9.10.8 > 2.9.10, qualifiers
        ("Maven", "2.9.10.7", [{"introduced": "2.9.0"}, {"fixed": "2.9.10.8"}], (True, "2.9.10.8")),
        ("Maven", "2.13.0-rc1", [{"introduced": "2.9.0"}, {"fixed": "2.12.7"}], (False, "")),
        ("crates.io", "0.9.9", [{"introduced": "0.9.0"}, {"fixed": "0.10.0"}], (True, "0.10.0")),
        ("RubyGems", "1.13.0.rc1", [{"introduced": "0"}, {"fixed": "1.13.0"}], (True, "1.13.0")),
        ("Packagist", "v2.9.1", [{"introduced": "2.0.0"}, {"fixed": "2.9.2"}], (True, "2.9.2")),
        # two ranges: affected in the second only, fix is that range's
        ("PyPI", "3.1.4", [{"introduced": "3.0.0"}, {"fixed": "3.1.5"}], (True, "3.1.5")),
        ("PyPI", "2.11.2", [{"introduced": "3.0.0"}, {"fixed": "3.1.5"}], (False, "")),
    ],
)
def test_range_evaluation_per_ecosystem(
    eco: str, version: str, events: list[dict[str, str]], expected: tuple[bool, str]
) -> None:
    assert affected_fix(eco, version, aff(events)) == expected


def test_multiple_ranges_and_explicit_versions() -> None:
    a = OsvAffected.model_validate(
        {
            "ranges": [
                {
                    "type": "ECOSYSTEM",
                    "events": [{"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"fixed": "2.3"}],
                },
                {"type": "GIT", "events": [{"introduced": "abc"}, {"fixed": "def"}]},
            ],
            "versions": ["0.5"],
        }
    )
    assert affected_fix("PyPI", "2.1", a) == (True, "2.3")
    assert affected_fix("PyPI", "1.5", a) == (False, "")
    assert affected_fix("PyPI", "0.5", a) == (True, "")


@pytest.fixture
def db(tmp_path: Path) -> VulnDB:
    d = VulnDB(tmp_path / "vulndb.sqlite")
    result = d.import_path(FIXTURES / "records")
    assert result.records == 7
    return d


def comp(ptype: str, name: str, version: str, **kw: str) -> Component:
    os = OsInfo(id="debian", version_id="12", version="12.5")
    return Component(
        name=name,
        version=version,
        type=ptype,  # type: ignore[arg-type]
        purl=purl_for(ptype, name, version, os=os),
        layer_index=1,
        layer_diff_id="sha256:l1",
        layer_created_by="RUN pip install",
        **kw,
    )


def sbom_of(*components: Component) -> Sbom:
    return Sbom(image_ref="t:1", os=OsInfo(id="debian", version_id="12", version="12.5"), components=list(components))


def test_vulnerable_python_packages_found_with_ids_fix_severity_and_layer(db: VulnDB) -> None:
    report = match(sbom_of(comp("pypi", "PyYAML", "5.3.1"), comp("pypi", "Jinja2", "2.11.2")), db)
    by_pkg = {f.package: f for f in report.findings}
    yaml = by_pkg["PyYAML"]
    assert {yaml.id, *yaml.aliases} == {"GHSA-8q59-q68h-6hv4", "PYSEC-2021-142", "CVE-2020-14343"}
    assert (yaml.fixed_version, yaml.severity, yaml.cvss_score) == ("5.4", "CRITICAL", 9.8)
    assert (yaml.layer_diff_id, yaml.layer_created_by) == ("sha256:l1", "RUN pip install")
    jinja = by_pkg["Jinja2"]
    assert (jinja.id, jinja.cves, jinja.fixed_version, jinja.severity) == (
        "GHSA-g3rq-g295-4j3m",
        ["CVE-2020-28493"],
        "2.11.3",
        "MEDIUM",
    )
    assert len(report.findings) == 2  # GHSA-6757 (fixed in 5.3.1) and GHSA-gmj6 (3.x only) do not apply
    assert report.counts["CRITICAL"] == 1 and report.counts["MEDIUM"] == 1


def test_fixed_versions_are_clean(db: VulnDB) -> None:
    report = match(sbom_of(comp("pypi", "pyyaml", "5.4"), comp("pypi", "jinja2", "2.11.3")), db)
    assert report.findings == []
    assert report.components_scanned == 2


def test_debian_matches_on_source_package_and_release(db: VulnDB) -> None:
    apt = comp("deb", "libapt-pkg6.0", "2.6.1", source_name="apt", source_version="2.6.1")
    libc_old = comp("deb", "libc6", "2.36-9+deb12u2", source_name="glibc", source_version="2.36-9+deb12u2")
    libc_new = comp("deb", "libc-bin", "2.36-9+deb12u10", source_name="glibc", source_version="2.36-9+deb12u10")
    report = match(sbom_of(apt, libc_old, libc_new), db)
    got = {(f.package, f.id, f.fixed_version) for f in report.findings}
    assert got == {("libapt-pkg6.0", "DEBIAN-CVE-2011-3374", ""), ("libc6", "DSA-5514-1", "2.36-9+deb12u3")}
    assert "CVE-2023-4911" in next(f for f in report.findings if f.id == "DSA-5514-1").aliases
    other_release = sbom_of(apt)
    other_release.os = OsInfo(id="debian", version_id="13")
    assert match(other_release, db).findings == []


def test_import_zip_export_member_by_member_and_info(tmp_path: Path) -> None:
    export = tmp_path / "all.zip"
    with zipfile.ZipFile(export, "w") as zf:
        for f in sorted((FIXTURES / "records").glob("GHSA-*.json")):
            zf.write(f, f.name)
    db = VulnDB(tmp_path / "z.sqlite")
    result = db.import_path(export)
    assert (result.records, result.sources) == (4, 1)
    info = db.info()
    assert info.advisories == 4 and info.ecosystems == {"PyPI": 4} and info.last_import


@pytest.mark.parametrize("bad", ["truncated.json", "wrong-schema.json"])
def test_corrupt_osv_file_names_the_file_and_stores_nothing(db: VulnDB, tmp_path: Path, bad: str) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(FIXTURES / "bad" / bad, folder / "z-bad.json")
    extra = json.loads((FIXTURES / "records" / "GHSA-g3rq-g295-4j3m.json").read_text())
    extra["id"] = "GHSA-test-only"
    (folder / "a-good.json").write_text(json.dumps(extra))
    with pytest.raises(OsvRecordInvalid) as exc:
        db.import_path(folder)
    assert "z-bad.json" in exc.value.message and exc.value.code == "CK248"
    assert db.info().advisories == 7  # the good record of the failed import was rolled back


def test_corrupt_zip_and_missing_paths(tmp_path: Path) -> None:
    broken = tmp_path / "all.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("X-1.json", "{not json")
    broken.write_bytes(buf.getvalue())
    db = VulnDB(tmp_path / "db.sqlite")
    with pytest.raises(OsvRecordInvalid, match=r"all\.zip!X-1\.json"):
        db.import_path(broken)
    from containerkit.errors import PathNotFound

    with pytest.raises(PathNotFound):
        db.import_path(tmp_path / "nope")
    with pytest.raises(VulnDbError):
        VulnDB(tmp_path / "never-created.sqlite").info()
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(VulnDbError):
        VulnDB(garbage).info()


@pytest.fixture
def osv_server(tmp_path: Path) -> Iterator[str]:
    """A local stand-in for the OSV export bucket: /PyPI/all.zip."""
    root = tmp_path / "bucket"
    (root / "PyPI").mkdir(parents=True)
    with zipfile.ZipFile(root / "PyPI" / "all.zip", "w") as zf:
        for f in sorted((FIXTURES / "records").glob("GHSA-*.json")):
            zf.write(f, f.name)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **kw: object) -> None:
            super().__init__(*a, directory=str(root), **kw)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_update_downloads_exports_and_fails_clearly_when_unreachable(tmp_path: Path, osv_server: str) -> None:
    db = VulnDB(tmp_path / "u.sqlite")
    assert db.update(["PyPI"], base_url=osv_server).records == 4
    assert db.info().last_update
    with pytest.raises(VulnDbUpdateFailed, match=r"npm/all\.zip"):
        db.update(["npm"], base_url=osv_server)  # 404
    with pytest.raises(VulnDbUpdateFailed):
        db.update(["PyPI"], base_url="http://127.0.0.1:9", timeout=5)
    with pytest.raises(UnknownEcosystem):
        db.update(["CPAN"], base_url=osv_server)


TRIVY_JSON = {
    "Results": [
        {
            "Target": "Python",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2020-14343",
                    "PkgName": "PyYAML",
                    "InstalledVersion": "5.3.1",
                    "FixedVersion": "5.4",
                    "Severity": "CRITICAL",
                    "Layer": {"DiffID": "sha256:l1"},
                    "CVSS": {"nvd": {"V3Score": 9.8}},
                },
                {
                    "VulnerabilityID": "CVE-2099-0001",
                    "PkgName": "MarkupSafe",
                    "InstalledVersion": "1.1.1",
                    "Severity": "LOW",
                },
            ],
        }
    ]
}
GRYPE_JSON = {
    "matches": [
        {
            "vulnerability": {"id": "GHSA-g3rq-g295-4j3m", "severity": "Medium", "fix": {"versions": ["2.11.3"]}},
            "relatedVulnerabilities": [{"id": "CVE-2020-28493"}],
            "artifact": {
                "name": "jinja2",
                "version": "2.11.2",
                "purl": "pkg:pypi/jinja2@2.11.2",
                "locations": [{"path": "/x"}],
            },
        }
    ]
}


def test_external_findings_merge_by_package_and_alias(db: VulnDB) -> None:
    report = match(sbom_of(comp("pypi", "PyYAML", "5.3.1"), comp("pypi", "Jinja2", "2.11.2")), db)
    scans = [
        ExternalScan(
            scanner="trivy",
            status=ScannerStatus(ran=True, findings=2),
            findings=parse_trivy_json(json.dumps(TRIVY_JSON)),
        ),
        ExternalScan(
            scanner="grype",
            status=ScannerStatus(ran=True, findings=1),
            findings=parse_grype_json(json.dumps(GRYPE_JSON)),
        ),
        ExternalScan(scanner="osv-other", status=ScannerStatus(ran=False, reason="not installed")),
    ]
    merged = merge_external(report, scans)
    who = {f.id: sorted(f.scanners) for f in merged.findings}
    assert who == {
        "GHSA-8q59-q68h-6hv4": ["containerkit", "trivy"],
        "GHSA-g3rq-g295-4j3m": ["containerkit", "grype"],
        "CVE-2099-0001": ["trivy"],
    }
    assert merged.scanners["osv-other"].reason == "not installed"
    assert merged.counts["LOW"] == 1


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[tuple[CliRunner, dict[str, str]]]:
    from containerkit import cli as cli_mod
    from containerkit.cli import Environment

    environ = {"CONTAINERKIT_HOME": str(tmp_path / "home"), "CONTAINERKIT_PULL_POLICY": "never"}
    cli_mod._ENV.append(Environment(environ=environ))
    yield CliRunner(), environ
    cli_mod._ENV.pop()


def test_cli_db_import_info_and_corrupt_file(cli: tuple[CliRunner, dict[str, str]]) -> None:
    from containerkit.cli import app, current_env

    runner, _ = cli
    env = current_env()
    out = io.StringIO()
    env.stdout = env.stderr = out
    res = runner.invoke(app, ["db", "import", str(FIXTURES / "records"), "--json"])
    assert res.exit_code == 0, out.getvalue()
    assert json.loads(out.getvalue().splitlines()[0])["records"] == 7
    out.seek(0)
    out.truncate()
    res = runner.invoke(app, ["db", "import", str(FIXTURES / "bad" / "truncated.json")])
    assert res.exit_code == 2
    assert "CK248" in out.getvalue() and "truncated.json" in out.getvalue() and "Traceback" not in out.getvalue()
    out.seek(0)
    out.truncate()
    res = runner.invoke(app, ["db", "info", "--json"])
    assert res.exit_code == 0 and json.loads(out.getvalue())["advisories"] == 7
