"""The recovery policy: which failure gets which bounded answer. One table, read by the orchestrator."""

from __future__ import annotations

from containerkit.agents.orch import RecoveryRule

__all__ = ["DEFAULT_RECOVERY"]

DEFAULT_RECOVERY: tuple[RecoveryRule, ...] = (
    # A failed build: classify it, change the Dockerfile to address the cause, build again.
    RecoveryRule(stage="buildsec", code="CK202", action="fix_dockerfile"),
    # A base image that is not available: fall back to the closest available version.
    RecoveryRule(stage="buildsec", code="CK203", action="fix_dockerfile"),
    # The engine dropped the connection mid-build or mid-push: one more try.
    RecoveryRule(stage="buildsec", code="CK201", action="retry", limit=1),
    RecoveryRule(stage="infra", code="CK302", action="retry", limit=1),
    # Everything else (bad input, unreachable registry, auth) is the user's to fix: fail with the hint.
)
