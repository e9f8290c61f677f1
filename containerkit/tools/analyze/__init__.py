"""Repository analysis: which modules a repo has and what each needs to run in a container."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from containerkit.errors import NoDeployableModule, NotADirectory, PathNotFound
from containerkit.tools.analyze.models import Evidence, ModuleAnalysis, RepoAnalysis
from containerkit.tools.analyze.node import detect_node
from containerkit.tools.analyze.python import detect_python

__all__ = ["Evidence", "ModuleAnalysis", "RepoAnalysis", "analyze_repo", "check_repo_path"]

Detector = Callable[[Path, Path, str], ModuleAnalysis | None]
DETECTORS: tuple[Detector, ...] = (detect_node, detect_python)
_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", "dist", "build", "target", "vendor", ".tox"}


def check_repo_path(path: Path) -> Path:
    """Resolve the user's path or raise the typed error a user can act on."""
    if not path.exists():
        raise PathNotFound(f"path does not exist: {path}", path=str(path))
    if not path.is_dir():
        raise NotADirectory(f"not a folder: {path}", path=str(path))
    return path.resolve()


def _detect(root: Path, mod_dir: Path) -> ModuleAnalysis | None:
    rel = "." if mod_dir == root else mod_dir.relative_to(root).as_posix()
    for det in DETECTORS:
        found = det(root, mod_dir, rel)
        if found is not None:
            if (mod_dir / "Dockerfile").is_file():
                found.existing_dockerfile = "Dockerfile" if rel == "." else f"{rel}/Dockerfile"
                found.evidence.append(Evidence(file="Dockerfile", says="existing Dockerfile"))
            return found
    return None


def analyze_repo(path: Path | str) -> RepoAnalysis:
    """Find every deployable module under ``path``: the root, else its sub-folders (two levels)."""
    t0 = time.perf_counter()
    root = check_repo_path(Path(path))
    modules: list[ModuleAnalysis] = []
    top = _detect(root, root)
    if top is not None:
        modules.append(top)
    else:
        for child in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in _SKIP_DIRS):
            found = _detect(root, child)
            if found is not None:
                modules.append(found)
                continue
            for grand in sorted(p for p in child.iterdir() if p.is_dir() and p.name not in _SKIP_DIRS):
                if (g := _detect(root, grand)) is not None:
                    modules.append(g)
    if not modules:
        if (root / "Dockerfile").is_file():
            modules.append(
                ModuleAnalysis(
                    path=".",
                    name=root.name,
                    existing_dockerfile="Dockerfile",
                    confidence=0.3,
                    evidence=[Evidence(file="Dockerfile", says="existing Dockerfile")],
                )
            )
        else:
            raise NoDeployableModule(f"no application found in {root}", path=str(root))
    return RepoAnalysis(
        root=str(root),
        modules=modules,
        is_monorepo=len(modules) > 1,
        duration_s=time.perf_counter() - t0,
    )
