"""Node modules: package manager from the lockfile, engine version, framework, start and build scripts."""

from __future__ import annotations

import re
import shlex
from typing import Any

from containerkit.tools.analyze._common import Found, ModuleDir, port_command
from containerkit.tools.analyze._nodeweb import (
    dev_tool,
    nx_server,
    output_dir,
    pm_version,
    script_commands,
    tool_package,
)
from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.analyze.native import native_needs

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
    ("@hapi/hapi", "hapi"),
    ("restify", "restify"),
    ("@angular/core", "angular"),
    ("react-scripts", "cra"),
    ("@vue/cli-service", "vue-cli"),
    ("gatsby", "gatsby"),
    ("vite", "vite"),
)
_SERVER_FRAMEWORKS = frozenset(
    {"next", "nuxt", "remix", "nest", "express", "fastify", "koa", "hono", "hapi", "restify"}
)
_STATIC_FRAMEWORKS = frozenset({"angular", "cra", "vue-cli", "gatsby", "vite"})
_DEFAULT_PORTS = {"next": 3000, "nuxt": 3000, "remix": 3000, "nest": 3000, "sveltekit": 3000, "astro": 4321}
_STATIC_PORT = 8080
_SERVES = re.compile(
    r"\.listen\(|createServer\(|Bun\.serve\(|serve\(\{|NestFactory|\bexpress\(\)|\bfastify\(|new Koa\(|new Hono\(|"
    r"Hapi\.server\(|\bhttp\.Server\("
)
_ENTRY_CANDIDATES = (
    "server.js",
    "index.js",
    "app.js",
    "main.js",
    "server.mjs",
    "index.mjs",
    "app.mjs",
    "server.cjs",
    "index.cjs",
    "src/server.js",
    "src/index.js",
    "src/app.js",
    "src/main.js",
    "src/server.mjs",
    "src/index.mjs",
    "bin/www",
)
# TypeScript sources and the file their build writes (tsc keeps the layout below rootDir/src).
_TS_ENTRIES = (
    ("src/main.ts", "dist/main.js"),
    ("src/index.ts", "dist/index.js"),
    ("src/server.ts", "dist/server.js"),
    ("src/app.ts", "dist/app.js"),
    ("index.ts", "dist/index.js"),
    ("server.ts", "dist/server.js"),
    ("main.ts", "dist/main.js"),
)


def _scripts(pkg: dict[str, Any]) -> dict[str, str]:
    raw = pkg.get("scripts") or {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _deps(pkg: dict[str, Any], key: str) -> dict[str, str]:
    raw = pkg.get(key) or {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _package_manager(d: ModuleDir, pkg: dict[str, Any]) -> tuple[str, str | None, str | None, list[str]]:
    """(package manager, lockfile, its version, extra files its install reads)."""
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
    if pm == "npm" and lockfile is None and d.has(".yarnrc.yml"):
        pm = "yarn"
    version, extra = pm_version(d, pm, lockfile, declared if isinstance(declared, str) else None)
    return pm, lockfile, version, extra


def _version(d: ModuleDir, pkg: dict[str, Any]) -> tuple[str | None, list[str]]:
    """The Node major the project names first, and every constraint it states (for the catalog)."""
    constraints: list[str] = []
    found: str | None = None
    for vf in (".nvmrc", ".node-version"):
        text = d.read(vf, 256).strip().removeprefix("v")
        if m := re.match(r"(\d+)(?:\.\d+)*", text):
            constraints.append(f"{vf}: {m.group(0)}")
            d.say(vf, f"node {m.group(0)}")
            found = found or m.group(1)
    if m := re.search(r"^nodejs\s+v?(\d+)(\S*)", d.read(".tool-versions", 4096), re.M):
        d.say(".tool-versions", f"nodejs {m.group(1)}{m.group(2)}")
        constraints.append(f".tool-versions: {m.group(1)}{m.group(2)}")
        found = found or m.group(1)
    engines = pkg.get("engines") or {}
    if isinstance(engines, dict) and isinstance(engines.get("node"), str) and engines["node"].strip() not in ("", "*"):
        d.say("package.json", f"engines.node {engines['node']}")
        constraints.append(f"engines.node: {engines['node'].strip()}")
        if found is None and (m := re.search(r"(\d+)", engines["node"])):
            found = m.group(1)
    volta = pkg.get("volta") or {}
    if isinstance(volta, dict) and isinstance(volta.get("node"), str):
        d.say("package.json", f"volta.node {volta['node']}")
        constraints.append(f"volta.node: {volta['node']}")
        found = found or (m.group(1) if (m := re.match(r"(\d+)", volta["node"])) else None)
    return found, constraints


def workspace_globs(d: ModuleDir, pkg: dict[str, Any]) -> list[str] | None:
    """npm/yarn/bun `workspaces` or pnpm-workspace.yaml member globs; None when not a workspace root."""
    ws = pkg.get("workspaces")
    if isinstance(ws, dict):
        ws = ws.get("packages")
    if isinstance(ws, list) and ws:
        d.say("package.json", f"workspaces {', '.join(map(str, ws))}")
        return [str(g) for g in ws]
    if d.has("pnpm-workspace.yaml"):
        import yaml  # only workspaces pay for it

        try:
            data = yaml.safe_load(d.read("pnpm-workspace.yaml")) or {}
        except yaml.YAMLError:
            data = {}
        globs = [str(g) for g in (data.get("packages") or [])] if isinstance(data, dict) else []
        if globs:
            d.say("pnpm-workspace.yaml", f"packages {', '.join(globs)}")
            return globs
    return None


def _resolve_scripts(scripts: dict[str, str], key: str, depth: int = 0) -> list[list[str]]:
    """The commands a script runs, with `npm run X` / `yarn X` / `pnpm X` expanded (one level deep)."""
    out: list[list[str]] = []
    for argv in script_commands(scripts.get(key, "")):
        if depth < 2 and argv[0] in ("npm", "yarn", "pnpm", "bun") and len(argv) > 1:
            sub = argv[2] if argv[1] in ("run", "run-script") and len(argv) > 2 else argv[1]
            if sub in scripts and sub != key:
                out += _resolve_scripts(scripts, sub, depth + 1)
                continue
        out.append(argv)
    return out


def _bin(pkg: dict[str, Any]) -> str | None:
    b = pkg.get("bin")
    if isinstance(b, str):
        return b
    if isinstance(b, dict) and b:
        return str(next(iter(b.values())))
    return None


def _entry(d: ModuleDir, pkg: dict[str, Any], scripts: dict[str, str]) -> str | None:
    """The file node runs: from the start script, `main`, `bin`, then the conventional names."""
    builds = "build" in scripts
    for key in ("start:prod", "start"):
        for argv in _resolve_scripts(scripts, key)[-1:]:
            tool = dev_tool(argv)
            target = tool.target if tool.kind == "watch" else (argv[-1] if argv[0] == "node" else None)
            if not target:
                continue
            target = _process_file_script(d, target.removeprefix("./"))
            for cand in (target, f"{target}.js", f"{target}/index.js"):
                if d.has(cand) or (builds and cand.startswith(("dist/", "build/", "out/", "lib/"))):
                    return cand
    for field, value in (("main", pkg.get("main")), ("bin", _bin(pkg))):
        if isinstance(value, str) and value.strip():
            cand = value.strip().removeprefix("./")
            if d.has(cand) or (builds and cand.startswith(("dist/", "build/", "lib/", "out/"))):
                d.say("package.json", f"{field} {cand}")
                return cand
            if d.has(f"{cand}.js"):
                return f"{cand}.js"
    if found := d.first(*_ENTRY_CANDIDATES):
        return found
    if builds:
        for src, out in _TS_ENTRIES:
            if d.has(src):
                d.say(src, f"TypeScript entry, built into {out}")
                return out
    return None


def _process_file_script(d: ModuleDir, target: str) -> str:
    """pm2/forever process files (ecosystem.config.js|json) name the script they run."""
    if not re.search(r"(?:^|/)(?:ecosystem|pm2|process)[\w.-]*\.(?:json|c?js|ya?ml)$", target):
        return target
    m = re.search(r"""["']?script["']?\s*:\s*["']([^"']+)["']""", d.read(target, 64 * 1024))
    if m is None:
        return target
    d.say(target, f"runs {m.group(1)}")
    return m.group(1).removeprefix("./")


_NOT_APP_CODE = re.compile(
    r"(?:^|/)(?:tests?|__tests__|spec|e2e|examples?|templates?|scripts|fixtures|docs|benchmarks?)/|\.(?:test|spec)\.[cm]?[jt]s$"
)
"""Files whose servers are samples, fixtures or tests, not the app's."""


def _install_scripts_need_source(d: ModuleDir, scripts: dict[str, str]) -> bool:
    """The package's own install lifecycle (preinstall, install, postinstall, prepare) runs a
    build or a file of the repository: the install needs the source, not the manifests alone."""
    for key in ("preinstall", "install", "postinstall", "prepare"):
        script = scripts.get(key, "")
        commands = [c for c in script_commands(script) if c[0] not in ("husky", "is-ci", "echo", "true", "exit")]
        if commands:
            d.say("package.json", f"{key} runs {script!r}: the source is copied before the install")
            return True
    return False


def _prisma_schema(d: ModuleDir, pkg: dict[str, Any], deps: dict[str, str], dev: dict[str, str]) -> str | None:
    """The Prisma schema of an app using the Prisma client (its code imports a generated client)."""
    if "@prisma/client" not in deps and "prisma" not in deps | dev:
        return None
    conf = pkg.get("prisma")
    declared = conf.get("schema") if isinstance(conf, dict) else None
    names = [declared.removeprefix("./")] if isinstance(declared, str) else []
    return d.first(*names, "prisma/schema.prisma", "schema.prisma", "src/prisma/schema.prisma")


def _serves(d: ModuleDir, entry: str | None) -> bool:
    """The entry (or, when it only loads other files, any source of the module) starts a server."""
    if entry and _SERVES.search(d.read(entry)):
        return True
    files = [f for f in d.sources(".", (".js", ".mjs", ".cjs", ".ts"), 40) if not _NOT_APP_CODE.search(f)]
    return any(_SERVES.search(d.read(f)) for f in files[:30] if f != entry)


def _built(entry: str, scripts: dict[str, str]) -> bool:
    """The build script compiles the sources into the folder ``entry`` is in (tsc, babel, esbuild, swc)."""
    compiles = any(
        c and c[0] in ("tsc", "babel", "esbuild", "swc", "tsup", "rollup", "webpack")
        for c in _resolve_scripts(scripts, "build")
    )
    return compiles and entry.startswith(("dist/", "build/", "lib/", "out/"))


class _Start:
    """What the start script means for the image: the command, a build it implies, a static output."""

    def __init__(self) -> None:
        self.command: str | None = None
        self.static = False
        self.static_dir: str | None = None
        self.extra_build: str | None = None
        self.keep_dev = False


def _start(
    d: ModuleDir,
    pm: str,
    scripts: dict[str, str],
    entry: str | None,
    framework: str | None,
    deps: dict[str, str],
    dev: dict[str, str],
) -> _Start:
    out = _Start()
    run = f"{pm} start" if pm != "bun" else "bun run start"
    for key in ("start:prod", "start"):
        script = scripts.get(key)
        if not script:
            continue
        if re.match(r"^\s*node\s", script) and not re.search(r"&&|\|\||;", script):
            argv = shlex.split(script)
            named = argv[-1].removeprefix("./")
            missing = not any(d.has(c) for c in (named, f"{named}.js", f"{named}/index.js"))
            if missing and "build" not in scripts and entry and entry != named and d.has(entry):
                # the script names a file the repository does not have (renamed, moved): run the entry found
                d.say("package.json", f"{key} runs {named}, which does not exist: node {entry} instead")
                out.command = f"node {entry}"
                return out
            out.command = " ".join(argv)  # node directly: PID 1 gets signals, no npm wrapper
            return out
        if key != "start":
            continue
        commands = _resolve_scripts(scripts, key)
        last = commands[-1] if commands else []
        tool = dev_tool(last)
        if tool.kind == "static":
            d.say("package.json", f"start runs {tool.tool} (a dev server): the build output is served instead")
            out.static, out.static_dir = True, tool.target
            return out
        if tool.kind == "watch" and entry and tool.target:
            d.say("package.json", f"start runs {tool.tool} (a watcher): the image runs node {entry}")
            out.command = f"node {entry}"
            return out
        if tool.tool == "nest" and "start" in last and "build" in scripts and "--watch" not in last:
            main = "dist/main.js"
            d.say("package.json", f"start runs the Nest CLI: the image runs the build output, node {main}")
            out.command = f"node {main}"
            return out
        if tool.tool == "nx" and "serve" in last and "build" in scripts and (server := nx_server(d)):
            d.say("package.json", f"start runs nx serve (a dev server): the image runs node {server}")
            out.command = f"node {server}"
            return out
        if tool.tool in ("nuxt", "nuxi") and any(a in last for a in ("start", "preview")):
            d.say("package.json", "start runs the Nuxt CLI: the image runs the built server")
            out.command = "node .output/server/index.mjs"
            return out
        if tool.kind == "next":
            builds_next = any(
                [a for a in c if a != "npx"][:2] == ["next", "build"] for c in _resolve_scripts(scripts, "build")
            )
            if not builds_next:
                out.extra_build = "npx next build"
                d.say("package.json", "next start with no next build: the image runs next build first")
            if tool.target == "dev":
                d.say("package.json", "start runs next dev: the image runs next start on a production build")
                out.command = "npx next start"
                return out
        elif tool.tool in ("ts-node", "tsx", "babel-node", "ts-node-dev") and entry and _built(entry, scripts):
            d.say(
                "package.json", f"start runs {tool.tool} on the source: the image runs the build output, node {entry}"
            )
            out.command = f"node {entry}"
            return out
        elif tool.kind in ("devdep", None) and tool.tool:
            package = tool_package(tool.tool)
            if package in dev and package not in deps and pm != "bun":
                d.say("package.json", f"start runs {tool.tool} from devDependencies: the image keeps them")
                out.keep_dev = True
        if re.search(r"--watch\b", script) and entry:
            out.command = f"node {entry}"
            return out
        out.command = run
        return out
    if framework == "next":
        if "build" not in scripts:
            out.extra_build = "npx next build"
        out.command = "npx next start"
    elif framework == "nuxt":
        out.command = "node .output/server/index.mjs"
    elif framework == "sveltekit" and "build" in scripts and "@sveltejs/adapter-node" in deps | dev:
        d.say("package.json", "SvelteKit with adapter-node: node build")
        out.command = "node build"
    elif framework == "astro" and "build" in scripts and "@astrojs/node" in deps | dev:
        d.say("package.json", "Astro with @astrojs/node: node dist/server/entry.mjs")
        out.command = "node dist/server/entry.mjs"
    elif framework in _STATIC_FRAMEWORKS and "build" in scripts:
        out.static = True
    elif entry and (framework in _SERVER_FRAMEWORKS or _serves(d, entry)):
        d.say("package.json", f"no start script: node {entry}")
        out.command = f"node {entry}"
    return out


def detect_node(d: ModuleDir) -> Found | None:
    if not d.has("package.json"):
        return None
    pkg = d.json_object("package.json")
    d.say("package.json", "node package")
    pm, lockfile, pm_ver, pm_files = _package_manager(d, pkg)
    version, constraints = _version(d, pkg)
    deps = _deps(pkg, "dependencies")
    dev = _deps(pkg, "devDependencies")
    framework = next((fw for dep, fw in _FRAMEWORKS if dep in deps or dep in dev), None)
    if framework:
        d.say("package.json", f"depends on {framework}")
    scripts = _scripts(pkg)
    run = "npm run" if pm == "npm" else f"{pm} run"
    build = f"{run} build" if "build" in scripts else None
    entry = _entry(d, pkg, scripts)
    start = _start(d, pm, scripts, entry, framework, deps, dev)
    static_dir: str | None = None
    has_node_adapter = any(k.startswith(("@astrojs/node", "@sveltejs/adapter-node")) for k in deps | dev)
    out = output_dir(d, framework, set(deps) | set(dev), scripts.get("build", ""))
    static_build = (
        start.static
        or framework == "vite"
        or (framework in {"astro", "sveltekit"} and not has_node_adapter)
        or (framework == "next" and out is not None)
        or (start.command is None and framework in _STATIC_FRAMEWORKS)
    )
    if static_build and build:  # a static build: the output folder is served, nothing runs in node
        static_dir = start.static_dir or out or "dist"
        start.command = None
        d.say("package.json", f"static build into {static_dir}/")
    elif start.static and start.static_dir and d.is_dir(start.static_dir):
        static_dir = start.static_dir  # `serve public` with no build: the committed folder
        start.command = None
    elif start.static and start.command is None:
        start.command = f"{pm} start" if pm != "bun" else "bun run start"  # a dev server and nothing to build
        start.keep_dev = True
        d.say("package.json", "start runs a dev server with no build script: the image keeps devDependencies")
    if start.extra_build:
        build = f"{build} && {start.extra_build}" if build else start.extra_build
    if (schema := _prisma_schema(d, pkg, deps, dev)) and "prisma generate" not in " ".join(scripts.values()):
        d.say(schema, "Prisma schema: the client is generated before the build")
        gen = "npx prisma generate" + (f" --schema {schema}" if schema != "prisma/schema.prisma" else "")
        build = f"{gen} && {build}" if build else gen
    command = start.command
    if web := d.procfile_web():
        command = port_command(web, _DEFAULT_PORTS.get(framework or "", 3000))
    members = workspace_globs(d, pkg)
    is_library = command is None and static_dir is None
    roots = [s for s in [entry] if s and d.has(s)]
    sources = roots + [s for s in d.sources(".", (".js", ".ts", ".mjs", ".cjs"), 30) if s not in roots]
    needs = native_needs("node", set(deps), {}, specs=deps)
    runtime, build_pkgs = set(needs.runtime), set(needs.build)
    for why in needs.reasons:
        d.say("package.json", why)
    m = ModuleAnalysis(
        path=d.rel,
        name=str(pkg.get("name") or d.name),
        language="node",
        language_version=version,
        version_constraints=constraints,
        package_manager=pm,
        package_manager_version=pm_ver,
        framework=framework,
        port=_STATIC_PORT if static_dir else None,
        start_command=command,
        build_command=build,
        entrypoint=entry,
        dependency_files=["package.json"] + ([lockfile] if lockfile else []) + pm_files,
        lockfile=lockfile,
        system_packages=sorted(runtime),
        build_packages=sorted(build_pkgs),
        dependencies=sorted(deps),
        pins={k: v for k, v in deps.items() if re.match(r"^[~^=v]?\d+(\.\d+)*$", v.strip())},
        static_dir=static_dir,
        source_before_install=_install_scripts_need_source(d, scripts),
        dev_dependencies_at_runtime=start.keep_dev and command is not None,
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
