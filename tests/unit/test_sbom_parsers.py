"""Package database parsers: OS databases, language metadata, jars, Go build info, cargo-auditable."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib

from containerkit.tools.sbom._parsers import (
    Pkg,
    parse_apk_installed,
    parse_cargo_auditable,
    parse_composer_installed,
    parse_dpkg_status,
    parse_gemspec,
    parse_go_buildinfo,
    parse_jar,
    parse_package_json,
    parse_python_metadata,
)
from containerkit.tools.sbom._purl import purl_for


def elf_with_section(name: str, payload: bytes) -> bytes:
    """A minimal ELF64 little-endian file with one named section (plus .shstrtab)."""
    shstrtab = b"\0" + name.encode() + b"\0.shstrtab\0"
    data_off = 64
    strtab_off = data_off + len(payload)
    shoff = (strtab_off + len(shstrtab) + 7) & ~7
    header = bytearray(64)
    header[:16] = b"\x7fELF\x02\x01\x01" + b"\0" * 9
    struct.pack_into("<HHIQQQIHHHHHH", header, 16, 2, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, 3, 2)
    body = bytearray(header) + payload + shstrtab
    body += b"\0" * (shoff - len(body))
    sections = [
        struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        struct.pack("<IIQQQQIIQQ", 1, 1, 3, 0, data_off, len(payload), 0, 0, 16, 0),
        struct.pack("<IIQQQQIIQQ", 2 + len(name), 3, 0, 0, strtab_off, len(shstrtab), 0, 0, 1, 0),
    ]
    return bytes(body + b"".join(sections))


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def go_buildinfo(go_version: str, modinfo: str) -> bytes:
    sentinel = b"0123456789abcdef"
    mod = sentinel + modinfo.encode() + sentinel
    header = b"\xff Go buildinf:" + bytes([8, 2]) + b"\0" * 16
    return header + _uvarint(len(go_version)) + go_version.encode() + _uvarint(len(mod)) + mod


def test_dpkg_status_keeps_installed_packages_with_source() -> None:
    text = (
        b"Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl (3.0.11-1~deb12u2)\n"
        b"Version: 3.0.11-1~deb12u2\nDescription: x\n more text: here\n\n"
        b"Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n"
        b"Package: bsdutils\nStatus: install ok installed\nSource: util-linux\nVersion: 1:2.38.1-5+b1\n"
    )
    assert parse_dpkg_status(text) == [
        Pkg("libssl3", "3.0.11-1~deb12u2", source_name="openssl", source_version="3.0.11-1~deb12u2", arch="amd64"),
        Pkg("bsdutils", "1:2.38.1-5+b1", source_name="util-linux", source_version="1:2.38.1-5+b1"),
    ]


def test_apk_installed_uses_origin_as_source() -> None:
    text = b"C:Q1abc=\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\no:openssl\n\nP:musl\nV:1.2.4-r2\n"
    assert parse_apk_installed(text) == [
        Pkg("libcrypto3", "3.1.4-r5", source_name="openssl", source_version="3.1.4-r5", arch="x86_64"),
        Pkg("musl", "1.2.4-r2", source_name="musl", source_version="1.2.4-r2"),
    ]


def test_python_metadata_and_node_package_json() -> None:
    assert parse_python_metadata(b"Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.11.2\n\nName: not-this") == Pkg(
        "Jinja2", "2.11.2"
    )
    assert parse_python_metadata(b"garbage") is None
    assert parse_package_json(b'{"name": "@types/node", "version": "20.1.0"}') == Pkg(
        "node", "20.1.0", namespace="@types"
    )
    assert parse_package_json(b'{"name": "x"}') is None
    assert parse_package_json(b"[1, 2]") is None


def test_gemspec_and_composer() -> None:
    spec = b'# -*- encoding: utf-8 -*-\nGem::Specification.new do |s|\n  s.name = "rake".freeze\n  s.version = "13.0.6"\nend\n'
    assert parse_gemspec(spec) == Pkg("rake", "13.0.6")
    v2 = json.dumps({"packages": [{"name": "monolog/monolog", "version": "2.9.1"}]}).encode()
    v1 = json.dumps([{"name": "guzzlehttp/guzzle", "version": "7.5.0"}]).encode()
    assert parse_composer_installed(v2) == [Pkg("monolog", "2.9.1", namespace="monolog")]
    assert parse_composer_installed(v1) == [Pkg("guzzle", "7.5.0", namespace="guzzlehttp")]
    assert parse_composer_installed(b"{broken") == []


def _jar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_jar_pom_properties_manifest_and_nested_jars() -> None:
    inner = _jar(
        {"META-INF/maven/org.yaml/snakeyaml/pom.properties": b"groupId=org.yaml\nartifactId=snakeyaml\nversion=1.33\n"}
    )
    outer = _jar(
        {
            "META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\nImplementation-Title: app\r\nImplementation-Version: 2.0\r\n",
            "BOOT-INF/lib/snakeyaml-1.33.jar": inner,
        }
    )
    assert parse_jar(io.BytesIO(outer)) == [Pkg("app", "2.0"), Pkg("snakeyaml", "1.33", namespace="org.yaml")]
    assert parse_jar(io.BytesIO(b"not a zip")) == []


def test_go_buildinfo_modules_and_replacements() -> None:
    modinfo = (
        "path\texample.com/cmd/app\n"
        "mod\texample.com/app\t(devel)\t\n"
        "dep\tgolang.org/x/net\tv0.17.0\th1:abc=\n"
        "dep\tgithub.com/old/lib\tv1.0.0\th1:def=\n"
        "=>\tgithub.com/new/lib\tv1.2.0\th1:ghi=\n"
    )
    binary = elf_with_section(".go.buildinfo", go_buildinfo("go1.21.5", modinfo))
    parsed = parse_go_buildinfo(io.BytesIO(binary))
    assert parsed == ("go1.21.5", [Pkg("golang.org/x/net", "v0.17.0"), Pkg("github.com/new/lib", "v1.2.0")])
    assert parse_go_buildinfo(io.BytesIO(elf_with_section(".text", b"\x90" * 32))) is None
    assert parse_go_buildinfo(io.BytesIO(b"#!/bin/sh\necho hi\n")) is None
    assert purl_for("golang", "golang.org/x/net", "v0.17.0") == "pkg:golang/golang.org/x/net@v0.17.0"


def test_cargo_auditable_runtime_crates() -> None:
    doc = {
        "packages": [
            {"name": "app", "version": "0.1.0", "source": "local", "root": True},
            {"name": "serde", "version": "1.0.190", "source": "crates.io", "kind": "runtime"},
            {"name": "cc", "version": "1.0.83", "source": "crates.io", "kind": "build"},
        ]
    }
    binary = elf_with_section(".dep-v0", zlib.compress(json.dumps(doc).encode()))
    assert parse_cargo_auditable(io.BytesIO(binary)) == [Pkg("app", "0.1.0"), Pkg("serde", "1.0.190")]
    assert parse_cargo_auditable(io.BytesIO(elf_with_section(".dep-v0", b"not zlib"))) is None
