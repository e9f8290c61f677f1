"""Deno modules: deno.json tasks and imports, the main module and its permissions."""

from __future__ import annotations

import re

from containerkit.tools.analyze._common import Found, ModuleDir
from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.manifest_shapes import conform

__all__ = ["detect_deno"]

_ENTRIES = (
    "main.ts",
    "server.ts",
    "mod.ts",
    "main.tsx",
    "src/main.ts",
    "main.js",
    "src/index.ts",
    "index.ts",
    "src/server.ts",
)
_DENO_CODE = re.compile(r"\bDeno\.\w|from\s+[\"'](?:jsr:|npm:|https://deno\.land/)")
_JSONC_COMMENT = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.S)


def detect_deno(d: ModuleDir) -> Found | None:
    config = d.first("deno.json", "deno.jsonc")
    if config is None:
        return _lone_module(d)
    text = d.read(config, 1024 * 1024)
    if config.endswith("jsonc"):
        text = _JSONC_COMMENT.sub(lambda mm: mm.group(1) or "", text)
    import json

    try:
        data = conform(config, json.loads(text or "{}"), d.say)  # a wrongly typed key is skipped
    except (ValueError, RecursionError):  # syntax, a huge number, deep nesting
        data = d.json_object(config)  # raises the typed error with line and column
    tasks = {str(k): str(v) for k, v in (data.get("tasks") or {}).items()} if isinstance(data, dict) else {}
    imports = data.get("imports") or {} if isinstance(data, dict) else {}
    framework = "fresh" if any("fresh" in str(v) for v in imports.values()) else None
    entry = d.first(*_ENTRIES)
    start = None
    if "start" in tasks:
        start = "deno task start"
        d.say(config, f"task start: {tasks['start']}")
    elif entry:
        start = f"deno run --allow-net --allow-env --allow-read {entry}"
    version = _deno_version(d)
    lock = "deno.lock" if d.has("deno.lock") else None
    m = ModuleAnalysis(
        path=d.rel,
        name=str(data.get("name") or d.name) if isinstance(data, dict) else d.name,
        language="deno",
        language_version=version,
        package_manager="deno",
        framework=framework,
        start_command=start,
        build_command="deno task build" if "build" in tasks else None,
        entrypoint=entry,
        dependency_files=[config] + ([lock] if lock else []),
        lockfile=lock,
        dependencies=sorted(str(k) for k in imports),
        is_library=start is None,
    )
    d.say(config, "deno project")
    d.finish(m, sources=[entry] if entry else [], default_port=8000 if start else None)
    return Found(m, ids={m.name}, rank=7)


def _deno_version(d: ModuleDir) -> str | None:
    return d.version_file((".dvmrc", ".deno-version"), r"(\d+\.\d+(?:\.\d+)?)")


def _lone_module(d: ModuleDir) -> Found | None:
    """A Deno app with no deno.json (its only file `src/index.ts`): found by the Deno APIs it uses."""
    if d.has("package.json"):
        return None
    entry = next(
        (e for e in _ENTRIES if e.endswith((".ts", ".tsx")) and d.has(e) and _DENO_CODE.search(d.read(e))), None
    )
    if entry is None:
        return None
    d.say(entry, "Deno code (Deno APIs, jsr:/npm:/deno.land imports) with no deno.json")
    lock = "deno.lock" if d.has("deno.lock") else None
    m = ModuleAnalysis(
        path=d.rel,
        name=d.name,
        language="deno",
        language_version=_deno_version(d),
        package_manager="deno",
        start_command=f"deno run --allow-net --allow-env --allow-read {entry}",
        entrypoint=entry,
        dependency_files=[lock] if lock else [],
        lockfile=lock,
    )
    d.finish(m, sources=[entry], default_port=8000)
    return Found(m, ids={m.name}, rank=-1, lone=True)  # any manifest-backed reading of the folder wins
