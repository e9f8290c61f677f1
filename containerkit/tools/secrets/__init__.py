"""Credential scanning of a build context and of every layer of a built image (issue 4, item 5).

Public API::

    scan_context_secrets(path) -> SecretScanReport          # what `docker build` sends
    scan_image_secrets(docker_client, ref) -> SecretScanReport  # every layer + config + history
    scan_image_secrets(None, ref, fs=opened, cache_dir=home / "cache")  # an ImageFS already open

Findings give file, layer (diff id, created_by), rule and a redacted match (at most 4 leading
characters and the length) plus a sha256 fingerprint for de-duplication; the secret itself is
never stored or printed. Files deleted by a later layer are still found and marked
``in_final_image=False`` with ``removed_in_layer``. Binary and oversized files are skipped and
counted; documentation trees (``usr/share/doc``, ``man``, ``locale``, ...) are not read. Rules are a
gitleaks-style table in ``_rules.py``, with an allowlist of documentation URLs. With ``cache_dir``
each layer's redacted findings are cached by diff id, stamped with the rules' digest.
"""

from __future__ import annotations

from containerkit.tools.secrets._detect import redact_secrets
from containerkit.tools.secrets.errors import ImageArchiveInvalid, ImageNotAvailableForScan
from containerkit.tools.secrets.models import LayerRef, SecretFinding, SecretScanReport, SkippedFile
from containerkit.tools.secrets.scan import (
    DEFAULT_MAX_FILE_BYTES,
    scan_context_secrets,
    scan_image_secrets,
    scan_text_secrets,
)

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "ImageArchiveInvalid",
    "ImageNotAvailableForScan",
    "LayerRef",
    "SecretFinding",
    "SecretScanReport",
    "SkippedFile",
    "redact_secrets",
    "scan_context_secrets",
    "scan_image_secrets",
    "scan_text_secrets",
]
