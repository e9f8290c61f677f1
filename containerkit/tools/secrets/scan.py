"""Scan a build context or a built image for credentials; results carry redacted matches only."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from docker import DockerClient
from pydantic import BaseModel

from containerkit.errors import NotADirectory, PathNotFound
from containerkit.tools.image_fs import ImageArchiveInvalid as FsArchiveInvalid
from containerkit.tools.image_fs import ImageFS, ImageNotFound, LayerCache, open_image
from containerkit.tools.secrets._context import context_files
from containerkit.tools.secrets._rules import IMAGE_SKIPPED_TREES, RULES_VERSION, is_dependency_doc
from containerkit.tools.secrets._scan import Tally
from containerkit.tools.secrets.errors import ImageArchiveInvalid, ImageNotAvailableForScan
from containerkit.tools.secrets.models import LayerRef, SecretFinding, SecretScanReport, SkippedFile

__all__ = ["DEFAULT_MAX_FILE_BYTES", "scan_context_secrets", "scan_image_secrets", "scan_text_secrets"]

DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024
_CACHE_FORMAT = 1  # of the cached per-layer part; bump when _LayerSecrets changes


def scan_context_secrets(path: Path, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> SecretScanReport:
    """Scan what ``docker build`` would send from ``path`` (``.dockerignore`` honoured)."""
    root = Path(path)
    if not root.exists():
        raise PathNotFound(f"build context {root} does not exist", path=str(root))
    if not root.is_dir():
        raise NotADirectory(f"build context {root} is not a folder", path=str(root))
    started = time.monotonic()
    tally = Tally(max_file_bytes)
    for rel, full in context_files(root):
        try:
            size = full.stat().st_size
            if size > max_file_bytes:
                tally.skip(rel, "too_large", size, None)
                continue
            with full.open("rb") as fh:
                tally.scan_stream(rel, size, fh, "context")
        except OSError:
            tally.skip(rel, "unreadable", 0, None)
    return _report(str(root), "context", tally, 0, started)


def scan_image_secrets(
    docker_client: DockerClient | None,
    ref: str,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    fs: ImageFS | None = None,
    cache_dir: Path | None = None,
) -> SecretScanReport:
    """Scan every layer of a local image, files deleted by later layers included, plus its config.

    ``fs`` is an image already opened with ``image_fs.open_image`` (the scan then exports nothing;
    ``ref`` only names the target); without it the image is exported from the engine. With
    ``cache_dir`` each layer's (redacted) findings are kept under ``<cache_dir>/scan/<diff id>.json``
    and a layer already scanned under the same rules is not read again. Documentation trees
    (``usr/share/doc``, ``man``, ``locale``, ...) are not read: they are counted in
    ``skipped_documentation``. Never pulls: a missing image raises ImageNotAvailableForScan.
    """
    started = time.monotonic()
    if fs is not None:
        return _scan_fs(fs, ref, max_file_bytes, LayerCache(cache_dir), started)
    if docker_client is None:
        raise ValueError("scan_image_secrets needs a docker client or an opened image (fs=)")
    try:
        opened = open_image(docker_client, ref)
    except ImageNotFound as exc:
        raise ImageNotAvailableForScan(f"image {ref} is not in the local engine", image=ref) from exc
    except FsArchiveInvalid as exc:
        raise ImageArchiveInvalid(exc.message) from None
    with opened:
        return _scan_fs(opened, ref, max_file_bytes, LayerCache(cache_dir), started)


def scan_text_secrets(text: str, *, name: str = "<text>") -> list[SecretFinding]:
    """Scan one in-memory text (a Dockerfile, a manifest); for callers that already hold it."""
    tally = Tally(len(text.encode()))
    tally.scan_text(name, text, "context")
    return tally.findings


def _scan_config(config: dict[str, Any], tally: Tally) -> None:
    """ENV values and build arguments recorded in history end up in the image for anyone to read."""
    cfg = config.get("config") or {}
    env = cfg.get("Env") or []
    if env:
        tally.scan_text("config:Env", "\n".join(str(e) for e in env), "image-config")
    labels = cfg.get("Labels") or {}
    if labels:
        tally.scan_text("config:Labels", "\n".join(f"{k}={v}" for k, v in labels.items()), "image-config")
    for i, h in enumerate(config.get("history") or []):
        created_by = str(h.get("created_by", ""))
        if created_by:
            tally.scan_text(f"history[{i}]", created_by, "image-history")


def _scan_fs(fs: ImageFS, ref: str, max_file_bytes: int, cache: LayerCache, started: float) -> SecretScanReport:
    tally = Tally(max_file_bytes)
    _scan_config(fs.config, tally)
    refs = [LayerRef(index=layer.index, diff_id=layer.diff_id, created_by=layer.created_by) for layer in fs.layers]
    version = f"{_CACHE_FORMAT}:{RULES_VERSION}:{max_file_bytes}"
    for layer, lref in zip(fs.layers, refs, strict=True):
        data = cache.get(layer.diff_id, "secrets", version)
        part = _LayerSecrets.model_validate(data) if isinstance(data, dict) else None
        if part is None:
            part = _scan_layer(fs, layer.index, max_file_bytes)
            cache.put(layer.diff_id, "secrets", version, part.model_dump(mode="json"))
        tally.add_layer(part, lref)
    _mark_removed(fs, tally.findings, refs)
    report = _report(ref, "image", tally, len(fs.layers), started)
    report.skipped_documentation = tally.skipped_documentation
    return report


class _LayerSecrets(BaseModel):
    """What one layer holds, as cached: counts and redacted findings (``layer`` unset), no content."""

    findings: list[SecretFinding] = []
    files_scanned: int = 0
    bytes_scanned: int = 0
    skipped_binary: int = 0
    skipped_documentation: int = 0
    skipped: list[SkippedFile] = []
    skipped_total: int = 0


def _scan_layer(fs: ImageFS, index: int, max_file_bytes: int) -> _LayerSecrets:
    tally = Tally(max_file_bytes)
    for entry in fs.iter_entries(index):
        if entry.kind != "file":  # hardlinks share their target's content, scanned once
            continue
        path = entry.path.lstrip("/")
        if path.startswith(IMAGE_SKIPPED_TREES) or is_dependency_doc(path):
            tally.skipped_documentation += 1
            continue
        if entry.size > max_file_bytes:
            tally.skip(path, "too_large", entry.size, None)
            continue
        try:
            with fs.open_entry(entry) as fh:
                tally.scan_stream(path, entry.size, fh, "layer", None)
        except OSError:
            tally.skip(path, "unreadable", entry.size, None)
    for s in tally.skipped:
        s.layer_index = index
    return _LayerSecrets(
        findings=tally.findings,
        files_scanned=tally.files_scanned,
        bytes_scanned=tally.bytes_scanned,
        skipped_binary=tally.skipped_binary,
        skipped_documentation=tally.skipped_documentation,
        skipped=tally.skipped,
        skipped_total=tally.skipped_total,
    )


def _mark_removed(fs: ImageFS, findings: list[SecretFinding], refs: list[LayerRef]) -> None:
    """A finding's file is gone from the final filesystem once a later layer whites it (or a parent
    folder) out, hides it under an opaque folder, or puts another entry at its path."""
    pending = [f for f in findings if f.source == "layer" and f.layer is not None]
    if not pending:
        return
    for j in range(1, len(refs)):
        if not pending:
            return
        exact: set[str] = set()
        gone: set[str] = set()  # whiteouts: the path and everything below it
        opaque: set[str] = set()  # everything below it, from lower layers
        for e in fs.iter_entries(j):
            if e.kind == "whiteout":
                gone.add(e.path.lstrip("/"))
            elif e.kind == "opaque":
                opaque.add(e.path.lstrip("/"))
            else:
                exact.add(e.path.lstrip("/"))
        still = []
        for f in pending:
            assert f.layer is not None
            if f.layer.index < j and _removed(f.path, exact, gone, opaque):
                f.removed_in_layer, f.in_final_image = refs[j], False
            else:
                still.append(f)
        pending = still


def _removed(path: str, exact: set[str], gone: set[str], opaque: set[str]) -> bool:
    if path in exact or path in gone:
        return True
    cur = path
    while "/" in cur:
        cur = cur.rsplit("/", 1)[0]
        if cur in gone or cur in opaque:
            return True
    return "" in opaque or "." in opaque


def _report(
    target: str, kind: Literal["context", "image"], tally: Tally, layers: int, started: float
) -> SecretScanReport:
    return SecretScanReport(
        target=target,
        kind=kind,
        findings=tally.findings,
        files_scanned=tally.files_scanned,
        bytes_scanned=tally.bytes_scanned,
        layers_scanned=layers,
        skipped_binary=tally.skipped_binary,
        skipped=tally.skipped,
        skipped_total=tally.skipped_total,
        max_file_bytes=tally.max_file_bytes,
        duration_s=round(time.monotonic() - started, 3),
    )
