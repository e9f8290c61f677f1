"""Repository analysis: which modules a repo has and what each needs to run in a container."""

from __future__ import annotations

import time
from pathlib import Path

from containerkit.errors import NoDeployableModule, NotADirectory, PathNotFound
from containerkit.tools.analyze.models import Evidence, ModuleAnalysis, RepoAnalysis
from containerkit.tools.fsio import exists, is_dir
from containerkit.tools.tracing import traced

__all__ = ["Evidence", "ModuleAnalysis", "RepoAnalysis", "analyze_repo", "check_repo_path"]


def check_repo_path(path: Path) -> Path:
    """Resolve the user's path or raise the typed error a user can act on."""
    if not exists(path):  # also a path too long or holding a NUL byte: not an OSError
        raise PathNotFound(f"path does not exist: {path}", path=str(path))
    if not is_dir(path):
        raise NotADirectory(f"not a folder: {path}", path=str(path))
    return path.resolve()


@traced("analyze_repo")
def analyze_repo(path: Path | str) -> RepoAnalysis:
    """Every deployable module (and shared library) under ``path``, with the build order between them."""
    # the detectors load here, not with the package: the session state imports only ``models``
    from containerkit.tools.analyze._modules import find_modules
    from containerkit.tools.analyze._walk import build_index

    t0 = time.perf_counter()
    root = check_repo_path(Path(path))
    index = build_index(root)
    modules, order, workspace = find_modules(index)
    if not modules:
        raise NoDeployableModule(f"no application found in {root}", path=str(root))
    return RepoAnalysis(
        root=str(root),
        modules=modules,
        is_monorepo=workspace or len(modules) > 1,
        files_scanned=index.files_scanned,
        build_order=order,
        duration_s=time.perf_counter() - t0,
    )
