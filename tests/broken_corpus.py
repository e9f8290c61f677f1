"""The broken corpus (tests/fixtures/broken/): apps that fail at build or at start, each with the
failure category, the fix and the outcome containerkit must reach, written down in its expect.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from containerkit.tools.diagnose import CATEGORIES as CATEGORY_NAMES

BROKEN = Path(__file__).resolve().parent / "fixtures" / "broken"

# The product's taxonomy, plus the kinds of program that are not failures at all (a worker stays up,
# a job exits 0, an app on its own port answers there, the version the app requires is picked first).
CATEGORIES = frozenset(CATEGORY_NAMES) | {"worker", "job", "port_mismatch", "runtime_selected"}


class Expect(BaseModel):
    """One app's expect.toml."""

    model_config = ConfigDict(extra="forbid")

    category: str
    stage: Literal["build", "verify"]
    recoverable: bool
    fix: str
    outcome: Literal["answers", "running", "exits0", "needs_config", "failed"]
    needs: list[str] = Field(default_factory=list)
    port: int | None = None
    evidence: list[str]
    """Substrings of the decisive log lines, as observed with the current generator (one per line)."""
    notes: str = ""


def load_expect(app: Path) -> Expect:
    with (app / "expect.toml").open("rb") as fh:
        return Expect.model_validate(tomllib.load(fh))


def broken_apps() -> list[Path]:
    return sorted(p for p in BROKEN.iterdir() if (p / "expect.toml").is_file())
