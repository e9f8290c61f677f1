"""The layer reader and the SBOM walk on synthetic image archives (docker-save and OCI layouts)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from containerkit.tools.image_fs import FileTooLarge, ImageArchiveInvalid, ImageFileNotFound, ImageFS
from containerkit.tools.sbom import sbom_from_fs, sbom_to_cyclonedx

Layer = list[tuple[str, bytes | str | None]]  # (path, content | "->target" symlink | None = dir)


def _layer_tar(files: Layer) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, content in files:
            info = tarfile.TarInfo(path)
            if content is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            elif isinstance(content, str) and content.startswith("->"):
                info.type = tarfile.SYMTYPE
                info.linkname = content[2:]
                tar.addfile(info)
            elif isinstance(content, str) and content.startswith("=>"):
                info.type = tarfile.LNKTYPE
                info.linkname = content[2:]
                tar.addfile(info)
            else:
                data = content if isinstance(content, bytes) else content.encode()
                info.size = len(data)
                info.mode = 0o755 if path.startswith("usr/bin/") else 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def make_image(path: Path, layers: list[Layer], *, oci: bool = False, gzip_layers: bool = False) -> Path:
    blobs = [_layer_tar(files) for files in layers]
    diff_ids = ["sha256:" + hashlib.sha256(b).hexdigest() for b in blobs]
    config = json.dumps(
        {
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": f"step {i}"} for i in range(len(blobs))],
        }
    ).encode()
    with tarfile.open(path, "w") as tar:
        if not oci:
            names = []
            for i, blob in enumerate(blobs):
                names.append(f"l{i}/layer.tar")
                _add(tar, names[-1], blob)
            _add(tar, "config.json", config)
            _add(tar, "manifest.json", json.dumps([{"Config": "config.json", "Layers": names}]).encode())
            return path
        layer_descs = []
        for blob in blobs:
            data = gzip.compress(blob) if gzip_layers else blob
            digest = hashlib.sha256(data).hexdigest()
            _add(tar, f"blobs/sha256/{digest}", data)
            layer_descs.append({"digest": f"sha256:{digest}", "size": len(data)})
        cdigest = hashlib.sha256(config).hexdigest()
        _add(tar, f"blobs/sha256/{cdigest}", config)
        manifest = json.dumps({"config": {"digest": f"sha256:{cdigest}"}, "layers": layer_descs}).encode()
        mdigest = hashlib.sha256(manifest).hexdigest()
        _add(tar, f"blobs/sha256/{mdigest}", manifest)
        _add(tar, "index.json", json.dumps({"manifests": [{"digest": f"sha256:{mdigest}"}]}).encode())
    return path


DPKG_BASE = """Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4

Package: apt
Status: install ok installed
Architecture: amd64
Version: 2.6.1
"""
DPKG_MORE = (
    DPKG_BASE
    + """
Package: curl
Status: install ok installed
Architecture: amd64
Version: 7.88.1-10+deb12u5

Package: removed-one
Status: deinstall ok config-files
Version: 1.0
"""
)

LAYERS: list[Layer] = [
    [
        ("etc", None),
        ("etc/os-release", 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'),
        ("etc/debian_version", "12.5\n"),
        ("var/lib/dpkg/status", DPKG_BASE),
        ("secret.txt", "password=hunter2\n"),
        ("cache/a", "a"),
        ("cache/b", "b"),
        ("lib", "->usr/lib"),
        ("usr/lib/python3/dist-packages/yaml-gone.dist-info/METADATA", "Name: gone\nVersion: 1.0\n"),
    ],
    [
        ("var/lib/dpkg/status", DPKG_MORE),
        (".wh.secret.txt", b""),
        ("cache/.wh..wh..opq", b""),
        ("cache/c", "c"),
        ("usr/lib/python3/dist-packages/.wh.yaml-gone.dist-info", b""),
        (
            "usr/local/lib/python3.11/site-packages/PyYAML-5.3.1.dist-info/METADATA",
            "Name: PyYAML\nVersion: 5.3.1\n\nbody",
        ),
        ("usr/local/lib/python3.11/site-packages/old.egg-info", "Metadata-Version: 1.0\nName: old_pkg\nVersion: 0.9\n"),
        ("app/node_modules/@scope/left/package.json", json.dumps({"name": "@scope/left", "version": "1.2.3"})),
        ("app/node_modules/lodash/package.json", json.dumps({"name": "lodash", "version": "4.17.20"})),
        ("app/node_modules/lodash/copy.json", "=>app/node_modules/lodash/package.json"),
        ("app/node_modules/broken/package.json", "{not json"),
    ],
]


@pytest.fixture(params=["docker", "oci", "oci-gzip"])
def image(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return make_image(
        tmp_path / "img.tar", LAYERS, oci=request.param != "docker", gzip_layers=request.param == "oci-gzip"
    )


def test_layers_in_order_with_diff_ids_and_steps(image: Path) -> None:
    with ImageFS.from_archive(image) as fs:
        assert [layer.created_by for layer in fs.layers] == ["step 0", "step 1"]
        assert all(layer.diff_id.startswith("sha256:") for layer in fs.layers)
        assert fs.image_id.startswith("sha256:")


def test_whiteouts_are_visible_per_layer_and_applied_in_merged_view(image: Path) -> None:
    with ImageFS.from_archive(image) as fs:
        kinds = {(e.path, e.kind) for e in fs.iter_entries(1)}
        assert ("/secret.txt", "whiteout") in kinds
        assert ("/cache", "opaque") in kinds
        merged = fs.merged()
        assert "/secret.txt" not in merged
        assert "/cache/a" not in merged and "/cache/c" in merged
        # the deleted file can still be read from the layer that added it (secrets scanning)
        (deleted,) = [e for e in fs.iter_entries(0) if e.path == "/secret.txt"]
        assert fs.read_entry(deleted) == b"password=hunter2\n"
        assert [e.layer for e in fs.history("/var/lib/dpkg/status")] == [0, 1]


def test_read_file_follows_symlinks_hardlinks_and_bounds_size(image: Path) -> None:
    with ImageFS.from_archive(image) as fs:
        assert fs.read_file("/etc/debian_version") == b"12.5\n"
        assert fs.read_file("/etc/os-release").startswith(b"ID=debian")
        assert b"lodash" in fs.read_file("/app/node_modules/lodash/copy.json")
        with pytest.raises(FileTooLarge) as exc:
            fs.read_file("/var/lib/dpkg/status", max_bytes=10)
        assert exc.value.code == "CK242"
        with pytest.raises(ImageFileNotFound):
            fs.read_file("/secret.txt")


def test_sbom_components_layers_and_purls(image: Path) -> None:
    with ImageFS.from_archive(image) as fs:
        sbom = sbom_from_fs(fs, image_ref="test:1")
    by = {(c.type, c.name): c for c in sbom.components}
    assert sbom.os is not None and (sbom.os.id, sbom.os.version_id, sbom.os.version) == ("debian", "12", "12.5")
    libc = by[("deb", "libc6")]
    assert (libc.source_name, libc.layer_index) == ("glibc", 0)
    assert libc.purl == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12.5"
    assert by[("deb", "curl")].layer_index == 1  # installed by the second layer
    assert ("deb", "removed-one") not in by
    assert by[("pypi", "PyYAML")].purl == "pkg:pypi/pyyaml@5.3.1"
    assert by[("pypi", "PyYAML")].layer_created_by == "step 1"
    assert by[("pypi", "old_pkg")].version == "0.9"
    assert ("pypi", "gone") not in by  # deleted by a whiteout
    assert by[("npm", "left")].purl == "pkg:npm/%40scope/left@1.2.3"
    assert by[("npm", "lodash")].source_file == "/app/node_modules/lodash/package.json"
    assert sbom.counts() == {"deb": 3, "npm": 2, "pypi": 2}
    doc = json.loads(sbom_to_cyclonedx(sbom))
    assert doc["bomFormat"] == "CycloneDX"
    purls = {c.get("purl") for c in doc["components"]}
    assert "pkg:pypi/pyyaml@5.3.1" in purls and "pkg:npm/%40scope/left@1.2.3" in purls


def test_corrupt_archives_give_typed_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not a tar" * 100)
    with pytest.raises(ImageArchiveInvalid):
        ImageFS.from_archive(junk)
    no_manifest = tmp_path / "empty.tar"
    with tarfile.open(no_manifest, "w") as tar:
        _add(tar, "hello.txt", b"hi")
    with pytest.raises(ImageArchiveInvalid, match=r"neither manifest\.json nor index\.json"):
        ImageFS.from_archive(no_manifest)
    truncated = tmp_path / "trunc.tar"
    good = make_image(tmp_path / "good.tar", LAYERS)
    truncated.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(ImageArchiveInvalid):
        ImageFS.from_archive(truncated)
    with pytest.raises(ImageArchiveInvalid):
        ImageFS.from_archive(tmp_path / "missing.tar")


def test_large_layer_is_read_in_place_not_in_memory(tmp_path: Path) -> None:
    """A 64 MB file in a layer: listing and the SBOM allocate a small fraction of it."""
    big = tmp_path / "big.tar"
    blob_path = tmp_path / "layer.tar"
    with tarfile.open(blob_path, "w") as tar:
        info = tarfile.TarInfo("data/huge.bin")
        info.size = 64 << 20
        with open("/dev/zero", "rb") as zero:
            tar.addfile(info, zero)
        _add(tar, "usr/lib/python3/dist-packages/x-1.dist-info/METADATA", b"Name: x\nVersion: 1\n")
    config = json.dumps({"rootfs": {"diff_ids": ["sha256:x"]}}).encode()
    with tarfile.open(big, "w") as tar:
        tar.add(blob_path, "l0/layer.tar")
        _add(tar, "config.json", config)
        _add(tar, "manifest.json", json.dumps([{"Config": "config.json", "Layers": ["l0/layer.tar"]}]).encode())
    tracemalloc.start()
    try:
        with ImageFS.from_archive(big) as fs:
            sbom = sbom_from_fs(fs)
            with fs.open_entry(fs.entry("/data/huge.bin")) as fh:
                fh.seek((64 << 20) - 4)
                assert fh.read() == b"\0\0\0\0"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [c.name for c in sbom.components] == ["x"]
    assert peak < 16 << 20


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_long_names_in_every_tar_format(tmp_path: Path, fmt: int) -> None:
    deep = "usr/lib/node_modules/" + "/".join(["d" * 30] * 3) + "/node_modules/pkg/package.json"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        _add(tar, deep, json.dumps({"name": "pkg", "version": "1.0.0"}).encode())
    config = json.dumps({"rootfs": {"diff_ids": ["sha256:x"]}}).encode()
    archive = tmp_path / "img.tar"
    with tarfile.open(archive, "w") as tar:
        _add(tar, "l0/layer.tar", buf.getvalue())
        _add(tar, "config.json", config)
        _add(tar, "manifest.json", json.dumps([{"Config": "config.json", "Layers": ["l0/layer.tar"]}]).encode())
    with ImageFS.from_archive(archive) as fs:
        assert json.loads(fs.read_file("/" + deep))["name"] == "pkg"
        assert [c.purl for c in sbom_from_fs(fs).components] == ["pkg:npm/pkg@1.0.0"]


def test_corrupt_layer_header_is_a_typed_error(tmp_path: Path) -> None:
    good = make_image(tmp_path / "good.tar", LAYERS)
    data = bytearray(good.read_bytes())
    layer_start = data.index(b"etc/os-release")  # a header inside the first layer
    data[layer_start + 120 : layer_start + 140] = b"\xff" * 20
    bad = tmp_path / "bad.tar"
    bad.write_bytes(bytes(data))
    with pytest.raises(ImageArchiveInvalid, match="layer 0"):
        ImageFS.from_archive(bad)


def _layer_folders(root: Path, layers: list[Layer]) -> list[Path]:
    """The layers as overlay2 keeps them unpacked: whiteouts as 0/0 character devices, opaque directories
    marked with the ``trusted.overlay.opaque`` attribute, hardlinks as links (root only: mknod, xattr)."""
    import os

    folders = []
    for i, files in enumerate(layers):
        top = root / f"layer{i}" / "diff"
        top.mkdir(parents=True)
        for path, content in files:
            target = top / path
            target.parent.mkdir(parents=True, exist_ok=True)
            name = target.name
            if name == ".wh..wh..opq":
                os.setxattr(target.parent, "trusted.overlay.opaque", b"y")
            elif name.startswith(".wh."):
                os.mknod(target.parent / name[4:], 0o600 | 0o020000, os.makedev(0, 0))
            elif content is None:
                target.mkdir(exist_ok=True)
            elif isinstance(content, str) and content.startswith("->"):
                target.symlink_to(content[2:])
            elif isinstance(content, str) and content.startswith("=>"):
                os.link(top / content[2:], target)
            else:
                target.write_bytes(content if isinstance(content, bytes) else content.encode())
                target.chmod(0o755 if path.startswith("usr/bin/") else 0o644)
        folders.append(top)
    return folders


def test_layers_read_in_place_from_the_engine_store_match_the_saved_archive(tmp_path: Path) -> None:
    import os

    if os.geteuid() != 0:
        pytest.skip("whiteouts (mknod) and opaque markers (trusted.* xattrs) need root, as the engine's store does")
    archive = make_image(tmp_path / "img.tar", LAYERS)
    folders = _layer_folders(tmp_path / "store", LAYERS)
    with ImageFS.from_archive(archive) as saved:
        config = json.dumps(saved.config).encode()
        with ImageFS.from_layer_folders(config, folders) as stored:
            assert [(x.diff_id, x.created_by) for x in stored.layers] == [
                (x.diff_id, x.created_by) for x in saved.layers
            ]
            kinds = {(e.path, e.kind) for e in stored.iter_entries(1)}
            assert {("/secret.txt", "whiteout"), ("/cache", "opaque")} <= kinds

            def view(fs: ImageFS) -> dict[str, tuple[str, bytes]]:
                out = {}
                for path, e in fs.merged().items():
                    kind = "file" if e.kind == "hardlink" else e.kind
                    body = fs.read_entry(e) if kind == "file" else e.link_target.encode()
                    out[path] = (kind, body)
                return out

            got, want = view(stored), view(saved)
            assert {p: v for p, v in got.items() if v[0] != "dir"} == {p: v for p, v in want.items() if v[0] != "dir"}
            assert "/secret.txt" not in got and "/cache/a" not in got and "/cache/c" in got
            assert sbom_from_fs(stored).components == sbom_from_fs(saved).components
