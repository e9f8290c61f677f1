"""Deprecated: the layer walk of ``compliance.image.setuid_files``, kept as a thin view over ``image_fs``.

The secret scanner reads images through ``containerkit.tools.image_fs`` (one export shared with the
SBOM); this module only keeps ``open_image_archive`` working for its remaining caller. New code
should open the image with ``image_fs.open_image`` and use ``ImageFS.merged()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import IO, Any, Literal, NamedTuple

from docker import DockerClient

from containerkit.tools.image_fs import ImageArchiveInvalid as FsArchiveInvalid
from containerkit.tools.image_fs import ImageFS, ImageNotFound, open_image
from containerkit.tools.secrets.errors import ImageArchiveInvalid, ImageNotAvailableForScan
from containerkit.tools.secrets.models import LayerRef

__all__ = ["ImageArchive", "LayerEntry", "open_image_archive"]


class LayerEntry(NamedTuple):
    """One member of a layer; ``stream`` is only readable until the next entry is fetched."""

    layer: LayerRef
    kind: Literal["file", "whiteout", "opaque"]
    path: str  # posix, no leading slash; for a whiteout the path it deletes; for opaque the folder
    size: int
    stream: IO[bytes] | None
    mode: int = 0


class ImageArchive:
    """The saved image: its config, its layers in order, and an iterator over layer members."""

    def __init__(self, fs: ImageFS) -> None:
        self._fs = fs
        self.config: dict[str, Any] = fs.config
        self.layers = [LayerRef(index=x.index, diff_id=x.diff_id, created_by=x.created_by) for x in fs.layers]

    def entries(self) -> Iterator[LayerEntry]:
        for layer in self.layers:
            for e in self._fs.iter_entries(layer.index):
                path = e.path.lstrip("/")
                if e.kind in ("whiteout", "opaque"):
                    yield LayerEntry(layer, e.kind, path, 0, None)
                elif e.kind == "file":
                    with self._fs.open_entry(e) as stream:
                        yield LayerEntry(layer, "file", path, e.size, stream, e.mode)


class _Opened:
    def __init__(self, docker_client: DockerClient, ref: str) -> None:
        self._docker = docker_client
        self._ref = ref
        self._fs: ImageFS | None = None

    def __enter__(self) -> ImageArchive:
        try:
            self._fs = open_image(self._docker, self._ref)
        except ImageNotFound:
            raise ImageNotAvailableForScan(f"image {self._ref} is not in the local engine", image=self._ref) from None
        except FsArchiveInvalid as exc:
            raise ImageArchiveInvalid(exc.message) from None
        return ImageArchive(self._fs)

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self._fs is not None:
            self._fs.close()


def open_image_archive(docker_client: DockerClient, ref: str) -> _Opened:
    """``with open_image_archive(client, ref) as archive:``; the temp files go away on exit."""
    return _Opened(docker_client, ref)
