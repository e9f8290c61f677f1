"""Errors of the secret scanners (codes CK260-CK264).

Kept beside the tool, not in ``containerkit.errors``, so the shared contract stays rarely edited.
"""

from __future__ import annotations

from containerkit.errors import ContainerKitError

__all__ = ["ImageArchiveInvalid", "ImageNotAvailableForScan"]


class ImageNotAvailableForScan(ContainerKitError):
    code = "CK260"
    exit_code = 2
    default_hint = "Build the image first (or check the reference with `docker images`); scans never pull."


class ImageArchiveInvalid(ContainerKitError):
    code = "CK261"
    default_hint = "The engine returned an image archive this reader does not understand; run with --debug."
