"""Dockerfile generation and fixing, driven by the module analysis and the base-image catalog.

Names are imported on first use (PEP 562): the session state needs only ``models``, not the generator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from containerkit._lazy import lazy_attributes

if TYPE_CHECKING:
    from containerkit.tools.dockerfile.catalog import BaseImageCatalog, ImageProbe, ResolvedBase, load_catalog
    from containerkit.tools.dockerfile.fix import FailureClass, FixResult, classify_failure, fix_dockerfile
    from containerkit.tools.dockerfile.generate import (
        APP_UID,
        GeneratedDockerfile,
        build_context,
        generate_dockerfile,
        generate_dockerignore,
    )
    from containerkit.tools.dockerfile.models import BuildFailureInfo

__all__ = [
    "APP_UID",
    "BaseImageCatalog",
    "BuildFailureInfo",
    "FailureClass",
    "FixResult",
    "GeneratedDockerfile",
    "ImageProbe",
    "ResolvedBase",
    "build_context",
    "classify_failure",
    "fix_dockerfile",
    "generate_dockerfile",
    "generate_dockerignore",
    "load_catalog",
]

_HOME = {
    "BaseImageCatalog": "catalog",
    "ImageProbe": "catalog",
    "ResolvedBase": "catalog",
    "load_catalog": "catalog",
    "FailureClass": "fix",
    "FixResult": "fix",
    "classify_failure": "fix",
    "fix_dockerfile": "fix",
    "APP_UID": "generate",
    "GeneratedDockerfile": "generate",
    "build_context": "generate",
    "generate_dockerfile": "generate",
    "generate_dockerignore": "generate",
    "BuildFailureInfo": "models",
}


__getattr__ = lazy_attributes(__name__, _HOME)
