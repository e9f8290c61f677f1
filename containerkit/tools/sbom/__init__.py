"""Software bill of materials of a container image, read from its layers without running it.

OS packages (dpkg, apk), Python, Node, Go binaries, Java archives, Ruby gems, PHP Composer and
Rust (cargo-auditable) packages, each with a purl and the layer that brought it in.
"""

from __future__ import annotations

from containerkit.tools.sbom._build import build_sbom, sbom_from_fs
from containerkit.tools.sbom._purl import pypi_normalize
from containerkit.tools.sbom.cyclonedx import sbom_to_cyclonedx
from containerkit.tools.sbom.models import Component, ComponentType, OsInfo, Sbom

__all__ = [
    "Component",
    "ComponentType",
    "OsInfo",
    "Sbom",
    "build_sbom",
    "pypi_normalize",
    "sbom_from_fs",
    "sbom_to_cyclonedx",
]
