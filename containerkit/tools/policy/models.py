"""What a policy evaluation returns: each deny (or warn) with its rule id, message and file."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

__all__ = ["PolicyResult", "PolicyViolation"]


class PolicyViolation(BaseModel):
    rule_id: str
    message: str
    policy_file: str
    package: str
    level: Literal["deny", "warn"] = "deny"


class PolicyResult(BaseModel):
    violations: list[PolicyViolation]  # deny: the build must not go on
    warnings: list[PolicyViolation] = []
    policies: list[str]  # every file evaluated, the default one included

    @property
    def passed(self) -> bool:
        return not self.violations
