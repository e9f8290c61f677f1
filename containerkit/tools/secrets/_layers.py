"""A minimal reader of an image's layers from the engine's ``save`` archive.

The archive is streamed to a temporary file (never held in memory), then each layer tar is read as
a stream in manifest order. Whiteouts (``.wh.NAME``, ``.wh..wh..opq``) are reported so callers can
tell which files a later layer deleted. Handles the classic and the OCI layout of ``docker save``.
"""

from __future__ import annotations

import json
import posixpath
import tarfile
import tempfile
from collections.abc import Iterator
from typing import IO, Any, Literal, NamedTuple

import docker.errors
from docker import DockerClient

from containerkit.errors import DockerUnavailable
from containerkit.tools.secrets.errors import ImageArchiveInvalid, ImageNotAvailableForScan
from containerkit.tools.secrets.models import LayerRef

__all__ = ["ImageArchive", "LayerEntry", "open_image_archive"]

_WH = ".wh."
_OPAQUE = ".wh..wh..opq"
_CONFIG_MAX = 16 * 1024 * 1024


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

    def __init__(self, tar: tarfile.TarFile, config: dict[str, Any], layer_paths: list[str]) -> None:
        self._tar = tar
        self.config = config
        self._layer_paths = layer_paths
        diff_ids: list[str] = list(config.get("rootfs", {}).get("diff_ids", []))
        created = [h.get("created_by", "") for h in config.get("history", []) if not h.get("empty_layer")]
        if len(created) != len(layer_paths):
            created = [""] * len(layer_paths)
        if len(diff_ids) != len(layer_paths):
            diff_ids = [posixpath.basename(posixpath.dirname(p)) or p for p in layer_paths]
        self.layers = [
            LayerRef(index=i, diff_id=d, created_by=c) for i, (d, c) in enumerate(zip(diff_ids, created, strict=True))
        ]

    def entries(self) -> Iterator[LayerEntry]:
        for layer, member_path in zip(self.layers, self._layer_paths, strict=True):
            blob = self._tar.extractfile(member_path)
            if blob is None:
                raise ImageArchiveInvalid(f"layer {member_path} missing from the image archive")
            with tarfile.open(fileobj=blob, mode="r|*") as layer_tar:
                for m in layer_tar:
                    yield from _entry(layer, m, layer_tar)


def _entry(layer: LayerRef, m: tarfile.TarInfo, layer_tar: tarfile.TarFile) -> Iterator[LayerEntry]:
    path = m.name.lstrip("/")
    if path.startswith("./"):
        path = path[2:]
    folder, name = posixpath.split(path)
    if name == _OPAQUE:
        yield LayerEntry(layer, "opaque", folder, 0, None)
    elif name.startswith(_WH):
        yield LayerEntry(layer, "whiteout", posixpath.join(folder, name[len(_WH) :]), 0, None)
    elif m.isreg():
        yield LayerEntry(layer, "file", path, m.size, layer_tar.extractfile(m), m.mode)


def _read_json(tar: tarfile.TarFile, name: str) -> Any:
    try:
        member = tar.getmember(name)
    except KeyError:
        raise ImageArchiveInvalid(f"{name} missing from the image archive") from None
    if member.size > _CONFIG_MAX:
        raise ImageArchiveInvalid(f"{name} is implausibly large ({member.size} bytes)")
    fh = tar.extractfile(member)
    if fh is None:
        raise ImageArchiveInvalid(f"{name} is not a file in the image archive")
    return json.loads(fh.read())


class _Opened:
    def __init__(self, docker_client: DockerClient, ref: str) -> None:
        self._docker = docker_client
        self._ref = ref
        self._tmp: IO[bytes] | None = None
        self._tar: tarfile.TarFile | None = None

    def __enter__(self) -> ImageArchive:
        try:
            image = self._docker.images.get(self._ref)
            self._tmp = tempfile.TemporaryFile(prefix="ck-image-")
            for chunk in image.save(named=False):
                self._tmp.write(chunk)
        except docker.errors.ImageNotFound:
            self.__exit__()
            raise ImageNotAvailableForScan(f"image {self._ref} is not in the local engine", image=self._ref) from None
        except docker.errors.APIError as exc:
            self.__exit__()
            raise ImageNotAvailableForScan(
                f"cannot save image {self._ref}: {exc.explanation or exc}", image=self._ref
            ) from None
        except (docker.errors.DockerException, OSError) as exc:
            self.__exit__()
            raise DockerUnavailable(f"no Docker engine answers: {exc}") from None
        self._tmp.seek(0)
        self._tar = tarfile.open(fileobj=self._tmp, mode="r:")
        manifest = _read_json(self._tar, "manifest.json")
        if not isinstance(manifest, list) or not manifest:
            raise ImageArchiveInvalid("manifest.json of the image archive lists no image")
        entry = manifest[0]
        config = _read_json(self._tar, entry["Config"])
        return ImageArchive(self._tar, config, list(entry.get("Layers", [])))

    def __exit__(self, *exc: object) -> None:
        if self._tar is not None:
            self._tar.close()
        if self._tmp is not None:
            self._tmp.close()


def open_image_archive(docker_client: DockerClient, ref: str) -> _Opened:
    """``with open_image_archive(client, ref) as archive:``; the temp file goes away on exit."""
    return _Opened(docker_client, ref)
