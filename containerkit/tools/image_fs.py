"""Read an image's filesystem from its layers without running it (SBOM, secrets scanning).

When the engine runs on this machine with the overlay2 driver and its store is readable, the layers
are read in place from the store (each layer's unpacked folder), so nothing is exported and a
rebuilt image costs a walk of its folders, its new layers' content only when a scanner reads it.
Otherwise the image is saved once to a temporary archive on disk (``docker save`` layout or OCI layout);
layers are read in place by offset, so a 200 MB layer costs disk, not memory. Every layer's
entries are visible, whiteouts included, so files deleted by a later layer can still be scanned;
the merged view (what a container would see) applies whiteouts and opaque directories.

Typical use::

    with open_image(docker_client, "shop/api:1.2") as fs:
        for layer in fs.layers:
            for entry in fs.iter_entries(layer.index):
                ...
        text = fs.read_file("/etc/os-release")
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, ClassVar, Literal, NamedTuple

from pydantic import BaseModel

from containerkit.errors import ContainerKitError, DockerUnavailable

__all__ = [
    "DEFAULT_MAX_READ",
    "EntryKind",
    "FileTooLarge",
    "ImageArchiveInvalid",
    "ImageFS",
    "ImageFileNotFound",
    "ImageNotFound",
    "LayerCache",
    "LayerEntry",
    "LayerInfo",
    "open_image",
]

DEFAULT_MAX_READ = 16 * 1024 * 1024
_CHUNK = 1024 * 1024
_WH_PREFIX = ".wh."
_WH_OPAQUE = ".wh..wh..opq"

EntryKind = Literal["file", "dir", "symlink", "hardlink", "whiteout", "opaque", "other"]


class ImageNotFound(ContainerKitError):
    code: ClassVar[str] = "CK240"
    exit_code: ClassVar[int] = 2
    default_hint: ClassVar[str] = "Check the name with `docker images`; build or load the image first."


class ImageArchiveInvalid(ContainerKitError):
    code: ClassVar[str] = "CK241"
    default_hint: ClassVar[str] = (
        "The image archive could not be read (truncated save, unknown layout or layer compression); "
        "save it again with `docker save`."
    )


class FileTooLarge(ContainerKitError):
    code: ClassVar[str] = "CK242"
    default_hint: ClassVar[str] = "Read it as a stream with ImageFS.open_entry() or raise max_bytes."


class ImageFileNotFound(ContainerKitError):
    code: ClassVar[str] = "CK243"
    exit_code: ClassVar[int] = 2
    default_hint: ClassVar[str] = "The path does not exist in the image's merged filesystem."


class LayerInfo(BaseModel):
    """One filesystem layer, bottom first; ``created_by`` is the Dockerfile step that made it."""

    index: int
    diff_id: str
    created_by: str = ""
    size: int = 0


class LayerEntry(BaseModel):
    """One tar entry of one layer. ``path`` is absolute and normalised ("/usr/bin/env").

    For a whiteout, ``path`` is the path it deletes; for an opaque marker, the directory whose
    lower content it hides.
    """

    layer: int
    path: str
    kind: EntryKind
    size: int = 0
    mode: int = 0
    link_target: str = ""
    # where the content lives in the layer's backing file (internal; hardlinks resolved)
    data_offset: int = -1

    @property
    def is_executable(self) -> bool:
        return self.kind == "file" and bool(self.mode & 0o111)


class _LayerSource(BaseModel):
    path: Path
    offset: int
    size: int
    folder: bool = False
    """``path`` is the layer's unpacked folder in the engine's store (overlay2 ``diff``), not a tar."""


class _Window(io.RawIOBase):
    """A read-only, seekable view of ``size`` bytes at ``offset`` of a file: no copy in memory."""

    def __init__(self, path: Path, offset: int, size: int) -> None:
        super().__init__()
        self._fh = open(path, "rb")  # noqa: SIM115 - closed with the window
        self._offset = offset
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        n = min(len(view), self._size - self._pos)
        if n <= 0:
            return 0
        self._fh.seek(self._offset + self._pos)
        got = self._fh.readinto(view[:n])
        self._pos += got
        return got

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()


def _norm(name: str) -> str:
    return posixpath.normpath("/" + name.lstrip("/"))


class ImageFS:
    """An image's layers, read from a saved archive. Use as a context manager (temp files)."""

    def __init__(
        self,
        archive: Path,
        *,
        workdir: Path | None = None,
        owns_archive: bool = False,
        _folders: tuple[bytes, list[Path]] | None = None,
    ) -> None:
        self._archive = archive
        self._owns_archive = owns_archive
        self._tmp = Path(tempfile.mkdtemp(prefix="ck-imagefs-", dir=workdir))
        self._sources: list[_LayerSource] = []
        self._entries: list[list[LayerEntry]] = []
        self._merged: dict[str, LayerEntry] | None = None
        self._history: dict[str, list[LayerEntry]] | None = None
        self.config: dict[str, Any] = {}
        self.image_id = ""
        self.layers: list[LayerInfo] = []
        try:
            if _folders is None:
                self._load()
            else:
                self._load_folders(*_folders)
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_layer_folders(cls, config: bytes, folders: list[Path], *, workdir: Path | None = None) -> ImageFS:
        """Open an image from its image config and its layers' unpacked folders (bottom first), as the
        engine's overlay2 store keeps them: nothing is exported, and a layer is only walked."""
        return cls(Path(os.devnull), workdir=workdir, _folders=(config, folders))

    def _load_folders(self, raw: bytes, folders: list[Path]) -> None:
        self.image_id = "sha256:" + hashlib.sha256(raw).hexdigest()
        try:
            config = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ImageArchiveInvalid(f"the image config is not JSON: {exc}") from None
        if not isinstance(config, dict):
            raise ImageArchiveInvalid("the image config is not a JSON object")
        self.config = config
        diff_ids: list[str] = list((config.get("rootfs") or {}).get("diff_ids") or [])
        if len(diff_ids) != len(folders):
            raise ImageArchiveInvalid(f"the image has {len(diff_ids)} layers and the store {len(folders)} folders")
        created = [
            str(h.get("created_by", ""))
            for h in (config.get("history") or [])
            if isinstance(h, dict) and not h.get("empty_layer")
        ]
        for i, folder in enumerate(folders):
            self._sources.append(_LayerSource(path=folder, offset=0, size=0, folder=True))
            entries = self._walk_folder(i, folder)
            self._entries.append(entries)
            size = sum(e.size for e in entries if e.kind == "file")
            self.layers.append(
                LayerInfo(index=i, diff_id=diff_ids[i], created_by=created[i] if i < len(created) else "", size=size)
            )

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def from_archive(cls, path: Path, *, workdir: Path | None = None) -> ImageFS:
        """Open a ``docker save`` or OCI-layout tar already on disk."""
        if not path.is_file():
            raise ImageArchiveInvalid(f"no image archive at {path}")
        return cls(path, workdir=workdir)

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)
        if self._owns_archive:
            self._archive.unlink(missing_ok=True)

    def __enter__(self) -> ImageFS:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- reading the archive -----------------------------------------------------------------

    def _load(self) -> None:
        try:
            with tarfile.open(self._archive, mode="r:") as outer:
                members = {_norm(m.name).lstrip("/"): m for m in outer.getmembers()}
                config, layer_names = self._read_manifest(outer, members)
                self.config = config
                diff_ids: list[str] = list((config.get("rootfs") or {}).get("diff_ids") or [])
                created = [
                    str(h.get("created_by", ""))
                    for h in (config.get("history") or [])
                    if isinstance(h, dict) and not h.get("empty_layer")
                ]
                for i, name in enumerate(layer_names):
                    member = members.get(_norm(name).lstrip("/"))
                    if member is None or not member.isfile():
                        raise ImageArchiveInvalid(
                            f"layer {name} listed in the manifest is missing from {self._archive}"
                        )
                    src = self._layer_source(outer, member, i)
                    self._sources.append(src)
                    self.layers.append(
                        LayerInfo(
                            index=i,
                            diff_id=diff_ids[i] if i < len(diff_ids) else "",
                            created_by=created[i] if i < len(created) else "",
                            size=src.size,
                        )
                    )
        except (tarfile.TarError, EOFError, OSError, gzip.BadGzipFile, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ImageArchiveInvalid(f"cannot read image archive {self._archive}: {exc}") from None
        for i in range(len(self._sources)):
            self._entries.append(self._scan_layer(i))

    @staticmethod
    def _json(outer: tarfile.TarFile, member: tarfile.TarInfo | None, what: str) -> Any:
        if member is None:
            raise ImageArchiveInvalid(f"the image archive has no {what}")
        fh = outer.extractfile(member)
        if fh is None:
            raise ImageArchiveInvalid(f"the image archive's {what} is not a file")
        with fh:
            return json.loads(fh.read(min(member.size, DEFAULT_MAX_READ)))

    def _read_manifest(
        self, outer: tarfile.TarFile, members: dict[str, tarfile.TarInfo]
    ) -> tuple[dict[str, Any], list[str]]:
        if "manifest.json" in members:
            manifest = self._json(outer, members["manifest.json"], "manifest.json")
            if not isinstance(manifest, list) or not manifest or not isinstance(manifest[0], dict):
                raise ImageArchiveInvalid("manifest.json of the image archive is not a list of images")
            entry = manifest[0]
            config = self._config(outer, members.get(_norm(str(entry.get("Config", ""))).lstrip("/")))
            return config, [str(x) for x in entry.get("Layers") or []]
        if "index.json" in members:  # OCI layout
            doc = self._json(outer, members["index.json"], "index.json")
            for _ in range(4):  # follow nested indexes to the first image manifest
                manifests = doc.get("manifests") or []
                if not manifests:
                    break
                chosen = next(
                    (m for m in manifests if (m.get("platform") or {}).get("architecture") in (None, "amd64")),
                    manifests[0],
                )
                doc = self._json(outer, members.get(self._blob(chosen)), f"blob {chosen.get('digest')}")
                if "layers" in doc:
                    config = self._config(outer, members.get(self._blob(doc.get("config") or {})))
                    return config, [self._blob(layer) for layer in doc["layers"]]
            raise ImageArchiveInvalid("the OCI index of the image archive names no image manifest")
        raise ImageArchiveInvalid("the image archive has neither manifest.json nor index.json")

    def _config(self, outer: tarfile.TarFile, member: tarfile.TarInfo | None) -> dict[str, Any]:
        """The image config; its sha256 is the image id the engine shows."""
        fh = outer.extractfile(member) if member is not None else None
        if fh is None:
            raise ImageArchiveInvalid("the image archive has no image config")
        with fh:
            raw = fh.read(min(member.size if member else 0, DEFAULT_MAX_READ))
        self.image_id = "sha256:" + hashlib.sha256(raw).hexdigest()
        config = json.loads(raw)
        if not isinstance(config, dict):
            raise ImageArchiveInvalid("the image config is not a JSON object")
        return config

    @staticmethod
    def _blob(desc: dict[str, Any]) -> str:
        algo, _, hexd = str(desc.get("digest", "")).partition(":")
        return f"blobs/{algo}/{hexd}"

    def _layer_source(self, outer: tarfile.TarFile, member: tarfile.TarInfo, index: int) -> _LayerSource:
        """Uncompressed layers are read in place; compressed ones are inflated to a temp file once."""
        with open(self._archive, "rb") as fh:
            fh.seek(member.offset_data)
            magic = fh.read(4)
        if magic[:2] == b"\x1f\x8b":
            target = self._tmp / f"layer-{index}.tar"
            src = outer.extractfile(member)
            assert src is not None
            with src, gzip.GzipFile(fileobj=src) as gz, open(target, "wb") as out:
                shutil.copyfileobj(gz, out, _CHUNK)
            return _LayerSource(path=target, offset=0, size=target.stat().st_size)
        if magic == b"\x28\xb5\x2f\xfd":
            raise ImageArchiveInvalid(f"layer {member.name} is zstd-compressed, which is not supported")
        return _LayerSource(path=self._archive, offset=member.offset_data, size=member.size)

    @staticmethod
    def _walk_folder(index: int, root: Path) -> list[LayerEntry]:
        """A layer folder's entries, as its tar would list them: overlay whiteouts (character devices
        0/0) and opaque directories (the ``overlay.opaque`` attribute) become their markers."""
        out: list[LayerEntry] = []

        def walk(folder: str, rel: str) -> None:
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                raise ImageArchiveInvalid(f"cannot read layer {index} in the engine's store: {exc}") from None
            for entry in entries:
                path = f"{rel}/{entry.name}"
                st = entry.stat(follow_symlinks=False)
                mode = stat.S_IMODE(st.st_mode)
                if stat.S_ISDIR(st.st_mode):
                    out.append(LayerEntry(layer=index, path=path, kind="dir", mode=mode))
                    if _opaque(entry.path):
                        out.append(LayerEntry(layer=index, path=path, kind="opaque"))
                    walk(entry.path, path)
                elif stat.S_ISREG(st.st_mode):
                    out.append(
                        LayerEntry(layer=index, path=path, kind="file", size=st.st_size, mode=mode, data_offset=0)
                    )
                elif stat.S_ISLNK(st.st_mode):
                    link = os.readlink(entry.path)
                    out.append(LayerEntry(layer=index, path=path, kind="symlink", link_target=link, mode=mode))
                elif stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                    out.append(LayerEntry(layer=index, path=path, kind="whiteout"))
                else:
                    out.append(LayerEntry(layer=index, path=path, kind="other", mode=mode))

        try:
            top = root.stat()
        except OSError as exc:
            raise ImageArchiveInvalid(f"cannot read layer {index} in the engine's store: {exc}") from None
        out.append(LayerEntry(layer=index, path="/", kind="dir", mode=stat.S_IMODE(top.st_mode)))
        walk(str(root), "")
        return out

    def _scan_layer(self, index: int) -> list[LayerEntry]:
        src = self._sources[index]
        out: list[LayerEntry] = []
        by_name: dict[str, LayerEntry] = {}
        try:
            with open(src.path, "rb") as fh:
                for h in _tar_headers(fh, src.offset, src.size):
                    path = _norm(h.name)
                    base = posixpath.basename(path)
                    parent = posixpath.dirname(path)
                    if base == _WH_OPAQUE:
                        entry = LayerEntry(layer=index, path=parent, kind="opaque")
                    elif base.startswith(_WH_PREFIX):
                        wh = posixpath.join(parent, base[len(_WH_PREFIX) :])
                        entry = LayerEntry(layer=index, path=wh, kind="whiteout")
                    elif h.type in (b"0", b"\0", b"7"):
                        entry = LayerEntry(
                            layer=index, path=path, kind="file", size=h.size, mode=h.mode, data_offset=h.data_offset
                        )
                    elif h.type == b"5":
                        entry = LayerEntry(layer=index, path=path, kind="dir", mode=h.mode)
                    elif h.type == b"2":
                        entry = LayerEntry(layer=index, path=path, kind="symlink", link_target=h.link, mode=h.mode)
                    elif h.type == b"1":
                        target = by_name.get(_norm(h.link))
                        entry = LayerEntry(
                            layer=index,
                            path=path,
                            kind="hardlink",
                            link_target=_norm(h.link),
                            size=target.size if target else 0,
                            mode=h.mode,
                            data_offset=target.data_offset if target else -1,
                        )
                    else:
                        entry = LayerEntry(layer=index, path=path, kind="other", mode=h.mode)
                    by_name[path] = entry
                    out.append(entry)
        except (_TarCorrupt, OSError, ValueError) as exc:
            raise ImageArchiveInvalid(
                f"layer {index} ({self.layers[index].diff_id}) is not a readable tar: {exc}"
            ) from None
        return out

    # -- public reading API ------------------------------------------------------------------

    def iter_entries(self, layer: int) -> Iterator[LayerEntry]:
        """Entries of one layer in archive order, whiteouts and opaque markers included."""
        return iter(self._entries[layer])

    def merged(self) -> dict[str, LayerEntry]:
        """The filesystem a container would see: path -> the entry of the topmost layer providing it."""
        if self._merged is None:
            view: dict[str, LayerEntry] = {}
            for entries in self._entries:
                hidden = {e.path for e in entries if e.kind == "whiteout"}
                opaque = {e.path for e in entries if e.kind == "opaque"}
                if hidden or opaque:
                    view = {p: e for p, e in view.items() if not _covered(p, hidden, opaque)}
                for e in entries:
                    if e.kind not in ("whiteout", "opaque"):
                        view[e.path] = e
            self._merged = view
        return self._merged

    def history(self, path: str) -> list[LayerEntry]:
        """Every layer's entry for exactly ``path``, bottom first, whiteouts included."""
        if self._history is None:
            idx: dict[str, list[LayerEntry]] = {}
            for entries in self._entries:
                for e in entries:
                    idx.setdefault(e.path, []).append(e)
            self._history = idx
        return list(self._history.get(_norm(path), []))

    def entry(self, path: str, *, follow_symlinks: bool = True) -> LayerEntry:
        """The merged-view entry at ``path`` (symlinks followed, at most 40 hops)."""
        view = self.merged()
        cur = _norm(path)
        for _ in range(40):
            e = view.get(cur)
            if e is None:
                e = self._resolve_parents(cur, view)
            if e is None:
                raise ImageFileNotFound(f"{path} does not exist in the image")
            if e.kind != "symlink" or not follow_symlinks:
                return e
            cur = _norm(posixpath.join(posixpath.dirname(e.path), e.link_target))
        raise ImageFileNotFound(f"{path}: too many levels of symbolic links")

    @staticmethod
    def _resolve_parents(path: str, view: dict[str, LayerEntry]) -> LayerEntry | None:
        """Resolve a symlinked directory in the middle of ``path`` (e.g. /lib -> usr/lib)."""
        parts = path.strip("/").split("/")
        for i in range(len(parts) - 1, 0, -1):
            head = "/" + "/".join(parts[:i])
            e = view.get(head)
            if e is not None and e.kind == "symlink":
                target = _norm(posixpath.join(posixpath.dirname(head), e.link_target))
                return view.get(_norm(target + "/" + "/".join(parts[i:])))
        return None

    def exists(self, path: str) -> bool:
        try:
            self.entry(path)
        except ImageFileNotFound:
            return False
        return True

    def open_entry(self, entry: LayerEntry) -> IO[bytes]:
        """A seekable stream over a file entry's content (any layer, deleted or not); close it."""
        if entry.kind not in ("file", "hardlink") or entry.data_offset < 0:
            raise ImageFileNotFound(f"{entry.path} in layer {entry.layer} is not a regular file")
        src = self._sources[entry.layer]
        if src.folder:
            return open(src.path / entry.path.lstrip("/"), "rb")
        return io.BufferedReader(_Window(src.path, src.offset + entry.data_offset, entry.size), _CHUNK)

    def read_entry(self, entry: LayerEntry, *, max_bytes: int = DEFAULT_MAX_READ) -> bytes:
        """The whole content of an entry; FileTooLarge past ``max_bytes`` so nothing huge lands in memory."""
        if entry.size > max_bytes:
            raise FileTooLarge(
                f"{entry.path} in layer {entry.layer} is {entry.size} bytes, over the {max_bytes}-byte limit"
            )
        with self.open_entry(entry) as fh:
            return fh.read(entry.size)

    def read_head(self, entry: LayerEntry, n: int) -> bytes:
        """The first ``n`` bytes of an entry (magic numbers, headers)."""
        with self.open_entry(entry) as fh:
            return fh.read(min(n, entry.size))

    def read_file(self, path: str, *, max_bytes: int = DEFAULT_MAX_READ) -> bytes:
        """Content of ``path`` in the merged view (symlinks followed), bounded by ``max_bytes``."""
        return self.read_entry(self.entry(path), max_bytes=max_bytes)

    def find(self, predicate: Callable[[LayerEntry], bool]) -> Iterator[LayerEntry]:
        """Merged-view regular files for which ``predicate`` holds, in path order."""
        for path in sorted(self.merged()):
            e = self.merged()[path]
            if e.kind in ("file", "hardlink") and predicate(e):
                yield e


class _TarCorrupt(Exception):
    pass


class _Header(NamedTuple):
    name: str
    type: bytes
    size: int
    mode: int
    link: str
    data_offset: int  # relative to the start of the layer


def _num(field: bytes) -> int:
    if field[:1] and field[0] & 0x80:  # GNU base-256 for large sizes
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0].strip()
    return int(text, 8) if text else 0


def _str(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _tar_headers(fh: IO[bytes], offset: int, size: int) -> Iterator[_Header]:
    """Headers of a plain tar at ``offset`` of ``fh``: seeks over file data, so listing a layer
    costs one small read per entry whatever its size. Handles ustar prefixes, GNU long names and
    PAX path/linkpath/size records."""
    pos = 0
    long_name = long_link = None
    pax: dict[str, str] = {}
    while pos + 512 <= size:
        fh.seek(offset + pos)
        hdr = fh.read(512)
        if len(hdr) < 512:
            raise _TarCorrupt(f"truncated header at byte {pos}")
        if hdr.count(0) == 512:
            return
        try:
            expected = _num(hdr[148:156])
            entry_size = _num(hdr[124:136])
            mode = _num(hdr[100:108])
        except ValueError:
            raise _TarCorrupt(f"bad header at byte {pos}") from None
        if expected != sum(hdr[:148]) + 256 + sum(hdr[156:]):
            raise _TarCorrupt(f"header checksum mismatch at byte {pos}")
        kind = hdr[156:157]
        data = pos + 512
        nxt = data + (entry_size + 511) // 512 * 512
        if nxt > size:
            raise _TarCorrupt(f"entry at byte {pos} runs past the end of the layer")
        if kind in (b"L", b"K", b"x"):
            payload = fh.read(min(entry_size, 1 << 20))
            if kind == b"L":
                long_name = _str(payload)
            elif kind == b"K":
                long_link = _str(payload)
            else:
                pax.update(_pax(payload))
            pos = nxt
            continue
        if kind == b"g":
            pos = nxt
            continue
        name = _str(hdr[0:100])
        if hdr[257:263] == b"ustar\0" and hdr[345] != 0:
            name = _str(hdr[345:500]) + "/" + name
        link = _str(hdr[157:257])
        name = pax.get("path") or long_name or name
        link = pax.get("linkpath") or long_link or link
        if "size" in pax:
            entry_size = int(pax["size"])
            nxt = data + (entry_size + 511) // 512 * 512
        yield _Header(name, kind, entry_size, mode, link, data)
        long_name = long_link = None
        pax = {}
        pos = nxt


def _pax(payload: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(payload):
        space = payload.find(b" ", pos)
        if space < 0:
            break
        length = int(payload[pos:space])
        record = payload[space + 1 : pos + length - 1]
        key, _, value = record.partition(b"=")
        out[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out


def _covered(path: str, hidden: set[str], opaque: set[str]) -> bool:
    """Whether a lower-layer path is removed by a whiteout (itself or an ancestor) or an opaque dir."""
    cur = path
    while True:
        if cur in hidden:
            return True
        parent = posixpath.dirname(cur)
        if parent in opaque:
            return True
        if parent == cur:
            return False
        cur = parent


_DIFF_ID = re.compile(r"sha256:([0-9a-f]{64})")


def _opaque(path: str) -> bool:
    """An overlay directory that hides the lower layers' content (``trusted.`` as root, ``user.`` rootless)."""
    for name in ("trusted.overlay.opaque", "user.overlay.opaque"):
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def _store_folders(docker_client: Any, inspect: dict[str, Any]) -> tuple[bytes, list[Path]] | None:
    """The image config and layer folders (bottom first) in a local engine's overlay2 store, when this
    process can read them; None otherwise (a remote engine, another storage driver, no permission)."""
    data = (inspect.get("GraphDriver") or {}).get("Data") or {}
    if (inspect.get("GraphDriver") or {}).get("Name") != "overlay2" or not data.get("UpperDir"):
        return None
    base_url = str(getattr(getattr(docker_client, "api", None), "base_url", ""))
    if not base_url.startswith(("http+docker://localhost", "http+docker://localunixsocket")):
        return None  # the engine is not on this machine: its paths are not ours
    upper = Path(str(data["UpperDir"]))
    lower = [Path(p) for p in str(data.get("LowerDir") or "").split(":") if p]
    folders = [*reversed(lower), upper]
    image_id = str(inspect.get("Id") or "")
    if not image_id.startswith("sha256:"):
        return None
    root = upper.parent.parent.parent  # <root>/overlay2/<layer>/diff
    config = root / "image" / "overlay2" / "imagedb" / "content" / "sha256" / image_id.removeprefix("sha256:")
    try:
        raw = config.read_bytes()
    except OSError:
        return None
    if "sha256:" + hashlib.sha256(raw).hexdigest() != image_id:
        return None
    if not all(os.access(f, os.R_OK | os.X_OK) and f.is_dir() for f in folders):
        return None
    return raw, folders


class LayerCache:
    """Per-layer results of the scanners, on disk under ``<cache_dir>/scan/<diff id>.json``.

    A layer's diff id is the sha256 of its content, so what was derived from a layer stays true
    for every image that shares it: a rebuilt app image only costs its new layers. Each file holds
    one entry per part (``"secrets"``, ``"sbom"``), stamped with the ``version`` its producer passes
    (a format number plus, for secrets, a digest of the rules); a stamp that differs is a miss, so a
    rule change invalidates old results. Unreadable or foreign files are misses too, never errors,
    and writes are atomic (temp file + rename), so concurrent scans cannot leave half a file.
    Callers store derived, redacted facts only: never file content, never a secret value.
    """

    def __init__(self, cache_dir: Path | None) -> None:
        self.root = cache_dir / "scan" if cache_dir is not None else None
        self._docs: dict[str, dict[str, Any]] = {}
        self.hits = 0
        self.misses = 0

    def _key(self, diff_id: str) -> str | None:
        m = _DIFF_ID.fullmatch(diff_id)
        return m.group(1) if m and self.root is not None else None

    def _doc(self, key: str) -> dict[str, Any]:
        if key not in self._docs:
            assert self.root is not None
            doc: Any = {}
            try:
                doc = json.loads((self.root / f"{key}.json").read_text("utf-8"))
            except (OSError, ValueError):
                doc = {}
            self._docs[key] = doc if isinstance(doc, dict) else {}
        return self._docs[key]

    def get(self, diff_id: str, part: str, version: str) -> Any | None:
        """The stored result of ``part`` for the layer, or None (no cache, no entry, other version)."""
        key = self._key(diff_id)
        if key is None:
            return None
        entry = self._doc(key).get(part)
        if isinstance(entry, dict) and entry.get("version") == version and "data" in entry:
            self.hits += 1
            return entry["data"]
        self.misses += 1
        return None

    def put(self, diff_id: str, part: str, version: str, data: Any) -> None:
        """Store ``data`` (JSON-able) for the layer; a cache that cannot be written is skipped silently."""
        key = self._key(diff_id)
        if key is None or self.root is None:
            return
        doc = self._doc(key)
        doc[part] = {"version": version, "data": data}
        target = self.root / f"{key}.json"
        tmp: str | None = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.root)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, separators=(",", ":"))
            os.replace(tmp, target)
        except OSError:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def open_image(docker_client: Any, image_ref: str, *, workdir: Path | None = None) -> ImageFS:
    """Save ``image_ref`` from the engine to a temp archive (streamed, never whole in memory) and open it."""
    import docker.errors

    try:
        image = docker_client.images.get(image_ref)
    except docker.errors.ImageNotFound:
        raise ImageNotFound(f"image {image_ref!r} is not in the local engine") from None
    except docker.errors.APIError as exc:
        if getattr(exc, "status_code", None) in (400, 404):
            raise ImageNotFound(f"image {image_ref!r} is not in the local engine ({exc.explanation})") from None
        raise DockerUnavailable(f"the engine failed to look up {image_ref!r}: {exc}") from None
    except (docker.errors.DockerException, OSError) as exc:
        raise DockerUnavailable(f"no Docker engine answers: {exc}") from None
    with contextlib.suppress(ImageArchiveInvalid, OSError):
        stored = _store_folders(docker_client, image.attrs)
        if stored is not None:
            return ImageFS.from_layer_folders(*stored, workdir=workdir)
    fd, name = tempfile.mkstemp(prefix="ck-image-", suffix=".tar", dir=workdir)
    archive = Path(name)
    try:
        with open(fd, "wb") as out:
            for chunk in image.save(chunk_size=4 * _CHUNK, named=False):
                out.write(chunk)
    except (docker.errors.DockerException, OSError) as exc:
        archive.unlink(missing_ok=True)
        raise DockerUnavailable(f"the engine failed to export {image_ref!r}: {exc}") from None
    except BaseException:
        archive.unlink(missing_ok=True)
        raise
    return ImageFS(archive, workdir=workdir, owns_archive=True)
