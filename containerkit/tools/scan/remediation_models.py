"""The remediation plan of a scan: for every finding, the fix, grouped into actions (data only).

An action is one thing a user does (upgrade one package, move to another base image, add a USER,
move a secret to a build secret, apply one lint rule's fix); it names every finding it resolves
(``resolves``, keys as ``ScanFinding.key``) and, where the change is a line in a file, the line as it
is and as it should be (``changes``). Findings no action resolves are listed in ``unresolved`` with
the reason (no fixed version published yet), so a plan never reads as complete when it is not.

Layer facts (which step brought a package) come from the findings themselves; the size and
overwrite analysis of layers is the report's own layer part, not repeated here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["ActionKind", "BaseImageOption", "FileChange", "RemediationAction", "RemediationPlan", "Unresolved"]

ActionKind = Literal["upgrade", "base_image", "rebuild", "user", "secret", "dockerfile", "lint", "compliance"]
Level = Literal["critical", "high", "medium", "low", "info"]


class FileChange(BaseModel):
    """One line to change: ``before`` as the file has it ("" to insert), ``after`` as it should be
    ("" to delete). ``line`` is 1-based in ``file`` (a Dockerfile, requirements.txt, package.json...)."""

    file: str
    line: int | None = None
    before: str = ""
    after: str = ""


class RemediationAction(BaseModel):
    key: str
    """Stable identity (``upgrade:PyPI:pyyaml``, ``base_image``, ``user``...): findings pointing at the
    same fix share one action."""
    kind: ActionKind
    title: str
    """One line: "Upgrade PyYAML 5.3.1 to 5.4"."""
    severity: Level
    """The most severe finding it resolves."""
    detail: str = ""
    """Why and how, in a sentence or two (what a reviewer reads before applying it)."""
    package: str = ""
    ecosystem: str = ""
    installed_version: str = ""
    fixed_version: str = ""
    """The lowest version that fixes every advisory of the package the image has."""
    base_image: str = ""
    """For ``base_image``: the image to build on instead (for ``rebuild``: the one to pull again)."""
    layer: str = ""
    """The step that brought the package or file (the layer's ``created_by``)."""
    changes: list[FileChange] = Field(default_factory=list)
    resolves: list[str] = Field(default_factory=list)


class BaseImageOption(BaseModel):
    """Another base image on the engine (or in the catalog and on the engine), checked against the
    same advisory database: which of today's base-image findings it no longer has."""

    image: str
    source: Literal["catalog", "engine"]
    removes: list[str] = Field(default_factory=list)
    """Finding keys of the current base's packages that are fixed or absent there."""
    remaining: int = 0
    """Findings of the current base that it still has."""
    introduces: list[str] = Field(default_factory=list)
    """Advisory ids it has that the current image does not."""


class Unresolved(BaseModel):
    finding: str
    reason: str


class RemediationPlan(BaseModel):
    base_image: str | None = None
    """The final stage's base image as the Dockerfile names it (None: no Dockerfile given)."""
    actions: list[RemediationAction] = Field(default_factory=list)
    """Most severe first."""
    base_options: list[BaseImageOption] = Field(default_factory=list)
    unresolved: list[Unresolved] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def brief(self, max_actions: int = 20) -> list[dict[str, object]]:
        """The actions for the session (``run --json`` under ``scan``): small and JSON-safe."""
        return [
            {
                "kind": a.kind,
                "severity": a.severity,
                "title": a.title,
                **({"fixed_version": a.fixed_version} if a.fixed_version else {}),
                **({"base_image": a.base_image} if a.base_image else {}),
                "changes": [c.model_dump(mode="json", exclude_defaults=True) for c in a.changes[:5]],
                "resolves": len(a.resolves),
            }
            for a in self.actions[:max_actions]
        ]
