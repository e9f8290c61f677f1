"""Compliance results: each control's status with evidence, a score per framework, mappings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

__all__ = ["ComplianceReport", "ControlResult", "ControlStatus", "FrameworkScore", "MappedRequirement"]

ControlStatus = Literal["pass", "fail", "not_applicable", "manual"]


class ControlResult(BaseModel):
    id: str  # "CIS-4.1", "NIST-4.1.4"
    framework: str
    title: str
    status: ControlStatus
    evidence: list[str]


class FrameworkScore(BaseModel):
    framework: str
    passed: int
    failed: int
    manual: int
    not_applicable: int
    score: float | None  # passed / (passed + failed); None when nothing was applicable


class MappedRequirement(BaseModel):
    """A requirement of another framework, judged only through the controls it maps to."""

    framework: str
    requirement: str
    title: str
    controls: list[str]
    status: ControlStatus


class ComplianceReport(BaseModel):
    controls: list[ControlResult]
    scores: list[FrameworkScore]
    mappings: list[MappedRequirement]

    def control(self, control_id: str) -> ControlResult:
        return next(c for c in self.controls if c.id == control_id)

    def score(self, framework: str) -> float | None:
        return next(s.score for s in self.scores if s.framework == framework)
