"""Results of a secret scan: where a credential sits and a redacted view, never the value."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

__all__ = ["LayerRef", "SecretFinding", "SecretScanReport", "SkipReason", "SkippedFile", "SourceKind"]

SourceKind = Literal["context", "layer", "image-config", "image-history"]
SkipReason = Literal["binary", "too_large", "unreadable"]


class LayerRef(BaseModel):
    index: int
    diff_id: str
    created_by: str


class SecretFinding(BaseModel):
    rule_id: str
    description: str
    source: SourceKind
    path: str
    line: int
    redacted: str
    fingerprint: str
    length: int
    layer: LayerRef | None = None
    # Set when a later layer deletes (whiteout) or replaces the file: gone from the final
    # filesystem, but still in the image for anyone who saves it.
    removed_in_layer: LayerRef | None = None
    in_final_image: bool = True


class SkippedFile(BaseModel):
    path: str
    reason: SkipReason
    size: int
    layer_index: int | None = None


class SecretScanReport(BaseModel):
    target: str
    kind: Literal["context", "image"]
    findings: list[SecretFinding]
    files_scanned: int
    bytes_scanned: int
    layers_scanned: int = 0
    skipped_binary: int = 0
    skipped: list[SkippedFile] = []  # too large or unreadable, listed (capped at ``skipped_listed_max``)
    skipped_total: int = 0
    skipped_documentation: int = 0
    """Image files under documentation trees (usr/share/doc, man, locale, ...): not read, not in ``skipped``."""
    max_file_bytes: int
    duration_s: float

    @property
    def clean(self) -> bool:
        return not self.findings
