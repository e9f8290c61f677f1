"""The failure taxonomy's data: categories, what each one means for recovery, and a diagnosis.

A diagnosis is made from evidence (log lines, exit codes, HTTP answers), never by elimination:
when no rule matches, the category is ``unknown``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["CATEGORIES", "Category", "Diagnosis", "FailureEvidence", "FailureStage"]

FailureStage = Literal["build", "verify", "push", "deploy", "scan"]

Category = Literal[
    "dependency_resolution",
    "package_not_found",
    "native_build",
    "missing_runtime_library",
    "missing_dependency",
    "runtime_version",
    "base_image_missing",
    "lockfile_out_of_sync",
    "wrong_start_command",
    "dev_tool_at_runtime",
    "missing_build_step",
    "copy_source_missing",
    "command_not_found",
    "missing_config",
    "service_unavailable",
    "port_mismatch",
    "port_in_use",
    "permission_denied",
    "network_blocked",
    "registry_auth",
    "registry_forbidden",
    "image_not_in_registry",
    "registry_tls",
    "registry_busy",
    "registry_credentials",
    "operation_timeout",
    "registry_unreachable",
    "daemon_unavailable",
    "disk_full",
    "out_of_memory",
    "policy_violation",
    "app_error",
    "no_answer",
    # -- a rollout on a cluster (stage ``deploy``)
    "image_pull",
    "crash_loop",
    "probe_failing",
    "unschedulable",
    "quota_exceeded",
    "admission_denied",
    "rollout_timeout",
    "cluster_unreachable",
    "unknown",
]

CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]


class FailureEvidence(BaseModel):
    """What a failed stage left behind, as the classifier reads it."""

    stage: FailureStage
    message: str = ""
    log_tail: str = ""
    exit_code: int | None = None
    start_command: str | None = None
    """The command the container ran (verify), to tell a wrong entry module from a missing package."""


class Diagnosis(BaseModel):
    """A category and the log lines that decided it."""

    category: Category
    evidence: list[str] = Field(default_factory=list)
    """The lines that decided the category (empty only for ``unknown``)."""
    subject: str | None = None
    """What the evidence names: a package, a file, a version, a tool."""
    packages: list[str] = Field(default_factory=list)
    """Debian packages the cause calls for (build-time for native_build, run-time for a missing library)."""
    names: list[str] = Field(default_factory=list)
    """Environment variables the logs say are missing (missing_config, service_unavailable)."""
    detail: str = ""
