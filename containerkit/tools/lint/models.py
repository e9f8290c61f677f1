"""What the linter reads and reports: the parsed Dockerfile, findings, the report and its config.

The parsed model is plain pydantic so agents and tests can inspect it; findings carry the rule id
users already know from hadolint (DLxxxx) or a containerkit id (CKxxxx).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel

__all__ = [
    "Finding",
    "Heredoc",
    "Instruction",
    "LintConfig",
    "LintReport",
    "ParsedDockerfile",
    "Severity",
    "Source",
    "Stage",
]


class Severity(StrEnum):
    """hadolint's levels; ``rank`` orders them so ``--fail-on`` can compare."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    STYLE = "style"

    @property
    def rank(self) -> int:
        return _RANK[self.value]


_RANK = {"error": 4, "warning": 3, "info": 2, "style": 1}

Source = Literal["containerkit", "hadolint", "both"]


class Heredoc(BaseModel):
    """A ``<<EOF`` body attached to RUN/COPY/ADD; ``line`` is the first body line."""

    delimiter: str
    body: str
    line: int
    strip_tabs: bool = False
    expand: bool = True


class Instruction(BaseModel):
    """One logical instruction; ``line``..``end_line`` span its source, heredoc bodies included."""

    keyword: str
    line: int
    end_line: int
    value: str
    """The arguments after the keyword and flags, continuations joined, comments dropped."""
    flags: dict[str, str] = {}
    json_args: list[str] | None = None
    """Set when the arguments are in JSON (exec) form."""
    heredocs: list[Heredoc] = []
    stage: int = -1
    """Index of the stage the instruction belongs to; -1 before the first FROM."""
    ignores: frozenset[str] = frozenset()
    """Rule ids an ignore pragma on the lines just above switches off for this instruction."""


class Stage(BaseModel):
    index: int
    line: int
    image: str
    """The base image as written, build args expanded where their value is known."""
    name: str | None = None
    platform: str | None = None
    parent: int | None = None
    """Index of an earlier stage this one is built ``FROM``, if any."""
    instructions: list[Instruction] = []


class ParsedDockerfile(BaseModel):
    instructions: list[Instruction]
    stages: list[Stage]
    escape: str = "\\"
    directives: dict[str, str] = {}
    global_args: dict[str, str | None] = {}
    """ARGs declared before the first FROM, with their defaults."""
    global_ignores: frozenset[str] = frozenset()
    line_count: int = 0


class Finding(BaseModel):
    rule: str
    severity: Severity
    line: int
    column: int = 1
    message: str
    hint: str = ""
    fixable: bool = False
    source: Source = "containerkit"


class LintReport(BaseModel):
    path: str | None = None
    findings: list[Finding]
    hadolint_version: str | None = None
    """Set when the hadolint binary ran and its findings were merged."""
    notes: list[str] = []
    """Things the user should know about the run itself, e.g. hadolint failing on this file."""

    def at_or_above(self, severity: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity.rank >= severity.rank]

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        for f in self.findings:
            out[f.severity.value] += 1
        return out


@dataclass(frozen=True)
class LintConfig:
    """Policy for one run: rules switched off, severity overrides, registries FROM may name."""

    ignored: frozenset[str] = frozenset()
    severity_overrides: dict[str, Severity] = field(default_factory=dict)
    trusted_registries: frozenset[str] = frozenset()
    """Empty means every registry is allowed (DL3026 off)."""
    use_hadolint: bool = True
    honour_pragmas: bool = True
    hadolint_path: str | None = None
    """Explicit binary; None means look on PATH and next to the running interpreter."""
