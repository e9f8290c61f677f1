"""Progress events: one small typed shape every long operation emits, any face can render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypedDict

__all__ = ["ProgressEvent", "ProgressSink", "null_sink"]


class ProgressEvent(TypedDict, total=False):
    kind: Literal["stage", "build", "push", "pull", "log", "warning", "approval", "deploy", "retry"]
    stage: str
    status: str
    message: str
    step: int
    total: int
    current: int
    layer: str
    data: dict[str, Any]


ProgressSink = Callable[[ProgressEvent], None]


def null_sink(event: ProgressEvent) -> None:
    """Drop events: the default when nobody listens."""
