"""Shared bookkeeping of one scan: bounded reads, skip records, hits turned into findings."""

from __future__ import annotations

from typing import IO, Any

from containerkit.tools.secrets._detect import BINARY_SNIFF_BYTES, find_hits, is_binary
from containerkit.tools.secrets.models import LayerRef, SecretFinding, SkippedFile, SkipReason, SourceKind

__all__ = ["SKIPPED_LISTED_MAX", "Tally"]

SKIPPED_LISTED_MAX = 500


class Tally:
    """Counts and findings of one scan; reads at most ``max_file_bytes`` of any file."""

    def __init__(self, max_file_bytes: int) -> None:
        self.max_file_bytes = max_file_bytes
        self.findings: list[SecretFinding] = []
        self.files_scanned = 0
        self.bytes_scanned = 0
        self.skipped_binary = 0
        self.skipped: list[SkippedFile] = []
        self.skipped_total = 0
        self.skipped_documentation = 0

    def add_layer(self, part: Any, layer: LayerRef) -> None:
        """Fold in one layer's results (fresh or cached), attributing its findings to ``layer``."""
        for f in part.findings:
            self.findings.append(f.model_copy(update={"layer": layer}, deep=True))
        self.files_scanned += part.files_scanned
        self.bytes_scanned += part.bytes_scanned
        self.skipped_binary += part.skipped_binary
        self.skipped_documentation += part.skipped_documentation
        self.skipped_total += part.skipped_total
        room = SKIPPED_LISTED_MAX - len(self.skipped)
        self.skipped += [s.model_copy() for s in part.skipped[: max(room, 0)]]

    def skip(self, path: str, reason: SkipReason, size: int, layer: LayerRef | None) -> None:
        self.skipped_total += 1
        if reason == "binary":
            self.skipped_binary += 1
        elif len(self.skipped) < SKIPPED_LISTED_MAX:
            self.skipped.append(
                SkippedFile(path=path, reason=reason, size=size, layer_index=layer.index if layer else None)
            )

    def scan_stream(
        self, path: str, size: int, stream: IO[bytes], source: SourceKind, layer: LayerRef | None = None
    ) -> None:
        if size > self.max_file_bytes:
            self.skip(path, "too_large", size, layer)
            return
        try:
            head = stream.read(BINARY_SNIFF_BYTES)
            if is_binary(head):
                self.skip(path, "binary", size, layer)
                return
            data = head + stream.read(self.max_file_bytes + 1 - len(head))
        except OSError:
            self.skip(path, "unreadable", size, layer)
            return
        if len(data) > self.max_file_bytes:  # grew while we read it
            self.skip(path, "too_large", len(data), layer)
            return
        self.files_scanned += 1
        self.bytes_scanned += len(data)
        self.scan_text(path, data.decode("utf-8", errors="replace"), source, layer)

    def scan_text(self, path: str, text: str, source: SourceKind, layer: LayerRef | None = None) -> None:
        for hit in find_hits(text):
            self.findings.append(
                SecretFinding(
                    rule_id=hit.rule.id,
                    description=hit.rule.description,
                    source=source,
                    path=path,
                    line=hit.line,
                    redacted=hit.redacted,
                    fingerprint=hit.fingerprint,
                    length=hit.length,
                    layer=layer,
                )
            )
