"""The SBOM contract: components found in an image, each traced to the layer that brought it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from containerkit.tools.image_fs import LayerInfo

__all__ = ["Component", "ComponentType", "OsInfo", "Sbom"]

ComponentType = Literal["deb", "apk", "pypi", "npm", "golang", "maven", "gem", "composer", "cargo"]


class OsInfo(BaseModel):
    """From /etc/os-release: ``id`` "debian", ``version_id`` "12"; ``version`` the full point release."""

    id: str
    version_id: str = ""
    version: str = ""
    pretty_name: str = ""


class Component(BaseModel):
    """One package. ``type`` is its purl type; OS packages also carry their source package."""

    name: str
    version: str
    type: ComponentType
    purl: str
    namespace: str = ""
    source_name: str = ""
    source_version: str = ""
    arch: str = ""
    layer_index: int = -1
    layer_diff_id: str = ""
    layer_created_by: str = ""
    source_file: str = ""


class Sbom(BaseModel):
    image_ref: str
    image_id: str = ""
    os: OsInfo | None = None
    layers: list[LayerInfo] = Field(default_factory=list)
    components: list[Component] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    duration_s: float = 0.0

    def counts(self) -> dict[str, int]:
        """Components per purl type, for summaries."""
        out: dict[str, int] = {}
        for c in self.components:
            out[c.type] = out.get(c.type, 0) + 1
        return dict(sorted(out.items()))
