"""The per-layer cache of the image scanners, on synthetic archives: a rebuilt image (same base
layers, new last layer) is scanned without reading its base layers again, and gives the report a
scan without cache gives: packages removed and files deleted by later layers included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from containerkit.tools.image_fs import ImageFS, LayerEntry
from containerkit.tools.sbom import Sbom, sbom_from_fs
from containerkit.tools.secrets import SecretScanReport, scan_image_secrets
from tests.unit.test_sbom_image_fs import Layer, make_image

AWS_ID = "AKIA" + "Q3EGUV6XMZ7YK2PL"
TOKEN = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
DPKG = "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n"

BASE: Layer = [
    ("etc/os-release", 'ID=debian\nVERSION_ID="12"\n'),
    ("var/lib/dpkg/status", DPKG.format(name="libc6")),
    ("usr/lib/python3/dist-packages/legacy-1.0.dist-info/METADATA", "Name: legacy\nVersion: 1.0\n"),
    ("root/.aws/credentials", f"aws_access_key_id = {AWS_ID}\n"),
    ("usr/share/doc/tool/auth.md", f"token: {TOKEN}\n"),
]
MIDDLE: Layer = [
    ("var/lib/dpkg/status", DPKG.format(name="libc6") + "\n" + DPKG.format(name="curl")),
    ("root/.aws/.wh.credentials", b""),
]


def _app(version: str) -> Layer:
    return [
        ("usr/lib/python3/dist-packages/.wh.legacy-1.0.dist-info", b""),
        ("app/site/flask-3.0.dist-info/METADATA", f"Name: flask\nVersion: {version}\n"),
        ("app/settings.py", f'GITHUB = "{TOKEN}"\nVERSION = "{version}"\n'),
    ]


def _image(tmp_path: Path, name: str, app_version: str) -> Path:
    return make_image(tmp_path / name, [BASE, MIDDLE, _app(app_version)])


def _scan(archive: Path, cache: Path | None) -> tuple[Sbom, SecretScanReport]:
    with ImageFS.from_archive(archive) as fs:
        sbom = sbom_from_fs(fs, image_ref="app", cache_dir=cache)
        secrets = scan_image_secrets(None, "app", fs=fs, cache_dir=cache)
    return sbom, secrets


def _comparable(sbom: Sbom, secrets: SecretScanReport) -> tuple[object, object]:
    return (
        sbom.model_dump(exclude={"duration_s", "image_id"}),
        secrets.model_dump(exclude={"duration_s"}),
    )


@pytest.fixture
def layers_read(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The layer index of every file content the scanners open."""
    seen: list[int] = []
    original = ImageFS.open_entry

    def spy(self: ImageFS, entry: LayerEntry) -> IO[bytes]:
        seen.append(entry.layer)
        return original(self, entry)

    monkeypatch.setattr(ImageFS, "open_entry", spy)
    yield seen


def test_warm_scan_of_a_rebuilt_image_reads_only_its_new_layer_and_reports_the_same(
    tmp_path: Path, layers_read: list[int]
) -> None:
    cache = tmp_path / "cache"
    _scan(_image(tmp_path, "v1.tar", "3.0.0"), cache)  # populates the cache (base + middle + app v1)
    rebuilt = _image(tmp_path, "v2.tar", "3.0.3")
    layers_read.clear()

    warm = _scan(rebuilt, cache)

    assert set(layers_read) == {2}, "base and middle layers must come from the cache"
    assert _comparable(*warm) == _comparable(*_scan(rebuilt, None))


def test_cached_layers_still_see_later_deletions(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _scan(_image(tmp_path, "v1.tar", "3.0.0"), cache)
    sbom, secrets = _scan(_image(tmp_path, "v2.tar", "3.0.3"), cache)

    packages = {(c.type, c.name, c.version, c.layer_index) for c in sbom.components}
    assert ("deb", "libc6", "1.0", 0) in packages and ("deb", "curl", "1.0", 1) in packages
    assert ("pypi", "flask", "3.0.3", 2) in packages
    assert not any(c.name == "legacy" for c in sbom.components)  # whited out by the app layer
    assert sbom.os is not None and sbom.os.id == "debian"

    by_path = {(f.path, f.rule_id): f for f in secrets.findings}
    deleted = by_path[("root/.aws/credentials", "aws-access-key-id")]
    assert deleted.layer is not None and deleted.layer.index == 0
    assert deleted.in_final_image is False
    assert deleted.removed_in_layer is not None and deleted.removed_in_layer.index == 1
    app = by_path[("app/settings.py", "github-token")]
    assert app.in_final_image and app.layer is not None and app.layer.index == 2
    assert not any(f.path.startswith("usr/share/doc/") for f in secrets.findings)
    assert secrets.skipped_documentation == 1


def test_cache_files_hold_no_secret(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _scan(_image(tmp_path, "v1.tar", "3.0.0"), cache)
    files = list((cache / "scan").glob("*.json"))
    assert len(files) == 3  # one per layer, named by diff id
    text = "".join(f.read_text() for f in files)
    for value in (AWS_ID, TOKEN, AWS_ID[4:], TOKEN[4:]):
        assert value not in text


def test_a_rules_change_or_a_corrupt_file_makes_the_layer_read_again(
    tmp_path: Path, layers_read: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    image = _image(tmp_path, "v1.tar", "3.0.0")
    cold = _scan(image, None)
    _scan(image, cache)
    layers_read.clear()
    _scan(image, cache)
    assert layers_read == []  # everything cached

    with monkeypatch.context() as patch:
        patch.setattr("containerkit.tools.secrets.scan.RULES_VERSION", "rules-of-tomorrow")
        assert _comparable(*_scan(image, cache)) == _comparable(*cold)
    assert 0 in layers_read  # secrets re-read the base layer under the new rules

    for f in (cache / "scan").glob("*.json"):
        f.write_text("{not json")
    layers_read.clear()
    assert _comparable(*_scan(image, cache)) == _comparable(*cold)
    assert set(layers_read) == {0, 1, 2}
    assert all(isinstance(json.loads(f.read_text()), dict) for f in (cache / "scan").glob("*.json"))
