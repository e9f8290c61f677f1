"""Scan a build context or a built image for credentials; results carry redacted matches only."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from docker import DockerClient

from containerkit.errors import NotADirectory, PathNotFound
from containerkit.tools.secrets._context import context_files
from containerkit.tools.secrets._layers import ImageArchive, open_image_archive
from containerkit.tools.secrets._scan import Tally
from containerkit.tools.secrets.models import SecretFinding, SecretScanReport

__all__ = ["DEFAULT_MAX_FILE_BYTES", "scan_context_secrets", "scan_image_secrets", "scan_text_secrets"]

DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024


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
    docker_client: DockerClient, ref: str, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> SecretScanReport:
    """Scan every layer of a local image, files deleted by later layers included, plus its config.

    Never pulls: a missing image raises ImageNotAvailableForScan.
    """
    started = time.monotonic()
    tally = Tally(max_file_bytes)
    with open_image_archive(docker_client, ref) as archive:
        _scan_config(archive.config, tally)
        _scan_layers(archive, tally)
        layers = len(archive.layers)
    return _report(ref, "image", tally, layers, started)


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


def _scan_layers(archive: ImageArchive, tally: Tally) -> None:
    # path -> findings (in layers seen so far) whose file is still the visible one
    pending: dict[str, list[SecretFinding]] = {}
    for entry in archive.entries():
        if entry.kind == "file":
            for f in pending.pop(entry.path, []):
                f.removed_in_layer, f.in_final_image = entry.layer, False
            if entry.stream is None:
                continue
            before = len(tally.findings)
            tally.scan_stream(entry.path, entry.size, entry.stream, "layer", entry.layer)
            for f in tally.findings[before:]:
                pending.setdefault(entry.path, []).append(f)
            continue
        prefix = entry.path + "/"
        gone = [p for p in pending if (entry.kind == "whiteout" and p == entry.path) or p.startswith(prefix)]
        for p in gone:
            for f in pending.pop(p):
                if f.layer is not None and f.layer.index < entry.layer.index:
                    f.removed_in_layer, f.in_final_image = entry.layer, False
                else:  # an opaque marker never hides files of its own layer
                    pending.setdefault(p, []).append(f)


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
