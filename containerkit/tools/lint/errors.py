"""Lint-specific errors (CK130-CK139); input errors reuse InvalidDockerfile/PathNotFound."""

from __future__ import annotations

from containerkit.errors import ContainerKitError

__all__ = ["FixBrokeDockerfile", "UnknownSeverity"]


class UnknownSeverity(ContainerKitError):
    code = "CK130"
    exit_code = 2
    default_hint = "Use one of: error, warning, info, style, none."


class FixBrokeDockerfile(ContainerKitError):
    code = "CK131"
    default_hint = "The automatic fix would leave an unparsable Dockerfile, so nothing was written; fix it by hand and report the case."
