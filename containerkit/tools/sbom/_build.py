"""Walk an image's merged filesystem once and hand each package database to its parser."""

from __future__ import annotations

import re
import time
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any, cast

from containerkit.tools.image_fs import FileTooLarge, ImageFS, LayerCache, LayerEntry, open_image
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


_FORMAT = 1  # of the cached per-layer records; bump when parsing or _LayerFacts changes
_OS_FILES = ("/etc/os-release", "/usr/lib/os-release", "/etc/debian_version")


def build_sbom(
    docker_client: Any, image_ref: str, *, workdir: Path | None = None, cache_dir: Path | None = None
) -> Sbom:
    """SBOM of a local image without running it; ImageNotFound when the engine does not have it."""
    started = time.perf_counter()
    with open_image(docker_client, image_ref, workdir=workdir) as fs:
        sbom = sbom_from_fs(fs, image_ref=image_ref, cache_dir=cache_dir)
    sbom.duration_s = round(time.perf_counter() - started, 3)
    return sbom


def sbom_from_fs(fs: ImageFS, *, image_ref: str = "", cache_dir: Path | None = None) -> Sbom:
    """SBOM of an opened image (from the engine or a saved archive).

    Each layer is read once for the package records it holds (``_layer_facts``); with ``cache_dir``
    those records are kept per layer (``<cache_dir>/scan/<diff id>.json``), so a layer already
    catalogued is not read again. The components are then chosen on the merged view: a record
    whose file a later layer deleted or replaced does not count.
    """
    started = time.perf_counter()
    cache = LayerCache(cache_dir)
    facts: list[_LayerFacts] = []
    for layer in fs.layers:
        data = cache.get(layer.diff_id, "sbom", str(_FORMAT))
        lf = _LayerFacts.from_json(data) if isinstance(data, dict) else None
        if lf is None:
            lf = _layer_facts(fs, layer.index)
            cache.put(layer.diff_id, "sbom", str(_FORMAT), lf.to_json())
        facts.append(lf)
    cat = _Cataloguer(fs, facts)
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


@dataclass
class _Record:
    """What one file of one layer says: packages of ``kind`` (a purl type, or "os"/"db-deb"/"db-apk"),
    os-release fields, or why it could not be read."""

    kind: str
    pkgs: list[Pkg] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    warning: str = ""


@dataclass
class _LayerFacts:
    records: dict[str, _Record] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            path: {"k": r.kind, "p": [list(astuple(p)) for p in r.pkgs], "f": r.fields, "w": r.warning}
            for path, r in self.records.items()
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _LayerFacts | None:
        try:
            return cls(
                {
                    str(path): _Record(
                        kind=str(r["k"]),
                        pkgs=[Pkg(*(str(x) for x in p)) for p in r["p"]],
                        fields={str(k): str(v) for k, v in r["f"].items()},
                        warning=str(r["w"]),
                    )
                    for path, r in data.items()
                }
            )
        except (KeyError, TypeError, AttributeError, ValueError):
            return None


def _layer_facts(fs: ImageFS, index: int) -> _LayerFacts:
    """The package records of every package database, metadata file and binary in one layer."""
    out = _LayerFacts()

    def read(entry: LayerEntry, kind: str, limit: int = _MAX_META) -> bytes | None:
        try:
            return fs.read_entry(entry, max_bytes=limit)
        except FileTooLarge:
            out.records[entry.path] = _Record(
                kind, warning=f"skipped {entry.path} ({entry.size} bytes): larger than {limit} bytes"
            )
            return None

    for entry in fs.iter_entries(index):
        if entry.kind not in ("file", "hardlink"):
            continue
        path = entry.path
        rec: _Record | None = None
        if path in _OS_FILES:
            if (data := read(entry, "os", 65536)) is not None:
                text = data.decode("utf-8", "replace")
                fields = {"DEBIAN_VERSION": text.strip()} if path == "/etc/debian_version" else parse_os_release(data)
                rec = _Record("os", fields=fields)
        elif path == _DPKG_STATUS:
            if (data := read(entry, "db-deb", _MAX_DB)) is not None:
                rec = _Record("db-deb", parse_dpkg_status(data))
        elif path == _APK_INSTALLED:
            if (data := read(entry, "db-apk", _MAX_DB)) is not None:
                rec = _Record("db-apk", parse_apk_installed(data))
        elif path.startswith("/var/lib/dpkg/status.d/") and not path.endswith(".md5sums"):
            if (data := read(entry, "deb")) is not None:
                rec = _Record("deb", parse_dpkg_status(data))
        elif _PY_META.search(path):
            if (data := read(entry, "pypi")) is not None and (py := parse_python_metadata(data)):
                rec = _Record("pypi", [py])
        elif _NODE_PKG.search(path):
            if (data := read(entry, "npm")) is not None and (js := parse_package_json(data)):
                rec = _Record("npm", [js])
        elif _GEMSPEC.search(path):
            if (data := read(entry, "gem")) is not None and (gem := parse_gemspec(data)):
                rec = _Record("gem", [gem])
        elif _COMPOSER.search(path):
            if (data := read(entry, "composer", _MAX_DB)) is not None:
                rec = _Record("composer", parse_composer_installed(data))
        elif _JAR.search(path):
            if entry.size > _MAX_BINARY:
                rec = _Record("maven", warning=f"skipped {path} ({entry.size} bytes): larger than {_MAX_BINARY} bytes")
            else:
                with fs.open_entry(entry) as fh:
                    rec = _Record("maven", parse_jar(fh))
        elif entry.is_executable and 1024 <= entry.size <= _MAX_BINARY:
            rec = _binary(fs, entry)
        if rec is not None and (rec.pkgs or rec.fields or rec.warning):
            out.records[path] = rec
    return out


def _binary(fs: ImageFS, entry: LayerEntry) -> _Record | None:
    if fs.read_head(entry, 4) != _elf.ELF_MAGIC:
        return None
    with fs.open_entry(entry) as fh:
        go = parse_go_buildinfo(fh)
        if go is not None:
            go_version, mods = go
            pkgs = [Pkg("stdlib", "v" + go_version[2:].split(" ")[0])] if go_version.startswith("go") else []
            return _Record("golang", pkgs + mods)
        crates = parse_cargo_auditable(fh)
        return _Record("cargo", crates) if crates else None


class _Cataloguer:
    def __init__(self, fs: ImageFS, facts: list[_LayerFacts]) -> None:
        self.fs = fs
        self.facts = facts
        self.os: OsInfo | None = None
        self.components: list[Component] = []
        self.warnings: list[str] = []
        self._seen: set[tuple[str, str]] = set()

    def _record(self, entry: LayerEntry) -> _Record | None:
        return self.facts[entry.layer].records.get(entry.path)

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
        self._os_db(_DPKG_STATUS, "deb")
        self._os_db(_APK_INSTALLED, "apk")
        for entry in self.fs.find(lambda e: True):
            rec = self._record(entry)
            if rec is None or rec.kind in ("os", "db-deb", "db-apk"):
                continue
            if rec.warning:
                self.warnings.append(rec.warning)
            for pkg in rec.pkgs:
                self._add(cast(ComponentType, rec.kind), pkg, entry)

    def _os_fields(self, path: str) -> dict[str, str] | None:
        if not self.fs.exists(path):
            return None
        rec = self._record(self.fs.entry(path))
        if rec is not None and rec.warning:
            self.warnings.append(rec.warning)
        return rec.fields if rec is not None else {}

    def _detect_os(self) -> None:
        for path in ("/etc/os-release", "/usr/lib/os-release"):
            fields = self._os_fields(path)
            if fields is None:
                continue
            if fields.get("ID"):
                self.os = OsInfo(
                    id=fields["ID"],
                    version_id=fields.get("VERSION_ID", ""),
                    pretty_name=fields.get("PRETTY_NAME", ""),
                )
            break
        if self.os and self.os.id == "debian":
            point = (self._os_fields("/etc/debian_version") or {}).get("DEBIAN_VERSION", "")
            if re.fullmatch(r"[\d.]+", point):
                self.os.version = point

    def _os_db(self, path: str, ptype: ComponentType) -> None:
        """An OS package database is rewritten by every layer that installs packages; a package is
        attributed to the lowest layer from which it has been present, at this version, ever since."""
        if not self.fs.exists(path):
            return
        top = self.fs.entry(path)
        rec = self._record(top)
        if rec is None or rec.warning:
            if rec is not None:
                self.warnings.append(rec.warning)
            return
        versions: list[tuple[int, set[tuple[str, str]]]] = []
        for e in self.fs.history(path):
            if e.kind in ("file", "hardlink") and e.layer < top.layer:
                old = self._record(e)
                if old is not None and old.warning:
                    self.warnings.append(old.warning)
                elif old is not None:
                    versions.append((e.layer, {(p.name, p.version) for p in old.pkgs}))
                else:  # an empty database: nothing was installed then
                    versions.append((e.layer, set()))
        for pkg in rec.pkgs:
            key = (pkg.name, pkg.version)
            since = top.layer
            for layer, names in reversed(versions):
                if key not in names:
                    break
                since = layer
            self._add(ptype, pkg, top, layer=since)
