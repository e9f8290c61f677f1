"""Pure parsers, one per package database format; bytes (or a seekable stream) in, records out.

They never raise on malformed content: a record that cannot be read is left out, so one broken
file cannot hide the rest of an image's packages.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from typing import IO, Any

from containerkit.tools.sbom import _elf

_MAX_NESTED_JAR = 64 * 1024 * 1024


@dataclass(frozen=True)
class Pkg:
    name: str
    version: str
    namespace: str = ""
    source_name: str = ""
    source_version: str = ""
    arch: str = ""


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def parse_os_release(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in _text(data).splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            out[key.strip()] = value.strip().strip("\"'")
    return out


def parse_dpkg_status(data: bytes) -> list[Pkg]:
    """Installed binary packages of a dpkg status file (or one status.d entry)."""
    out: list[Pkg] = []
    for block in re.split(r"\n\s*\n", _text(data)):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
        name, version = fields.get("Package", ""), fields.get("Version", "")
        status = fields.get("Status", "install ok installed")
        if not name or not version or not status.endswith(" installed"):
            continue
        src_name, src_version = name, version
        if src := fields.get("Source"):
            m = re.match(r"^(\S+)(?:\s+\((\S+)\))?", src)
            if m:
                src_name = m.group(1)
                src_version = m.group(2) or version
        out.append(
            Pkg(name, version, source_name=src_name, source_version=src_version, arch=fields.get("Architecture", ""))
        )
    return out


def parse_apk_installed(data: bytes) -> list[Pkg]:
    """Packages of Alpine's /lib/apk/db/installed (P: name, V: version, o: origin, A: arch)."""
    out: list[Pkg] = []
    for block in re.split(r"\n\s*\n", _text(data)):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if len(line) > 2 and line[1] == ":":
                fields.setdefault(line[0], line[2:].strip())
        if fields.get("P") and fields.get("V"):
            out.append(
                Pkg(
                    fields["P"],
                    fields["V"],
                    source_name=fields.get("o", fields["P"]),
                    source_version=fields["V"],
                    arch=fields.get("A", ""),
                )
            )
    return out


def parse_python_metadata(data: bytes) -> Pkg | None:
    """METADATA (dist-info) or PKG-INFO (egg-info): RFC 822 headers with Name and Version."""
    headers = HeaderParser().parsestr(_text(data).split("\n\n", 1)[0])
    name, version = (headers.get("Name") or "").strip(), (headers.get("Version") or "").strip()
    return Pkg(name, version) if name and version else None


def parse_package_json(data: bytes) -> Pkg | None:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    name, version = doc.get("name"), doc.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return None
    if name.startswith("@") and "/" in name:
        scope, _, base = name.partition("/")
        return Pkg(base, version, namespace=scope)
    return Pkg(name, version)


_GEM_FIELD = re.compile(r"""^\s*\w+\.(name|version)\s*=\s*["']([^"']+)["']""", re.M)
_GEM_NEW = re.compile(r"""Gem::Specification\.new\s+do\s*\|\w+\|""")


def parse_gemspec(data: bytes) -> Pkg | None:
    """An installed gem's specification file (specifications/NAME-VERSION.gemspec)."""
    fields: dict[str, str] = {}
    for key, value in _GEM_FIELD.findall(_text(data)):
        fields.setdefault(key, value)
    if fields.get("name") and fields.get("version"):
        return Pkg(fields["name"], fields["version"])
    return None


def parse_composer_installed(data: bytes) -> list[Pkg]:
    """vendor/composer/installed.json: Composer 2 ``{"packages": [...]}`` or Composer 1's list."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return []
    pkgs: Any = doc.get("packages") if isinstance(doc, dict) else doc
    out: list[Pkg] = []
    for p in pkgs if isinstance(pkgs, list) else []:
        if isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("version"), str):
            vendor, _, name = p["name"].partition("/")
            out.append(Pkg(name or vendor, p["version"], namespace=vendor if name else ""))
    return out


def _pom_properties(text: str) -> Pkg | None:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            fields[key.strip()] = value.strip()
    if fields.get("artifactId") and fields.get("version"):
        return Pkg(fields["artifactId"], fields["version"], namespace=fields.get("groupId", ""))
    return None


def _manifest(text: str) -> Pkg | None:
    fields: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").replace("\n ", "").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    name = fields.get("Implementation-Title") or fields.get("Bundle-SymbolicName") or ""
    version = fields.get("Implementation-Version") or fields.get("Bundle-Version") or ""
    group = fields.get("Implementation-Vendor-Id") or fields.get("Bundle-Vendor") or ""
    if name and version:
        return Pkg(name.split(";")[0].strip(), version, namespace=group)
    return None


def parse_jar(stream: IO[bytes], *, depth: int = 0) -> list[Pkg]:
    """Maven coordinates of a jar: its pom.properties files, else its manifest; nested jars once."""
    out: list[Pkg] = []
    try:
        with zipfile.ZipFile(stream) as zf:
            infos = zf.infolist()
            for info in infos:
                if info.filename.startswith("META-INF/maven/") and info.filename.endswith("/pom.properties"):
                    pkg = _pom_properties(_text(zf.read(info)[:65536]))
                    if pkg:
                        out.append(pkg)
            if not out:
                mf = next((i for i in infos if i.filename == "META-INF/MANIFEST.MF"), None)
                if mf is not None and mf.file_size < 1 << 20:
                    pkg = _manifest(_text(zf.read(mf)))
                    if pkg:
                        out.append(pkg)
            if depth == 0:
                for info in infos:
                    if info.filename.endswith((".jar", ".war")) and info.file_size < _MAX_NESTED_JAR:
                        with zf.open(info) as nested:
                            out.extend(parse_jar(nested, depth=1))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError):
        return out
    return out


_GO_MAGIC = b"\xff Go buildinf:"


def _uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(buf):
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


def parse_go_buildinfo(stream: IO[bytes]) -> tuple[str, list[Pkg]] | None:
    """Go version and modules from an ELF binary's .go.buildinfo section (Go 1.18+ inline format)."""
    section = _elf.read_section(stream, ".go.buildinfo", max_size=1 << 20)
    if section is None or not section.startswith(_GO_MAGIC) or len(section) < 32:
        return None
    if not section[15] & 0x2:  # pre-1.18 pointer format: not supported
        return None
    try:
        n, pos = _uvarint(section, 32)
        go_version = section[pos : pos + n].decode("utf-8", "replace")
        n, pos = _uvarint(section, pos + n)
        modinfo = section[pos : pos + n]
    except ValueError:
        return None
    if len(modinfo) >= 33:
        modinfo = modinfo[16:-16]
    mods: list[Pkg] = []
    last: list[str] = []
    for line in modinfo.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if parts[0] in ("mod", "dep") and len(parts) >= 3:
            last = parts
            mods.append(Pkg(parts[1], parts[2]))
        elif parts[0] == "=>" and len(parts) >= 3 and last and mods:
            mods[-1] = Pkg(parts[1], parts[2])  # replaced module: the replacement is what is built in
    return go_version, [m for m in mods if m.version and m.version != "(devel)"]


def parse_cargo_auditable(stream: IO[bytes]) -> list[Pkg] | None:
    """Crates recorded by cargo-auditable in the ELF section .dep-v0 (zlib-compressed JSON)."""
    import zlib

    section = _elf.read_section(stream, ".dep-v0", max_size=8 << 20)
    if section is None:
        return None
    try:
        doc = json.loads(zlib.decompressobj().decompress(section, 64 << 20))
    except (zlib.error, ValueError):
        return None
    out: list[Pkg] = []
    for p in doc.get("packages", []) if isinstance(doc, dict) else []:
        if isinstance(p, dict) and p.get("name") and p.get("version") and p.get("kind", "runtime") == "runtime":
            out.append(Pkg(str(p["name"]), str(p["version"])))
    return out
