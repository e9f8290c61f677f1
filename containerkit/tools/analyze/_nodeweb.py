"""Node front-ends and package managers: where a build writes its files, which dev tool a start
script runs, and which package-manager version a lockfile was written by.

Read from the project's own configuration (vite.config.*, angular.json, next.config.*, the
lockfile header, `.yarnrc.yml`, `packageManager`), never guessed from the folder name.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from containerkit.tools.analyze._common import ModuleDir

__all__ = ["DevTool", "dev_tool", "output_dir", "pm_version", "script_commands"]

_ENV_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_JS_CONFIG = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts")


def _strip_comments(text: str) -> str:
    return re.sub(
        r'("(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\')|//[^\n]*|/\*.*?\*/', lambda m: m.group(1) or "", text, flags=re.S
    )


def script_commands(script: str) -> list[list[str]]:
    """The commands of an npm script (split on && and ;), each without env assignments and cross-env."""
    out: list[list[str]] = []
    for part in re.split(r"&&|;|\|\|", script):
        try:
            argv = shlex.split(part)
        except ValueError:
            argv = part.split()
        while argv and (_ENV_WORD.match(argv[0]) or argv[0] in ("cross-env", "env", "dotenv", "--")):
            argv = argv[1:]
        if argv:
            out.append(argv)
    return out


class DevTool:
    """What a start script runs, read as a category.

    ``kind`` is ``static`` (a dev server for a front-end whose build output is served instead),
    ``next`` (next dev/start: needs ``next build``), ``watch`` (a file watcher around ``node FILE``:
    run the file), ``devdep`` (a tool from devDependencies the image keeps) or ``None``.
    """

    def __init__(self, kind: str | None, tool: str = "", target: str | None = None) -> None:
        self.kind = kind
        self.tool = tool
        self.target = target


_STATIC_SERVERS = {
    ("ng", "serve"),
    ("ng", "s"),
    ("vite", ""),
    ("vite", "dev"),
    ("vite", "serve"),
    ("vite", "preview"),
    ("react-scripts", "start"),
    ("craco", "start"),
    ("vue-cli-service", "serve"),
    ("gatsby", "develop"),
    ("gatsby", "serve"),
    ("astro", "dev"),
    ("astro", "preview"),
    ("parcel", ""),
    ("webpack-dev-server", ""),
    ("webpack", "serve"),
}
_FILE_SERVERS = {"serve", "http-server", "live-server", "lite-server", "sirv"}
_WATCHERS = {"nodemon", "node-dev", "supervisor", "forever", "pm2", "pm2-runtime"}
_TOOL_PACKAGES = {
    "ng": "@angular/cli",
    "react-scripts": "react-scripts",
    "craco": "@craco/craco",
    "vue-cli-service": "@vue/cli-service",
    "ts-node": "ts-node",
    "ts-node-dev": "ts-node-dev",
    "tsx": "tsx",
    "babel-node": "@babel/node",
    "nest": "@nestjs/cli",
    "nodemon": "nodemon",
    "next": "next",
    "vite": "vite",
    "serve": "serve",
    "http-server": "http-server",
    "concurrently": "concurrently",
    "remix-serve": "@remix-run/serve",
    "nuxt": "nuxt",
    "nuxi": "nuxt",
    "astro": "astro",
}


def dev_tool(argv: list[str]) -> DevTool:
    """Classify one command of a start script (``argv`` from :func:`script_commands`)."""
    if not argv:
        return DevTool(None)
    tool = argv[0]
    if tool == "npx" and len(argv) > 1:
        return dev_tool(argv[1:])
    sub = next((a for a in argv[1:] if not a.startswith("-")), "")
    if (tool, sub) in _STATIC_SERVERS or ((tool, "") in _STATIC_SERVERS and sub in ("", "preview", "serve", "dev")):
        return DevTool("static", tool)
    if tool in _FILE_SERVERS:
        folder = next((a for a in argv[1:] if not a.startswith("-") and not a.isdigit()), None)
        return DevTool("static", tool, folder)
    if tool == "next" and sub in ("dev", "start", ""):
        return DevTool("next", tool, sub or "dev")
    if tool in _WATCHERS or (tool == "node" and "--watch" in argv):
        target = next((a for a in argv[1:] if re.search(r"\.[cm]?js$", a)), None)
        if tool in ("pm2", "pm2-runtime", "forever"):
            target = next((a for a in argv[1:] if a not in ("start", "--no-daemon") and not a.startswith("-")), None)
        return DevTool("watch", tool, target)
    if tool in _TOOL_PACKAGES:
        return DevTool("devdep", tool)
    return DevTool(None, tool)


def tool_package(tool: str) -> str:
    return _TOOL_PACKAGES.get(tool, tool)


# -- where a front-end build writes its files --------------------------------------------------


def _config(d: ModuleDir, stem: str) -> tuple[str, str] | None:
    for ext in _JS_CONFIG:
        name = f"{stem}{ext}"
        if d.has(name):
            return name, _strip_comments(d.read(name, 256 * 1024))
    return None


def _option(text: str, key: str) -> str | None:
    m = re.search(rf"""\b{key}\s*:\s*["'`]([^"'`]+)["'`]""", text)
    return m.group(1).strip().removeprefix("./").rstrip("/") if m else None


def _angular(d: ModuleDir) -> str | None:
    """angular.json: the default (or first) project's build ``outputPath``; ``/browser`` for the
    application builder (Angular 17+), which writes the browser files one level down."""
    if not d.has("angular.json"):
        return None
    try:
        data: Any = json.loads(d.read("angular.json", 2 * 1024 * 1024))
    except json.JSONDecodeError:
        return None
    projects = data.get("projects") if isinstance(data, dict) else None
    if not isinstance(projects, dict) or not projects:
        return None
    name = data.get("defaultProject") if data.get("defaultProject") in projects else None
    apps = [
        k for k, v in projects.items() if isinstance(v, dict) and v.get("projectType", "application") == "application"
    ]
    name = name or (apps[0] if apps else next(iter(projects)))
    build = ((projects[name].get("architect") or projects[name].get("targets") or {}).get("build")) or {}
    builder = str(build.get("builder") or "")
    out = (build.get("options") or {}).get("outputPath")
    browser_sub = builder.endswith(":application")
    if isinstance(out, dict):
        base = str(out.get("base") or f"dist/{name}")
        browser = out.get("browser", "browser")
        d.say("angular.json", f"outputPath {base}, browser files in {browser or '.'}")
        return f"{base}/{browser}".rstrip("/") if browser else base
    base = str(out or f"dist/{name}").removeprefix("./").rstrip("/")
    d.say("angular.json", f"outputPath {base}" + (" (application builder: /browser)" if browser_sub else ""))
    return f"{base}/browser" if browser_sub else base


def output_dir(d: ModuleDir, framework: str | None, deps: set[str], build_script: str) -> str | None:
    """The folder a static front-end build writes, read from its config; None when not static."""
    if m := re.search(r"\bBUILD_PATH=(\S+)", build_script):
        return m.group(1).strip("'\"./") or None
    if framework == "angular" or "@angular/core" in deps:
        return _angular(d) or "dist"
    if framework == "next":
        conf = _config(d, "next.config")
        export = conf is not None and re.search(r"""\boutput\s*:\s*["'`]export["'`]""", conf[1])
        if export or re.search(r"\bnext\s+export\b", build_script):
            d.say(conf[0] if conf and export else "package.json", "static export into out/")
            return "out"
        return None
    if framework == "cra" or "react-scripts" in deps:
        return "build"
    if framework == "vue-cli":
        conf = _config(d, "vue.config")
        return (conf and _option(conf[1], "outputDir")) or "dist"
    if framework == "gatsby":
        return "public"
    if framework in ("vite", "astro", "sveltekit"):
        stem = {"vite": "vite.config", "astro": "astro.config", "sveltekit": "svelte.config"}[framework]
        conf = _config(d, stem)
        key = "pages" if framework == "sveltekit" else "outDir"
        out = _option(conf[1], key) if conf else None
        if conf and out:
            d.say(conf[0], f"{key} {out}")
        return out or ("build" if framework == "sveltekit" else "dist")
    return None


# -- package-manager versions ------------------------------------------------------------------


def _pnpm_major(lock_version: str) -> str | None:
    """pnpm-lock.yaml `lockfileVersion` -> the pnpm major that writes (and reads) it."""
    m = re.match(r"(\d+)(?:\.(\d+))?", lock_version)
    if not m:
        return None
    major, minor = int(m.group(1)), int(m.group(2) or 0)
    if major <= 5:
        return "7" if minor >= 4 else "6"
    if major == 6:
        return "8"
    return "9"


def _yarn_major(lock_version: int) -> str:
    """yarn.lock `__metadata.version` -> the yarn berry major that writes it."""
    if lock_version <= 4:
        return "2"
    if lock_version <= 6:
        return "3"
    return "4"


def pm_version(d: ModuleDir, pm: str, lockfile: str | None, declared: str | None) -> tuple[str | None, list[str]]:
    """The package manager's version (a major like '8' or an exact '3.6.1') and extra files the
    install needs (`.yarnrc.yml`, the committed yarn release)."""
    extra: list[str] = []
    version: str | None = None
    if pm == "pnpm" and lockfile == "pnpm-lock.yaml":
        m = re.search(r"""^lockfileVersion:\s*['"]?([\d.]+)""", d.read(lockfile, 512), re.M)
        if m and (version := _pnpm_major(m.group(1))):
            d.say(lockfile, f"lockfileVersion {m.group(1)}: pnpm {version}")
    if pm == "yarn":
        head = d.read("yarn.lock", 2048) if lockfile == "yarn.lock" else ""
        m = re.search(r"^__metadata:\s*\n\s+version:\s*(\d+)", head, re.M)
        if m:
            version = _yarn_major(int(m.group(1)))
            d.say("yarn.lock", f"yarn berry lockfile (version {m.group(1)}): yarn {version}")
        elif "yarn lockfile v1" in head:
            version = "1"
        if d.has(".yarnrc.yml"):
            extra.append(".yarnrc.yml")
            rc = d.read(".yarnrc.yml", 64 * 1024)
            if rp := re.search(r"^yarnPath:\s*['\"]?([^\s'\"]+)", rc, re.M):
                path = rp.group(1).removeprefix("./")
                if (rv := re.search(r"yarn-(\d+(?:\.\d+)*)\.c?js$", path)) is not None:
                    version = rv.group(1)
                if d.index.path(d.repo_path(path)).is_file():
                    extra.append(path)
                d.say(".yarnrc.yml", f"yarnPath {path}")
            if version is None:
                version = "4"  # a berry project with no lockfile yet: the current major
                d.say(".yarnrc.yml", "yarn berry")
    if declared and "@" in declared:
        name, _, ver = declared.partition("@")
        ver = ver.split("+", 1)[0].strip()
        if name == pm and re.match(r"^\d+(\.\d+)*\Z", ver):
            version = ver
    return version, extra


def nx_server(d: ModuleDir) -> str | None:
    """`nx serve` of a single Nx node project: the file its build writes (project.json
    ``targets.build.options``: ``outputPath`` + ``main`` with a .js extension)."""
    if not d.has("project.json"):
        return None
    try:
        data: Any = json.loads(d.read("project.json", 1024 * 1024))
    except json.JSONDecodeError:
        return None
    opts = (((data.get("targets") or {}).get("build") or {}).get("options") or {}) if isinstance(data, dict) else {}
    out, main = opts.get("outputPath"), opts.get("main")
    if not isinstance(out, str) or not isinstance(main, str):
        return None
    name = re.sub(r"\.[cm]?tsx?$", ".js", main.rsplit("/", 1)[-1])
    d.say("project.json", f"build writes {out}/{name}")
    return f"{out.strip('./')}/{name}"
