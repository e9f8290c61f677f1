"""Walk an image's merged filesystem once and hand each package database to its parser."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from containerkit.tools.image_fs import FileTooLarge, ImageFS, LayerEntry, open_image
from containerkit.tools.sbom import _elf
from containerkit.tools.sbom._parsers import (
    Pkg,
    parse_apk_installed,
    parse_cargo_auditable,
    parse_composer_installed,
    parse_dpkg_status,
    parse_gemspec,
    parse_go_buildinfo,
    parse_jar,
    parse_os_release,
    parse_package_json,
    parse_python_metadata,
)
from containerkit.tools.sbom._purl import purl_for
from containerkit.tools.sbom.models import Component, ComponentType, OsInfo, Sbom

_MAX_META = 4 * 1024 * 1024  # a package database file larger than this is skipped with a warning
_MAX_DB = 64 * 1024 * 1024
_MAX_BINARY = 512 * 1024 * 1024

_DPKG_STATUS = "/var/lib/dpkg/status"
_APK_INSTALLED = "/lib/apk/db/installed"
_PY_META = re.compile(r"\.(?:dist-info/METADATA|egg-info/PKG-INFO|egg-info)$")
_NODE_PKG = re.compile(r"/package\.json$")
_GEMSPEC = re.compile(r"/specifications/[^/]+\.gemspec$")
_COMPOSER = re.compile(r"/vendor/composer/installed\.json$")
_JAR = re.compile(r"\.(?:jar|war|ear|jpi|hpi)$")


def build_sbom(docker_client: Any, image_ref: str, *, workdir: Path | None = None) -> Sbom:
    """SBOM of a local image without running it; ImageNotFound when the engine does not have it."""
    started = time.perf_counter()
    with open_image(docker_client, image_ref, workdir=workdir) as fs:
        sbom = sbom_from_fs(fs, image_ref=image_ref)
    sbom.duration_s = round(time.perf_counter() - started, 3)
    return sbom


def sbom_from_fs(fs: ImageFS, *, image_ref: str = "") -> Sbom:
    """SBOM of an opened image (from the engine or a saved archive)."""
    started = time.perf_counter()
    cat = _Cataloguer(fs)
    cat.run()
    return Sbom(
        image_ref=image_ref,
        image_id=fs.image_id,
        os=cat.os,
        layers=list(fs.layers),
        components=cat.components,
        warnings=cat.warnings,
        duration_s=round(time.perf_counter() - started, 3),
    )


class _Cataloguer:
    def __init__(self, fs: ImageFS) -> None:
        self.fs = fs
        self.os: OsInfo | None = None
        self.components: list[Component] = []
        self.warnings: list[str] = []
        self._seen: set[tuple[str, str]] = set()

    # -- helpers -----------------------------------------------------------------------------

    def _read(self, entry: LayerEntry, limit: int = _MAX_META) -> bytes | None:
        try:
            return self.fs.read_entry(entry, max_bytes=limit)
        except FileTooLarge:
            self.warnings.append(f"skipped {entry.path} ({entry.size} bytes): larger than {limit} bytes")
            return None

    def _add(self, ptype: ComponentType, pkg: Pkg, entry: LayerEntry, *, layer: int | None = None) -> None:
        purl = purl_for(ptype, pkg.name, pkg.version, namespace=pkg.namespace, os=self.os, arch=pkg.arch)
        key = (purl, entry.path)
        if key in self._seen:
            return
        self._seen.add(key)
        idx = entry.layer if layer is None else layer
        info = self.fs.layers[idx]
        self.components.append(
            Component(
                name=pkg.name,
                version=pkg.version,
                type=ptype,
                purl=purl,
                namespace=pkg.namespace,
                source_name=pkg.source_name,
                source_version=pkg.source_version,
                arch=pkg.arch,
                layer_index=idx,
                layer_diff_id=info.diff_id,
                layer_created_by=info.created_by,
                source_file=entry.path,
            )
        )

    # -- the walk ----------------------------------------------------------------------------

    def run(self) -> None:
        self._detect_os()
        self._os_db(_DPKG_STATUS, "deb", parse_dpkg_status)
        self._os_db(_APK_INSTALLED, "apk", parse_apk_installed)
        for entry in self.fs.find(lambda e: True):
            path = entry.path
            if path.startswith("/var/lib/dpkg/status.d/") and not path.endswith(".md5sums"):
                if (data := self._read(entry)) is not None:
                    for pkg in parse_dpkg_status(data):
                        self._add("deb", pkg, entry)
            elif _PY_META.search(path):
                if (data := self._read(entry)) is not None and (py := parse_python_metadata(data)):
                    self._add("pypi", py, entry)
            elif _NODE_PKG.search(path):
                if (data := self._read(entry)) is not None and (js := parse_package_json(data)):
                    self._add("npm", js, entry)
            elif _GEMSPEC.search(path):
                if (data := self._read(entry)) is not None and (gem := parse_gemspec(data)):
                    self._add("gem", gem, entry)
            elif _COMPOSER.search(path):
                if (data := self._read(entry, _MAX_DB)) is not None:
                    for pkg in parse_composer_installed(data):
                        self._add("composer", pkg, entry)
            elif _JAR.search(path):
                self._jar(entry)
            elif entry.is_executable and 1024 <= entry.size <= _MAX_BINARY:
                self._binary(entry)

    def _detect_os(self) -> None:
        for path in ("/etc/os-release", "/usr/lib/os-release"):
            if self.fs.exists(path):
                fields = parse_os_release(self.fs.read_file(path, max_bytes=65536))
                if fields.get("ID"):
                    self.os = OsInfo(
                        id=fields["ID"],
                        version_id=fields.get("VERSION_ID", ""),
                        pretty_name=fields.get("PRETTY_NAME", ""),
                    )
                break
        if self.os and self.os.id == "debian" and self.fs.exists("/etc/debian_version"):
            point = self.fs.read_file("/etc/debian_version", max_bytes=256).decode("ascii", "replace").strip()
            if re.fullmatch(r"[\d.]+", point):
                self.os.version = point

    def _os_db(self, path: str, ptype: ComponentType, parse: Callable[[bytes], list[Pkg]]) -> None:
        """An OS package database is rewritten by every layer that installs packages; a package is
        attributed to the lowest layer from which it has been present, at this version, ever since."""
        if not self.fs.exists(path):
            return
        top = self.fs.entry(path)
        data = self._read(top, _MAX_DB)
        if data is None:
            return
        present_since: dict[tuple[str, str], int] = {}
        versions: list[tuple[int, set[tuple[str, str]]]] = []
        for e in self.fs.history(path):
            if e.kind in ("file", "hardlink") and e.layer < top.layer and (raw := self._read(e, _MAX_DB)) is not None:
                versions.append((e.layer, {(p.name, p.version) for p in parse(raw)}))
        for pkg in parse(data):
            key = (pkg.name, pkg.version)
            since = top.layer
            for layer, names in reversed(versions):
                if key not in names:
                    break
                since = layer
            present_since[key] = since
            self._add(ptype, pkg, top, layer=since)

    def _jar(self, entry: LayerEntry) -> None:
        if entry.size > _MAX_BINARY:
            self.warnings.append(f"skipped {entry.path} ({entry.size} bytes): larger than {_MAX_BINARY} bytes")
            return
        with self.fs.open_entry(entry) as fh:
            for pkg in parse_jar(fh):
                self._add("maven", pkg, entry)

    def _binary(self, entry: LayerEntry) -> None:
        if self.fs.read_head(entry, 4) != _elf.ELF_MAGIC:
            return
        with self.fs.open_entry(entry) as fh:
            go = parse_go_buildinfo(fh)
            if go is not None:
                go_version, mods = go
                if go_version.startswith("go"):
                    self._add("golang", Pkg("stdlib", "v" + go_version[2:].split(" ")[0]), entry)
                for pkg in mods:
                    self._add("golang", pkg, entry)
                return
            crates = parse_cargo_auditable(fh)
            for pkg in crates or []:
                self._add("cargo", pkg, entry)
