"""Rust crates: Cargo manifest and workspace, toolchain, web framework, the binary to run."""

from __future__ import annotations

import re
from typing import Any

from containerkit.tools.analyze._common import Found, ModuleDir
from containerkit.tools.analyze.models import ModuleAnalysis

__all__ = ["detect_rust"]

_FRAMEWORKS = (("actix-web", "actix"), ("axum", "axum"), ("rocket", "rocket"), ("warp", "warp"), ("poem", "poem"))
_DEFAULT_PORTS = {"rocket": 8000, "axum": 3000, "actix": 8080}


def _version(d: ModuleDir, package: dict[str, Any]) -> str | None:
    if d.has("rust-toolchain.toml"):
        channel = str((d.toml("rust-toolchain.toml").get("toolchain") or {}).get("channel", ""))
        if m := re.match(r"(\d+\.\d+)", channel):
            d.say("rust-toolchain.toml", f"channel {channel}")
            return m.group(1)
    if m := re.match(r"\s*(\d+\.\d+)", d.read("rust-toolchain", 256)):
        d.say("rust-toolchain", f"toolchain {m.group(1)}")
        return m.group(1)
    rv = package.get("rust-version")
    if isinstance(rv, str) and (m := re.match(r"(\d+\.\d+)", rv)):
        d.say("Cargo.toml", f"rust-version {rv}")
        return m.group(1)
    return None


def detect_rust(d: ModuleDir) -> Found | None:
    if not d.has("Cargo.toml"):
        return None
    cargo = d.toml("Cargo.toml")
    package = cargo.get("package") or {}
    workspace = cargo.get("workspace")
    members = [str(x) for x in (workspace or {}).get("members") or []] if isinstance(workspace, dict) else None
    if members:
        d.say("Cargo.toml", f"workspace members {', '.join(members)}")
    all_deps: dict[str, Any] = {}
    for key in ("dependencies", "dev-dependencies", "build-dependencies"):
        all_deps.update(cargo.get(key) or {})
    runtime_deps: dict[str, Any] = cargo.get("dependencies") or {}
    framework = next((fw for dep, fw in _FRAMEWORKS if dep in runtime_deps), None)
    if framework:
        d.say("Cargo.toml", f"depends on {framework}")
    name = str(package.get("name") or d.name)
    bins = [str(b.get("name")) for b in cargo.get("bin") or [] if isinstance(b, dict) and b.get("name")]
    if d.has("src/main.rs"):
        bins.insert(0, name)
    bins += [f[:-3] for f in d.names("src/bin") if f.endswith(".rs")]
    binary = next((b for b in bins if b == name), bins[0] if bins else None)
    if len(bins) > 1:
        d.say("Cargo.toml", f"binary {binary}; also {', '.join(b for b in bins if b != binary)}")
    paths = {str(v["path"]) for v in all_deps.values() if isinstance(v, dict) and isinstance(v.get("path"), str)}
    system: list[str] = []
    build_pkgs: list[str] = []
    if "openssl" in all_deps or any(
        isinstance(v, dict) and "native-tls" in (v.get("features") or []) for v in all_deps.values()
    ):
        system, build_pkgs = ["libssl3", "ca-certificates"], ["pkg-config", "libssl-dev"]
        d.say("Cargo.toml", "links OpenSSL")
    lock = "Cargo.lock" if d.has("Cargo.lock") else None
    is_app = binary is not None and bool(package)
    m = ModuleAnalysis(
        path=d.rel,
        name=name,
        language="rust",
        language_version=_version(d, package),
        package_manager="cargo",
        framework=framework,
        build_command=(f"cargo build --release --bin {binary}" if len(bins) > 1 else "cargo build --release")
        if is_app
        else None,
        start_command=f"./target/release/{binary}" if is_app else None,
        entrypoint="src/main.rs" if d.has("src/main.rs") else None,
        dependency_files=["Cargo.toml"] + ([lock] if lock else []),
        lockfile=lock,
        dependencies=sorted(runtime_deps),
        system_packages=system,
        build_packages=build_pkgs,
        is_library=not is_app,
    )
    if web := d.procfile_web():
        m.start_command = web
    sources = [f for f in ("src/main.rs",) if d.has(f)] + d.sources("src", (".rs",), 10)
    d.finish(m, sources=sources, default_port=_DEFAULT_PORTS.get(framework or "", 8080) if is_app else None)
    return Found(m, ids={name}, ref_paths=paths, members=members, aggregator=not package, rank=4)
