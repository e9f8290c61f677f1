"""Elixir modules: Mix, Elixir version, Phoenix, umbrella apps, the release to run."""

from __future__ import annotations

import re

from containerkit.tools.analyze._common import Found, ModuleDir, port_command
from containerkit.tools.analyze.models import ModuleAnalysis

__all__ = ["detect_elixir"]


def detect_elixir(d: ModuleDir) -> Found | None:
    if not d.has("mix.exs"):
        return None
    mix = d.read("mix.exs", 256 * 1024)
    app = (re.search(r"\bapp:\s*:(\w+)", mix) or [None, None])[1] or d.name.replace("-", "_")
    deps = sorted(set(re.findall(r"\{\s*:(\w+)\s*,", mix)))
    version = None
    if tv := re.search(r"^elixir\s+(\d+\.\d+)", d.read(".tool-versions", 4096), re.M):
        version = tv.group(1)
        d.say(".tool-versions", f"elixir {version}")
    elif ev := re.search(r"""elixir:\s*"[~>= ]*(\d+\.\d+)""", mix):
        version = ev.group(1)
        d.say("mix.exs", f"elixir {ev.group(0).split(':', 1)[1].strip()}")
    umbrella = re.search(r"""apps_path:\s*"([^"]+)\"""", mix)
    members = [f"{umbrella.group(1)}/*"] if umbrella else None
    framework = "phoenix" if "phoenix" in deps else None
    serves = framework is not None or bool({"plug_cowboy", "bandit"} & set(deps))
    if framework:
        d.say("mix.exs", "depends on phoenix")
    build = None
    start = None
    if serves and not umbrella:
        assets = "mix assets.deploy && " if d.is_dir("assets") and framework else ""
        build = f"mix deps.get --only prod && MIX_ENV=prod mix compile && {assets}MIX_ENV=prod mix release"
        start = f"_build/prod/rel/{app}/bin/{app} start"
    if web := d.procfile_web():
        start = port_command(web, 4000)
    lock = "mix.lock" if d.has("mix.lock") else None
    m = ModuleAnalysis(
        path=d.rel,
        name=app,
        language="elixir",
        language_version=version,
        package_manager="mix",
        framework=framework,
        start_command=start,
        build_command=build,
        dependency_files=["mix.exs"] + ([lock] if lock else []),
        lockfile=lock,
        dependencies=deps,
        is_library=start is None,
    )
    # Phoenix's generated config/runtime.exs reads PORT (default 4000).
    sources = [f for f in ("config/runtime.exs", "config/prod.exs") if d.has(f)]
    d.finish(m, sources=sources, default_port=4000 if start else None)
    refs = set(re.findall(r"\{\s*:(\w+)\s*,\s*in_umbrella:\s*true", mix))
    paths = set(re.findall(r"""path:\s*"([^"]+)\"""", mix))
    return Found(m, ids={app}, refs=refs, ref_paths=paths, members=members, aggregator=umbrella is not None, rank=6)
