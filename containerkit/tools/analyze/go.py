"""Go modules: go.mod version and requirements, the main package to build (root or cmd/*), go.work."""

from __future__ import annotations

import re

from containerkit.tools.analyze._common import Found, ModuleDir
from containerkit.tools.analyze.models import ModuleAnalysis

__all__ = ["MARKERS", "detect_go"]

MARKERS = ("go.mod", "go.work")
_FRAMEWORKS = (
    ("github.com/gin-gonic/gin", "gin"),
    ("github.com/labstack/echo", "echo"),
    ("github.com/gofiber/fiber", "fiber"),
    ("github.com/go-chi/chi", "chi"),
    ("github.com/gorilla/mux", "gorilla"),
)
_PREFERRED_CMDS = ("server", "api", "web", "app", "service")
_MAIN = re.compile(r"^package\s+main\b", re.M)


def _requires(gomod: str) -> list[str]:
    reqs = re.findall(r"^\s*require\s+(\S+)\s+v", gomod, re.M)
    for block in re.findall(r"^require\s*\((.*?)^\)", gomod, re.M | re.S):
        reqs += re.findall(r"^\s*(\S+)\s+v\S+", block, re.M)
    return reqs


def _main_packages(d: ModuleDir) -> list[str]:
    """Main packages as build targets ('.', './cmd/api'), root first."""
    found: list[str] = []
    if any(_MAIN.search(d.read(f, 4096)) for f in d.names() if f.endswith(".go")):
        found.append(".")
    for c in d.children("cmd"):
        if any(_MAIN.search(d.read(f"cmd/{c}/{f}", 4096)) for f in d.names(f"cmd/{c}") if f.endswith(".go")):
            found.append(f"./cmd/{c}")
    return found


def detect_go(d: ModuleDir) -> Found | None:
    if d.has("go.work") and not d.has("go.mod"):
        uses = _work_uses(d)
        m = ModuleAnalysis(path=d.rel, name=d.name, language="go", package_manager="go", is_library=True)
        d.finish(m, sources=[], default_port=None)
        return Found(m, members=uses, aggregator=True, rank=4)
    if not d.has("go.mod"):
        return _lone_main(d)
    gomod = d.read("go.mod", 256 * 1024)
    module_path = (re.search(r"^module\s+(\S+)", gomod, re.M) or [None, d.name])[1] or d.name
    d.say("go.mod", f"module {module_path}")
    version = None
    if tm := re.search(r"^toolchain\s+go(\d+\.\d+)", gomod, re.M):
        version = tm.group(1)
        d.say("go.mod", f"toolchain go{version}")
    elif gm := re.search(r"^go\s+(\d+\.\d+)", gomod, re.M):
        version = gm.group(1)
        d.say("go.mod", f"go {version}")
    reqs = _requires(gomod)
    framework = next((fw for mod, fw in _FRAMEWORKS if any(r.startswith(mod) for r in reqs)), None)
    if framework:
        d.say("go.mod", f"requires {framework}")
    mains = _main_packages(d)
    target = None
    if mains:
        target = next((t for t in mains if t.rsplit("/", 1)[-1] in _PREFERRED_CMDS), mains[0])
        if len(mains) > 1:
            d.say("cmd", f"building {target}; also main: {', '.join(t for t in mains if t != target)}")
    binary = "app" if target in (None, ".") else target.rsplit("/", 1)[-1]
    build = f"CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o {binary} {target}" if target else None
    start = f"./{binary}" if target else None
    if web := d.procfile_web():
        start = web
    sources = []
    if target:
        folder = "." if target == "." else target[2:]
        sources = [f if folder == "." else f"{folder}/{f}" for f in d.names(folder) if f.endswith(".go")]
    sources += d.sources("internal", (".go",), 10)
    m = ModuleAnalysis(
        path=d.rel,
        name=module_path.rsplit("/", 1)[-1],
        language="go",
        language_version=version,
        package_manager="go",
        framework=framework,
        start_command=start,
        build_command=build,
        entrypoint=None if target in (None, ".") else target[2:],
        dependency_files=["go.mod"] + (["go.sum"] if d.has("go.sum") else []),
        lockfile="go.sum" if d.has("go.sum") else None,
        dependencies=reqs,
        is_library=target is None,
    )
    d.finish(
        m,
        sources=sources,
        default_port=None if target is None else 8080,
        base_confidence=0.4 if len(mains) > 1 else 0.5,
    )
    members = _work_uses(d) if d.has("go.work") else None
    refs = set(reqs) | set(re.findall(r"^\s*replace\s+(\S+)", gomod, re.M))
    paths = set(re.findall(r"=>\s*(\.\.?/\S*)", gomod))
    return Found(m, ids={module_path}, refs=refs, ref_paths=paths, members=members, rank=4)


def _lone_main(d: ModuleDir) -> Found | None:
    """A main package with no go.mod (a single main.go at the repo root): the image runs `go mod init`."""
    if d.rel != "." or not d.has("main.go") or not _MAIN.search(d.read("main.go", 4096)):
        return None
    d.say("main.go", "Go main package with no go.mod")
    sources = [f for f in d.names() if f.endswith(".go")]
    imports = {i for f in sources for i in re.findall(r'"([\w.-]+\.[a-z]+/[^"]+)"', d.read(f))}
    framework = next((fw for mod, fw in _FRAMEWORKS if any(i.startswith(mod) for i in imports)), None)
    m = ModuleAnalysis(
        path=d.rel,
        name=d.name,
        language="go",
        package_manager="go",
        framework=framework,
        start_command="./app",
        build_command="CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o app .",
        dependencies=sorted(imports),
    )
    d.finish(m, sources=sources, default_port=8080, base_confidence=0.4)
    return Found(m, rank=-1, lone=True)  # any manifest-backed reading of the folder wins


def _work_uses(d: ModuleDir) -> list[str]:
    text = d.read("go.work", 64 * 1024)
    uses = re.findall(r"^\s*use\s+(\S+)\s*$", text, re.M)
    for block in re.findall(r"^use\s*\((.*?)^\)", text, re.M | re.S):
        uses += [u.strip() for u in block.splitlines() if u.strip() and not u.strip().startswith("//")]
    d.say("go.work", f"use {', '.join(uses)}")
    return [u.removeprefix("./") or "." for u in uses]
