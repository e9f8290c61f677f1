"""Deno modules: deno.json tasks and imports, the main module and its permissions."""

from __future__ import annotations

import re

from containerkit.tools.analyze._common import Found, ModuleDir
from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.manifest_shapes import conform

__all__ = ["detect_deno"]

_ENTRIES = ("main.ts", "server.ts", "mod.ts", "main.tsx", "src/main.ts", "main.js")
_JSONC_COMMENT = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.S)


def detect_deno(d: ModuleDir) -> Found | None:
    config = d.first("deno.json", "deno.jsonc")
    if config is None:
        return None
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
    version = d.version_file((".dvmrc",), r"(\d+\.\d+)")
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
