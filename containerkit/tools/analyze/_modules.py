"""From the tree index to modules: candidate folders, workspaces, libraries and the build DAG."""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Callable
from typing import Any

from containerkit.tools.analyze._common import Found, ModuleDir
from containerkit.tools.analyze._walk import RepoIndex, join
from containerkit.tools.analyze.deno import detect_deno
from containerkit.tools.analyze.dotnet import detect_dotnet
from containerkit.tools.analyze.elixir import detect_elixir
from containerkit.tools.analyze.go import detect_go
from containerkit.tools.analyze.java import detect_java
from containerkit.tools.analyze.models import Evidence, ModuleAnalysis
from containerkit.tools.analyze.node import detect_node
from containerkit.tools.analyze.php import detect_php
from containerkit.tools.analyze.python import detect_python
from containerkit.tools.analyze.ruby import detect_ruby
from containerkit.tools.analyze.rust import detect_rust
from containerkit.tools.analyze.static import detect_static

__all__ = ["DETECTORS", "find_modules"]

Detector = Callable[[ModuleDir], Found | None]
DETECTORS: tuple[Detector, ...] = (
    detect_deno,
    detect_elixir,
    detect_ruby,
    detect_php,
    detect_java,
    detect_dotnet,
    detect_rust,
    detect_go,
    detect_python,
    detect_node,
    detect_static,
)

_MARKERS = frozenset(
    {
        "package.json", "deno.json", "deno.jsonc",
        "requirements.txt", "pyproject.toml", "Pipfile", "setup.py", "setup.cfg", "environment.yml", "manage.py",
        "go.mod", "go.work", "pom.xml", "build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts",
        "Cargo.toml", "Gemfile", "composer.json", "mix.exs", "index.html", "index.php", "Dockerfile", "Procfile",
        ".python-version", "runtime.txt",
    }
)  # fmt: skip
_LONE_SOURCES = frozenset(
    {"main.py", "app.py", "server.py", "main.go", "main.ts", "server.ts", "index.ts", "mod.ts", "main.js", "server.js"}
)
"""Source files that make the repository's root folder an app even with no manifest (a lone script)."""
_MARKER_SUFFIXES = (".csproj", ".fsproj", ".vbproj", ".sln", ".gemspec")
_SUFFIX = re.compile(r"\.(?:csproj|fsproj|vbproj|sln|gemspec)$", re.M)
_NOT_MODULES = frozenset(
    {
        "test",
        "tests",
        "__tests__",
        "fixtures",
        "testdata",
        "spec",
        "e2e",
        "docs",
        "node_modules",
        "playground",
        "__fixtures__",
    }
)
"""Folders whose manifests belong to tests or documentation, not to something to deploy."""


def _is_candidate(index: RepoIndex, folder: str) -> bool:
    names = index.files.get(folder, frozenset())
    if folder == "." and (
        not names.isdisjoint(_LONE_SOURCES) or not index.files.get("src", frozenset()).isdisjoint(_LONE_SOURCES)
    ):
        return True
    if names.isdisjoint(_MARKERS) and not _SUFFIX.search("\n".join(names)):
        return False
    return any(index.has(folder, n) for n in names if n in _MARKERS or n.endswith(_MARKER_SUFFIXES))


def _detect(index: RepoIndex, folder: str) -> Found | None:
    """The best ecosystem reading of one folder: apps over libraries, then the more specific ecosystem."""
    results: list[Found] = []
    for det in DETECTORS:
        d = ModuleDir(index, folder)
        found = det(d)
        if found is not None:
            results.append(found)
    real = [f for f in results if f.module.language != "static"] or results
    if not real:
        if index.has(folder, "Dockerfile"):
            d = ModuleDir(index, folder)
            d.say("Dockerfile", "existing Dockerfile; language not recognised")
            m = ModuleAnalysis(path=folder, name=d.name, existing_dockerfile=join(folder, "Dockerfile"))
            d.finish(m, sources=[], default_port=None, base_confidence=0.1)
            return Found(m)
        return None
    real.sort(key=lambda f: (f.members is not None, not f.module.is_library, f.rank), reverse=True)
    best = real[0]
    for other in real[1:]:
        if other.module.language not in (best.module.language, "static"):
            best.module.evidence.append(
                Evidence(file=".", says=f"also a {other.module.language} project (taken as part of this module)")
            )
    return best


def _match(rel: str, glob: str) -> bool:
    glob = glob.strip().removeprefix("./").rstrip("/")
    if "**" in glob:
        return fnmatch.fnmatchcase(rel, glob.replace("**", "*")) or rel == glob.split("/**", 1)[0]
    parts, gparts = rel.split("/"), glob.split("/")
    return len(parts) == len(gparts) and all(fnmatch.fnmatchcase(p, g) for p, g in zip(parts, gparts, strict=True))


class _Finder:
    def __init__(self, index: RepoIndex) -> None:
        self.index = index
        self.memo: dict[str, Found | None] = {}
        self.candidates = [f for f in index.files if _is_candidate(index, f)]
        self.modules: dict[str, Found] = {}
        self.workspace = False

    def detect(self, folder: str) -> Found | None:
        if folder not in self.memo:
            self.memo[folder] = _detect(self.index, folder)
        return self.memo[folder]

    def below(self, folder: str) -> list[str]:
        """Top-most candidate folders strictly below ``folder`` (not under a test/docs folder)."""
        prefix = "" if folder == "." else folder + "/"
        inside = sorted(c for c in self.candidates if c != folder and c.startswith(prefix))
        inside = [c for c in inside if _NOT_MODULES.isdisjoint(c[len(prefix) :].split("/"))]
        top: list[str] = []
        for c in inside:
            if not any(c.startswith(t + "/") for t in top):
                top.append(c)
        return top

    def claim(self, folder: str) -> None:
        found = self.detect(folder)
        if found is not None and found.lone and any(self.detect(s) is not None for s in self.below(folder)):
            found = None  # a lone script beside real modules is a helper, not the app
        if found is not None and found.members is not None:
            self.claim_workspace(folder, found)
            return
        if found is not None and not found.module.is_library and found.module.language != "static":
            self.modules[folder] = found  # an app owns everything below it
            return
        subs = self.below(folder)
        # A library or static folder at the top of sub-modules is tooling or docs, not the deployable.
        if found is not None and not any((f := self.detect(s)) and f.module.language != "static" for s in subs):
            self.modules[folder] = found
            return
        for s in subs:
            if self.detect(s) is not None:
                self.claim(s)
            else:
                self.claim_children_of(s)

    def claim_children_of(self, folder: str) -> None:
        for s in self.below(folder):
            self.claim(s)

    def claim_workspace(self, folder: str, ws: Found) -> None:
        self.workspace = True
        prefix = "" if folder == "." else folder + "/"
        globs = ws.members or []
        excluded = [g[1:] for g in globs if g.startswith("!")]
        members = sorted(
            c
            for c in self.candidates
            if c != folder
            and c.startswith(prefix)
            and any(_match(c[len(prefix) :], g) for g in globs if not g.startswith("!"))
            and not any(_match(c[len(prefix) :], g) for g in excluded)
        )
        claimed: list[str] = []
        for mem in members:
            found = self.detect(mem)
            if found is None:
                continue
            if found.members is not None and found.aggregator:
                self.claim_workspace(mem, found)  # nested aggregator (Maven parent of modules)
            else:
                found.module.workspace_root = folder
                self.modules[mem] = found
            claimed.append(mem)
        if not ws.aggregator:
            self.modules[folder] = ws
        # Other modules under the workspace (a Go service beside an npm workspace) are modules too.
        for s in self.below(folder):
            if not any(s == c or s.startswith(c + "/") or c.startswith(s + "/") for c in claimed):
                self.claim(s)
        for mem in claimed:
            self._inherit(ws, self.modules.get(mem))

    @staticmethod
    def _inherit(ws: Found, member: Found | None) -> None:
        """Members share the workspace's lockfile, package manager and toolchain version."""
        if member is None or member.module.language != ws.module.language:
            return
        m, root = member.module, ws.module
        if m.lockfile is None and root.package_manager:
            m.package_manager = root.package_manager
            m.package_manager_version = m.package_manager_version or root.package_manager_version
        m.language_version = m.language_version or root.language_version
        m.version_constraints = m.version_constraints or root.version_constraints


def _edges(modules: dict[str, Found]) -> Any:
    """dependency -> dependent, for every reference that names another module of the repo."""
    import networkx as nx  # type: ignore[import-untyped]  # only repos with several modules pay for it

    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for path, f in modules.items():
        for other_path, other in modules.items():
            if other_path == path or other.module.language != f.module.language:
                continue
            if f.refs & other.ids:
                graph.add_edge(other_path, path)
        for ref in f.ref_paths:
            target = posixpath.normpath(posixpath.join(path if path != "." else "", ref)) or "."
            if target in modules and target != path:
                graph.add_edge(target, path)
    return graph


def find_modules(index: RepoIndex) -> tuple[list[ModuleAnalysis], list[str], bool]:
    """Modules of the repo (root first), the build order (dependencies first), and whether it is a workspace."""
    finder = _Finder(index)
    finder.claim(".")
    if len(finder.modules) <= 1:  # nothing to order
        return [f.module for f in finder.modules.values()], list(finder.modules), finder.workspace
    import networkx as nx

    graph = _edges(finder.modules)
    for path, found in finder.modules.items():
        found.module.depends_on = sorted(graph.predecessors(path))
        for dep in found.module.depends_on:
            found.module.evidence.append(Evidence(file=".", says=f"depends on module {dep}"))
    try:
        order = list(nx.lexicographical_topological_sort(graph))
    except nx.NetworkXUnfeasible:
        cycle = nx.find_cycle(graph)
        for a, b in cycle:
            finder.modules[b].module.evidence.append(Evidence(file=".", says=f"dependency cycle through {a}"))
        order = sorted(finder.modules)
    modules = [finder.modules[p].module for p in sorted(finder.modules, key=lambda p: (p != ".", p))]
    return modules, order, finder.workspace
