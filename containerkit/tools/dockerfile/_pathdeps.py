"""Python modules that install sibling folders of the repository (``-e ../../libs/common``, a
``file:`` URL, Poetry/uv/PDM ``path`` dependencies): built from the folder holding the module and
those siblings, with the repository's relative layout kept under ``/app`` so the manifests' relative
paths resolve inside the image, as they do in a checkout.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from containerkit.tools.analyze.models import ModuleAnalysis

__all__ = ["PythonPathDeps", "python_path_deps"]


@dataclass
class PythonPathDeps:
    """Where a Python module with sibling path dependencies is built from, and what it needs there."""

    root: str
    """The common ancestor of the module and its path dependencies, relative to the repository root
    (the build context)."""
    member: str
    """The module's folder relative to ``root``."""
    deps: list[str] = field(default_factory=list)
    """The dependency folders relative to ``root``, copied (and installed) before the module's source."""


def _norm(p: str) -> str:
    return posixpath.normpath(p.strip("/") or ".")


def _inside(path: str, folder: str) -> bool:
    return folder == "." or path == folder or path.startswith(folder + "/")


def python_path_deps(m: ModuleAnalysis) -> PythonPathDeps | None:
    """The layout ``m`` is built from, or None when everything it installs is inside its own folder."""
    if m.language != "python" or m.package_manager == "conda":
        return None
    here = _norm(m.path)
    outside = sorted({d for d in map(_norm, m.depends_on) if not _inside(d, here)})
    outside = [d for d in outside if not any(o != d and _inside(d, o) for o in outside)]
    if not outside:
        return None
    root = posixpath.commonpath([here, *outside]) or "."
    return PythonPathDeps(
        root=root,
        member=posixpath.relpath(here, root),
        deps=[posixpath.relpath(d, root) for d in outside],
    )
