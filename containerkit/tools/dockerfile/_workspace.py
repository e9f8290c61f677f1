"""Node workspaces (npm, yarn, pnpm, bun): a member that uses a sibling package, or whose lockfile
lives at the workspace root, is built from the workspace root.

The layout (root manifests, lockfile, every member's package.json, the members the app needs at run
time) is read from the repository when its folder is known; otherwise it is inferred from the
analysis alone (the package manager's usual lockfile name, the module and its ``depends_on``).
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from containerkit.tools.analyze.models import ModuleAnalysis

__all__ = ["NodeWorkspace", "node_workspace", "uses_workspace"]

_LOCKFILES = {
    "pnpm": ["pnpm-lock.yaml"],
    "yarn": ["yarn.lock"],
    "bun": ["bun.lock", "bun.lockb"],
    "npm": ["package-lock.json", "npm-shrinkwrap.json"],
}
_ROOT_EXTRAS = ["pnpm-workspace.yaml", ".yarnrc.yml", ".pnpmfile.cjs"]
_ROOT_DIRS = [".yarn/releases", ".yarn/plugins", ".yarn/patches", "patches"]
_MAX_MEMBERS = 200


@dataclass
class NodeWorkspace:
    """Where the workspace is and what a build of one member needs from it."""

    root: str
    """The workspace root, relative to the repository root (the build context)."""
    member: str
    """The module's folder relative to the workspace root."""
    package_name: str
    root_files: list[str]
    """Root manifests (package.json, lockfile, workspace config), relative to the root."""
    root_dirs: list[str] = field(default_factory=list)
    """Root folders the install needs (yarn releases/plugins, patches)."""
    lockfile: str | None = None
    manifests: list[str] = field(default_factory=list)
    """Every member's package.json, relative to the root (the module's own included)."""
    runtime_members: list[str] = field(default_factory=list)
    """The module's folder and those of the workspace packages it uses at run time (dependencies first)."""
    build_members: list[str] = field(default_factory=list)
    """Workspace packages the module uses that have a build script, built before it (dependencies first)."""
    inferred: bool = False
    """True when the repository was not read: file names are the package manager's usual ones."""


def uses_workspace(m: ModuleAnalysis) -> bool:
    """A workspace member built from the root: it uses a sibling, or has no lockfile of its own."""
    if m.workspace_root is None or _norm(m.workspace_root) == _norm(m.path):
        return False
    return bool(m.depends_on) or m.lockfile is None


def _norm(p: str) -> str:
    return posixpath.normpath(p.strip("/") or ".")


def _rel(path: str, root: str) -> str:
    return posixpath.relpath(_norm(path), _norm(root))


def node_workspace(m: ModuleAnalysis, repo_root: Path | None = None) -> NodeWorkspace | None:
    """The workspace ``m`` is built from, or None when it builds from its own folder."""
    if not uses_workspace(m):
        return None
    assert m.workspace_root is not None
    root = _norm(m.workspace_root)
    member = _rel(m.path, root)
    if repo_root is not None:
        folder = Path(repo_root) / root
        pkg = _read_json(folder / "package.json")
        if pkg is not None:
            return _read_layout(m, root, member, folder, pkg)
    return _inferred(m, root, member)


def _inferred(m: ModuleAnalysis, root: str, member: str) -> NodeWorkspace:
    pm = m.package_manager or "npm"
    lock = _LOCKFILES.get(pm, _LOCKFILES["npm"])[0]
    files = ["package.json", lock] + (["pnpm-workspace.yaml"] if pm == "pnpm" else [])
    deps = [_rel(d, root) for d in m.depends_on]
    members = sorted({member, *deps})
    return NodeWorkspace(
        root=root,
        member=member,
        package_name=m.name,
        root_files=files,
        lockfile=lock,
        manifests=[posixpath.join(d, "package.json") for d in members],
        runtime_members=[*deps, member],
        inferred=True,
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _globs(folder: Path, pkg: dict[str, Any]) -> list[str]:
    ws = pkg.get("workspaces")
    if isinstance(ws, dict):
        ws = ws.get("packages")
    if isinstance(ws, list):
        return [str(g) for g in ws]
    try:
        data = yaml.safe_load((folder / "pnpm-workspace.yaml").read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    pkgs = data.get("packages") if isinstance(data, dict) else None
    return [str(g) for g in pkgs] if isinstance(pkgs, list) else []


def _members(folder: Path, globs: list[str]) -> list[str]:
    found: set[str] = set()
    excluded: set[str] = set()
    for g in globs:
        neg = g.startswith("!")
        pattern = g.removeprefix("!").strip().strip("/").removeprefix("./")
        if not pattern:
            continue
        for pj in folder.glob(f"{pattern}/package.json"):
            rel = pj.parent.relative_to(folder).as_posix()
            if "node_modules" in rel.split("/"):
                continue
            (excluded if neg else found).add(rel)
    return sorted(found - excluded)[:_MAX_MEMBERS]


def _deps(pkg: dict[str, Any], *, dev: bool) -> set[str]:
    keys = ["dependencies", "optionalDependencies", "peerDependencies"] + (["devDependencies"] if dev else [])
    out: set[str] = set()
    for k in keys:
        v = pkg.get(k)
        if isinstance(v, dict):
            out.update(str(x) for x in v)
    return out


def _scripts(pkg: dict[str, Any]) -> dict[str, Any]:
    v = pkg.get("scripts")
    return v if isinstance(v, dict) else {}


def _closure(start: str, pkgs: dict[str, dict[str, Any]], by_name: dict[str, str], *, dev: bool) -> list[str]:
    """Members reachable from ``start`` through workspace dependencies, dependencies first."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(d: str, first: bool) -> None:
        if d in seen:
            return
        seen.add(d)
        for name in sorted(_deps(pkgs.get(d, {}), dev=dev and first)):
            target = by_name.get(name)
            if target is not None:
                visit(target, False)
        order.append(d)

    visit(start, True)
    return order


def _read_layout(m: ModuleAnalysis, root: str, member: str, folder: Path, pkg: dict[str, Any]) -> NodeWorkspace:
    pm = m.package_manager or "npm"
    locks = [*_LOCKFILES.get(pm, []), *(f for fs in _LOCKFILES.values() for f in fs)]
    lock = next((f for f in dict.fromkeys(locks) if (folder / f).is_file()), None)
    files = ["package.json", *([lock] if lock else []), *(f for f in _ROOT_EXTRAS if (folder / f).is_file())]
    dirs = [d for d in _ROOT_DIRS if (folder / d).is_dir()]
    members = _members(folder, _globs(folder, pkg))
    if member not in members:
        members = sorted({*members, member})
    pkgs = {d: _read_json(folder / d / "package.json") or {} for d in members}
    by_name = {str(p["name"]): d for d, p in pkgs.items() if isinstance(p.get("name"), str)}
    runtime = _closure(member, pkgs, by_name, dev=False)
    for dep in m.depends_on:  # the analysis may know a link the manifests do not name
        rel = _rel(dep, root)
        if rel not in runtime and rel in pkgs:
            runtime.insert(0, rel)
    build_deps = [d for d in _closure(member, pkgs, by_name, dev=True) if d != member]
    build_members = [d for d in build_deps if "build" in _scripts(pkgs.get(d, {}))]
    return NodeWorkspace(
        root=root,
        member=member,
        package_name=str(pkgs.get(member, {}).get("name") or m.name),
        root_files=files,
        root_dirs=dirs,
        lockfile=lock,
        manifests=[posixpath.join(d, "package.json") for d in members],
        runtime_members=runtime,
        build_members=build_members,
    )
