"""SBOM and vulnerabilities of images built on the real engine, matched against real OSV records."""

from __future__ import annotations

import io
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from containerkit.tools.image_fs import ImageNotFound
from containerkit.tools.sbom import build_sbom, sbom_to_cyclonedx
from containerkit.tools.vulns import VulnDB, match, merge_external, run_external_scanners
from containerkit.tools.vulns.external import find_scanner

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "osv" / "records"
TAG = uuid.uuid4().hex[:8]

VULNERABLE = """FROM python:3.11-slim
RUN python -m pip install --no-cache-dir --break-system-packages PyYAML==5.3.1 Jinja2==2.11.2 MarkupSafe==1.1.1
"""
CLEAN = """FROM python:3.11-slim
RUN python -m pip install --no-cache-dir --break-system-packages PyYAML==6.0.2 Jinja2==3.1.6
"""
# 200 MB in one layer, half of it posing as package metadata the SBOM must not load
BIG = """FROM debian:bookworm-slim
RUN mkdir -p /usr/lib/python3/dist-packages/huge-1.0.dist-info \\
 && head -c 100000000 /dev/zero > /usr/lib/python3/dist-packages/huge-1.0.dist-info/METADATA \\
 && head -c 100000000 /dev/zero > /blob.bin
"""


def _build(client: Any, dockerfile: str, tag: str) -> str:
    client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=tag, network_mode="host", rm=True, forcerm=True, pull=False
    )
    return tag


@pytest.fixture(scope="module")
def images(docker_client: Any) -> Iterator[dict[str, str]]:
    built: dict[str, str] = {}
    try:
        built["vulnerable"] = _build(docker_client, VULNERABLE, f"ck-test-vuln:{TAG}")
        built["clean"] = _build(docker_client, CLEAN, f"ck-test-clean:{TAG}")
        yield built
    finally:
        for tag in built.values():
            docker_client.images.remove(tag, force=True, noprune=False)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> VulnDB:
    d = VulnDB(tmp_path_factory.mktemp("vulndb") / "vulndb.sqlite")
    d.import_path(FIXTURES)
    return d


def test_vulnerable_image_found_with_ids_fixes_and_layers(
    docker_client: Any, images: dict[str, str], db: VulnDB
) -> None:
    sbom = build_sbom(docker_client, images["vulnerable"])
    pip_layer = next(layer for layer in sbom.layers if "PyYAML==5.3.1" in layer.created_by)
    report = match(sbom, db)
    py = {f.package.lower(): f for f in report.findings if f.ecosystem == "PyPI"}
    assert set(py) == {"pyyaml", "jinja2"}
    assert {py["pyyaml"].id, *py["pyyaml"].aliases} >= {"GHSA-8q59-q68h-6hv4", "CVE-2020-14343"}
    assert (py["pyyaml"].version, py["pyyaml"].fixed_version, py["pyyaml"].severity) == ("5.3.1", "5.4", "CRITICAL")
    assert (py["jinja2"].id, py["jinja2"].fixed_version) == ("GHSA-g3rq-g295-4j3m", "2.11.3")
    assert py["pyyaml"].layer_diff_id == pip_layer.diff_id
    apt = [f for f in report.findings if f.id == "DEBIAN-CVE-2011-3374"]
    assert apt and all(f.layer_index == 0 and f.fixed_version == "" for f in apt)
    assert not [f for f in report.findings if f.id in ("DSA-5514-1", "GHSA-6757-jp84-gxfx", "GHSA-gmj6-6f8f-6699")]
    assert report.counts["CRITICAL"] == 1


def test_clean_image_has_no_python_findings(docker_client: Any, images: dict[str, str], db: VulnDB) -> None:
    sbom = build_sbom(docker_client, images["clean"])
    versions = {c.name.lower(): c.version for c in sbom.components if c.type == "pypi"}
    assert versions["pyyaml"] == "6.0.2" and versions["jinja2"] == "3.1.6"
    report = match(sbom, db)
    assert [f.id for f in report.findings if f.ecosystem == "PyPI"] == []
    assert {f.id for f in report.findings} <= {"DEBIAN-CVE-2011-3374"}  # the base's unfixed apt advisory only


def test_sbom_has_os_packages_with_purls_and_cyclonedx(docker_client: Any, images: dict[str, str]) -> None:
    sbom = build_sbom(docker_client, images["vulnerable"])
    debs = {c.name: c for c in sbom.components if c.type == "deb"}
    assert len(debs) > 50 and "libc6" in debs and debs["libc6"].source_name == "glibc"
    assert debs["libc6"].purl.startswith("pkg:deb/debian/libc6@") and "distro=debian-12" in debs["libc6"].purl
    assert sbom.image_id == docker_client.images.get(images["vulnerable"]).id
    assert '"pkg:pypi/pyyaml@5.3.1"' in sbom_to_cyclonedx(sbom)


def test_external_scanners_are_run_or_skipped_with_a_reason(
    images: dict[str, str], db: VulnDB, docker_client: Any
) -> None:
    report = match(build_sbom(docker_client, images["vulnerable"]), db)
    scans = run_external_scanners(images["vulnerable"], trivy_cache_dir=Path("/nonexistent-trivy-cache"))
    merged = merge_external(report, scans)
    trivy = merged.scanners["trivy"]
    assert not trivy.ran
    expected = "no vulnerability database" if find_scanner("trivy") else "not installed"
    assert expected in trivy.reason
    assert merged.scanners["containerkit"].ran


def test_missing_image_is_a_typed_error(docker_client: Any) -> None:
    with pytest.raises(ImageNotFound) as exc:
        build_sbom(docker_client, f"ck-no-such-image:{TAG}")
    assert exc.value.code == "CK240"


def test_200mb_layer_is_streamed_and_oversized_metadata_skipped(docker_client: Any) -> None:
    tag = _build(docker_client, BIG, f"ck-test-big:{TAG}")
    try:
        tracemalloc.start()
        try:
            sbom = build_sbom(docker_client, tag)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # the layer's bytes: its tar when the image is saved, its files when read in place from the store
        assert max(layer.size for layer in sbom.layers) >= 200_000_000
        assert any("huge-1.0.dist-info/METADATA" in w for w in sbom.warnings)
        assert "huge" not in {c.name for c in sbom.components}
        assert any(c.name == "libc6" for c in sbom.components)
        assert peak < 64 << 20
    finally:
        docker_client.images.remove(tag, force=True)
