"""Data the Dockerfile tools hand to the session state, apart from the logic that produces them.

Kept in a module of its own so the session state (and every face that loads it) does not import the
generator and the fixer.
"""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["BuildFailureInfo"]


class BuildFailureInfo(BaseModel):
    """What a failed build (or container start) left behind: enough for a human or the fixer to act."""

    step: str | None = None
    step_number: int | None = None
    exit_code: int | None = None
    message: str = ""
    log_tail: str = ""
