"""Dockerfile generation and fixing, driven by the module analysis and the base-image catalog."""

from containerkit.tools.dockerfile.catalog import BaseImageCatalog, ImageProbe, ResolvedBase, load_catalog
from containerkit.tools.dockerfile.fix import (
    BuildFailureInfo,
    FailureClass,
    FixResult,
    classify_failure,
    fix_dockerfile,
)
from containerkit.tools.dockerfile.generate import (
    APP_UID,
    GeneratedDockerfile,
    build_context,
    generate_dockerfile,
    generate_dockerignore,
)

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
