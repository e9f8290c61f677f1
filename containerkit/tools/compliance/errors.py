"""Errors of the compliance checks (codes CK265-CK269)."""

from __future__ import annotations

from containerkit.errors import ContainerKitError

__all__ = ["ComplianceInputInvalid"]


class ComplianceInputInvalid(ContainerKitError):
    code = "CK265"
    exit_code = 2
    default_hint = "Pass a Dockerfile text or an image configuration to check."
