"""Node modules: package manager from the lockfile, engine version, framework, start and build scripts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from containerkit.errors import ManifestParseError
from containerkit.tools.analyze._fs import load_json, read_text
from containerkit.tools.analyze._source import find_health_path, find_port
from containerkit.tools.analyze.models import Evidence, ModuleAnalysis

__all__ = ["MARKERS", "detect_node"]

MARKERS = ("package.json",)
_LOCKS = (
    ("package-lock.json", "npm"),
    ("npm-shrinkwrap.json", "npm"),
    ("yarn.lock", "yarn"),
    ("pnpm-lock.yaml", "pnpm"),
    ("bun.lockb", "bun"),
    ("bun.lock", "bun"),
)
# Order matters: a Next app also depends on react, a Nest app on express.
_FRAMEWORKS = (
    ("next", "next"),
    ("nuxt", "nuxt"),
    ("@remix-run/node", "remix"),
    ("@remix-run/serve", "remix"),
    ("astro", "astro"),
    ("@nestjs/core", "nest"),
    ("express", "express"),
    ("fastify", "fastify"),
    ("koa", "koa"),
    ("vite", "vite"),
)
_DEFAULT_PORTS = {"next": 3000, "nuxt": 3000, "remix": 3000, "astro": 4321, "nest": 3000, "vite": 8080}


def detect_node(root: Path, mod_dir: Path, rel: str) -> ModuleAnalysis | None:
    pj_path = mod_dir / "package.json"
    if not pj_path.is_file():
        return None
    rel_pj = "package.json" if rel == "." else f"{rel}/package.json"
    pkg = load_json(pj_path, rel_pj)
    if not isinstance(pkg, dict):
        raise ManifestParseError(f"{rel_pj} must hold a JSON object", hint=f"Fix {rel_pj}.", file=rel_pj)
    ev: list[Evidence] = [Evidence(file="package.json", says="node package")]
    pm, lockfile = "npm", None
    for lock, manager in _LOCKS:
        if (mod_dir / lock).is_file():
            pm, lockfile = manager, lock
            ev.append(Evidence(file=lock, says=f"{manager} lockfile"))
            break
    if isinstance(pkg.get("packageManager"), str):
        pm = pkg["packageManager"].split("@", 1)[0] or pm
        ev.append(Evidence(file="package.json", says=f"packageManager {pkg['packageManager']}"))

    version = _node_version(mod_dir, pkg, ev)
    deps: dict[str, Any] = {**(pkg.get("dependencies") or {})}
    dev_deps: dict[str, Any] = pkg.get("devDependencies") or {}
    framework = next((fw for dep, fw in _FRAMEWORKS if dep in deps or dep in dev_deps), None)
    if framework:
        ev.append(Evidence(file="package.json", says=f"depends on {framework}"))
    scripts: dict[str, str] = {k: str(v) for k, v in (pkg.get("scripts") or {}).items()}
    build = f"{pm} run build" if "build" in scripts else None

    entry = _entry(mod_dir, pkg, scripts)
    start = _start(pm, scripts, entry)
    files = [mod_dir / entry] if entry else []
    hit = find_port(*files)
    if hit:
        port = hit[0]
        ev.append(Evidence(file=hit[1], says=f"listens on {port}"))
    else:
        port = _DEFAULT_PORTS.get(framework or "", 3000)
    dep_files = ["package.json"] + ([lockfile] if lockfile else [])
    return ModuleAnalysis(
        path=rel,
        name=str(pkg.get("name") or (mod_dir.name if mod_dir != root else root.resolve().name)),
        language="node",
        language_version=version,
        package_manager=pm,
        framework=framework,
        port=port,
        start_command=start,
        build_command=build,
        health_path=find_health_path(*files),
        entrypoint=entry,
        dependency_files=dep_files,
        lockfile=lockfile,
        dependencies=sorted(deps),
        confidence=0.9 if start else 0.5,
        evidence=ev,
    )


def _node_version(mod_dir: Path, pkg: dict[str, Any], ev: list[Evidence]) -> str | None:
    for vf in (".nvmrc", ".node-version"):
        if (mod_dir / vf).is_file():
            m = re.search(r"(\d+)", read_text(mod_dir / vf, 200))
            if m:
                ev.append(Evidence(file=vf, says=f"node {m.group(1)}"))
                return m.group(1)
    engines = pkg.get("engines") or {}
    if isinstance(engines, dict) and isinstance(engines.get("node"), str):
        m = re.search(r"(\d+)", engines["node"])
        if m:
            ev.append(Evidence(file="package.json", says=f"engines.node {engines['node']}"))
            return m.group(1)
    return None


def _entry(mod_dir: Path, pkg: dict[str, Any], scripts: dict[str, str]) -> str | None:
    start = scripts.get("start", "")
    m = re.match(r"^\s*node\s+(?:--\S+\s+)*([\w./-]+\.[cm]?js)\b", start)
    if m and (mod_dir / m.group(1)).is_file():
        return m.group(1)
    main = pkg.get("main")
    if isinstance(main, str) and (mod_dir / main).is_file():
        return main
    for c in ("server.js", "index.js", "app.js", "main.js", "src/server.js", "src/index.js", "src/app.js"):
        if (mod_dir / c).is_file():
            return c
    return None


def _start(pm: str, scripts: dict[str, str], entry: str | None) -> str | None:
    start = scripts.get("start")
    if start and re.match(r"^\s*node\s", start):
        return " ".join(shlex.split(start))  # run node directly: PID 1 gets signals, no npm wrapper
    if start:
        return f"{pm} start" if pm != "npm" else "npm start"
    if entry:
        return f"node {entry}"
    return None
