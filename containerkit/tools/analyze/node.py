"""Node modules: package manager from the lockfile, engine version, framework, start and build scripts."""

from __future__ import annotations

import re
import shlex
from typing import Any

import yaml

from containerkit.tools.analyze._common import Found, ModuleDir, port_command
from containerkit.tools.analyze.models import ModuleAnalysis

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
# Order matters: a Next app also depends on react, a Nest app on express, an Astro site on vite.
_FRAMEWORKS = (
    ("next", "next"),
    ("nuxt", "nuxt"),
    ("@remix-run/node", "remix"),
    ("@remix-run/serve", "remix"),
    ("@remix-run/dev", "remix"),
    ("astro", "astro"),
    ("@sveltejs/kit", "sveltekit"),
    ("@nestjs/core", "nest"),
    ("express", "express"),
    ("fastify", "fastify"),
    ("koa", "koa"),
    ("hono", "hono"),
    ("vite", "vite"),
)
_DEFAULT_PORTS = {"next": 3000, "nuxt": 3000, "remix": 3000, "nest": 3000, "sveltekit": 3000, "astro": 4321}
_STATIC_PORT = 8080
_SERVES = re.compile(r"\.listen\(|createServer\(|Bun\.serve\(|serve\(\{|NestFactory")
_ENTRY_CANDIDATES = (
    "server.js",
    "index.js",
    "app.js",
    "main.js",
    "server.mjs",
    "index.mjs",
    "src/server.js",
    "src/index.js",
    "src/app.js",
    "src/main.js",
)
_SYSTEM = {
    "canvas": (
        ["libcairo2", "libpango-1.0-0", "libjpeg62-turbo", "libgif7", "librsvg2-2"],
        ["python3", "make", "g++", "libcairo2-dev", "libpango1.0-dev", "libjpeg-dev", "libgif-dev", "librsvg2-dev"],
    ),
    "better-sqlite3": ([], ["python3", "make", "g++"]),
    "fluent-ffmpeg": (["ffmpeg"], []),
    "puppeteer": (["chromium"], []),
    "prisma": (["openssl"], []),
    "@prisma/client": (["openssl"], []),
}


def _scripts(pkg: dict[str, Any]) -> dict[str, str]:
    raw = pkg.get("scripts") or {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _deps(pkg: dict[str, Any], key: str) -> dict[str, str]:
    raw = pkg.get(key) or {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _package_manager(d: ModuleDir, pkg: dict[str, Any]) -> tuple[str, str | None]:
    pm, lockfile = "npm", None
    for lock, manager in _LOCKS:
        if d.has(lock):
            pm, lockfile = manager, lock
            d.say(lock, f"{manager} lockfile")
            break
    declared = pkg.get("packageManager")
    if isinstance(declared, str) and declared.split("@", 1)[0] in {"npm", "yarn", "pnpm", "bun"}:
        pm = declared.split("@", 1)[0]
        d.say("package.json", f"packageManager {declared}")
    return pm, lockfile


def _version(d: ModuleDir, pkg: dict[str, Any]) -> str | None:
    v = d.version_file((".nvmrc", ".node-version"), r"(\d+)")
    if v:
        return v
    if m := re.search(r"^nodejs\s+(\d+)", d.read(".tool-versions", 4096), re.M):
        d.say(".tool-versions", f"nodejs {m.group(1)}")
        return m.group(1)
    engines = pkg.get("engines") or {}
    if isinstance(engines, dict) and isinstance(engines.get("node"), str):
        m = re.search(r"(\d+)", engines["node"])
        if m:
            d.say("package.json", f"engines.node {engines['node']}")
            return m.group(1)
    return None


def workspace_globs(d: ModuleDir, pkg: dict[str, Any]) -> list[str] | None:
    """npm/yarn/bun `workspaces` or pnpm-workspace.yaml member globs; None when not a workspace root."""
    ws = pkg.get("workspaces")
    if isinstance(ws, dict):
        ws = ws.get("packages")
    if isinstance(ws, list) and ws:
        d.say("package.json", f"workspaces {', '.join(map(str, ws))}")
        return [str(g) for g in ws]
    if d.has("pnpm-workspace.yaml"):
        try:
            data = yaml.safe_load(d.read("pnpm-workspace.yaml")) or {}
        except yaml.YAMLError:
            data = {}
        globs = [str(g) for g in (data.get("packages") or [])] if isinstance(data, dict) else []
        if globs:
            d.say("pnpm-workspace.yaml", f"packages {', '.join(globs)}")
            return globs
    return None


def _entry(d: ModuleDir, pkg: dict[str, Any], scripts: dict[str, str]) -> str | None:
    for key in ("start:prod", "start"):
        m = re.match(r"^\s*node\s+(?:--?\S+\s+)*([\w./@-]+\.[cm]?[jt]s|[\w./-]+)\b", scripts.get(key, ""))
        if m:
            target = m.group(1)
            for cand in (target, f"{target}.js"):
                if d.has(cand) or ("build" in scripts and cand.startswith(("dist/", "build/", "./dist/"))):
                    return cand.removeprefix("./")
    main = pkg.get("main")
    if isinstance(main, str) and (d.has(main.removeprefix("./")) or "build" in scripts):
        return main.removeprefix("./")
    return d.first(*_ENTRY_CANDIDATES)


def _start(d: ModuleDir, pm: str, scripts: dict[str, str], entry: str | None, framework: str | None) -> str | None:
    for key in ("start:prod", "start"):
        script = scripts.get(key)
        if script and re.match(r"^\s*node\s", script):
            return " ".join(shlex.split(script))  # run node directly: PID 1 gets signals, no npm wrapper
        if script and key == "start" and not re.search(r"\b(nodemon|ts-node-dev|vite)\b|--watch", script):
            return f"{pm} start" if pm != "bun" else "bun run start"
    if framework == "next":
        return "npx next start"
    if framework == "nuxt":
        return "node .output/server/index.mjs"
    if entry and (framework or _SERVES.search(d.read(entry))):
        return f"node {entry}"
    return None


def detect_node(d: ModuleDir) -> Found | None:
    if not d.has("package.json"):
        return None
    pkg = d.json_object("package.json")
    d.say("package.json", "node package")
    pm, lockfile = _package_manager(d, pkg)
    version = _version(d, pkg)
    deps = _deps(pkg, "dependencies")
    dev = _deps(pkg, "devDependencies")
    framework = next((fw for dep, fw in _FRAMEWORKS if dep in deps or dep in dev), None)
    if framework:
        d.say("package.json", f"depends on {framework}")
    scripts = _scripts(pkg)
    build = (f"{pm} run build" if pm != "npm" else "npm run build") if "build" in scripts else None
    entry = _entry(d, pkg, scripts)
    static_dir: str | None = None
    start = _start(d, pm, scripts, entry, framework)
    has_node_adapter = any(k.startswith(("@astrojs/node", "@sveltejs/adapter-node")) for k in deps | dev)
    static_build = framework == "vite" or (framework in {"astro", "sveltekit"} and not has_node_adapter)
    if static_build and build:  # a static build: the output folder is served, nothing runs in node
        static_dir = "build" if framework == "sveltekit" else "dist"
        start = None
        d.say("package.json", f"static build into {static_dir}/")
    if web := d.procfile_web():
        start = port_command(web, _DEFAULT_PORTS.get(framework or "", 3000))
    members = workspace_globs(d, pkg)
    is_library = start is None and static_dir is None
    sources = [s for s in [entry] if s and d.has(s)] + d.sources("src", (".js", ".ts", ".mjs"), 12)
    runtime: set[str] = set()
    build_pkgs: set[str] = set()
    for dep in deps:
        if dep in _SYSTEM:
            runtime.update(_SYSTEM[dep][0])
            build_pkgs.update(_SYSTEM[dep][1])
            d.say("package.json", f"{dep} needs system packages")
    m = ModuleAnalysis(
        path=d.rel,
        name=str(pkg.get("name") or d.name),
        language="node",
        language_version=version,
        package_manager=pm,
        framework=framework,
        port=_STATIC_PORT if static_dir else None,
        start_command=start,
        build_command=build,
        entrypoint=entry,
        dependency_files=["package.json"] + ([lockfile] if lockfile else []),
        lockfile=lockfile,
        system_packages=sorted(runtime),
        build_packages=sorted(build_pkgs),
        dependencies=sorted(deps),
        static_dir=static_dir,
        is_library=is_library,
    )
    default = None if is_library else _DEFAULT_PORTS.get(framework or "", 3000)
    d.finish(m, sources=sources, default_port=default)
    return Found(
        m,
        ids={str(pkg.get("name") or "")} - {""},
        refs=set(deps) | set(dev),
        members=members,
        aggregator=members is not None,
        rank=1,
    )
