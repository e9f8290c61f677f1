"""How big an image is and where the bytes are: its size, each layer's size and the step that made
it, the base image's share, and (when built) a naive single-stage image of the same app to compare.

The naive image (``containerkit.tools.dockerfile.naive``) is what a developer writes first for the
app on the same base; the ratio generated / naive is what ``benchmarks/image_size.py`` and ``run
--compare-naive`` report.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["ImageSize", "LayerSize", "image_size"]


class LayerSize(BaseModel):
    """One layer that holds files: its size and the Dockerfile step that made it."""

    size_bytes: int
    created_by: str
    base: bool = False
    """The layer comes from the base image (not from this Dockerfile's steps)."""


class ImageSize(BaseModel):
    image_id: str
    size_bytes: int
    layers: list[LayerSize] = Field(default_factory=list)
    """Layers holding files, bottom first (metadata-only steps such as ENV or CMD are left out)."""
    base_image: str | None = None
    base_size_bytes: int | None = None
    naive_size_bytes: int | None = None
    naive_base_image: str | None = None
    """The image the naive Dockerfile starts from: the language's image (the first stage's)."""
    """A naive single-stage image of the same app on the same base, built in the same run (when asked)."""

    @property
    def ratio_to_naive(self) -> float | None:
        return round(self.size_bytes / self.naive_size_bytes, 3) if self.naive_size_bytes else None

    def summary(self) -> dict[str, object]:
        """The JSON faces print: sizes in bytes, layers bottom first, the ratio when a naive image was built."""
        return {**self.model_dump(mode="json"), "ratio_to_naive": self.ratio_to_naive}


def _step(created_by: str) -> str:
    """The Dockerfile step as written: the legacy builder's shell prefix and BuildKit's marker dropped."""
    text = " ".join(created_by.split()).removesuffix(" # buildkit")
    if text.startswith("RUN /bin/sh -c "):  # BuildKit
        return "RUN " + text.removeprefix("RUN /bin/sh -c ")
    for prefix in ("/bin/sh -c #(nop) ", "/bin/sh -c "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            return text if prefix.endswith("#(nop) ") else f"RUN {text}"
    return text


def image_size(docker_client: Any, image: str, *, base_image: str | None = None) -> ImageSize:
    """Size and layers of a local image (``docker history``); with ``base_image`` (local) its share too."""
    img = docker_client.images.get(image)
    history: list[dict[str, Any]] = docker_client.api.history(img.id)
    base_size: int | None = None
    base_layers = 0
    if base_image:
        try:
            base = docker_client.images.get(base_image)
            base_size = int(base.attrs.get("Size", 0))
            base_layers = len(docker_client.api.history(base.id))
        except Exception:  # noqa: BLE001 - the base's share is extra information, never a failure
            base_size, base_layers = None, 0
    layers: list[LayerSize] = []
    for i, entry in enumerate(reversed(history)):  # the API lists the newest first
        size = int(entry.get("Size") or 0)
        if size > 0:
            layers.append(
                LayerSize(size_bytes=size, created_by=_step(str(entry.get("CreatedBy", ""))), base=i < base_layers)
            )
    return ImageSize(
        image_id=img.id,
        size_bytes=int(img.attrs.get("Size", 0)),
        layers=layers,
        base_image=base_image,
        base_size_bytes=base_size,
    )
