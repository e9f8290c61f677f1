"""The broken corpus (tests/fixtures/broken/): apps that fail at build or at start, each with the
failure category, the fix and the outcome containerkit must reach, written down in its expect.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BROKEN = Path(__file__).resolve().parent / "fixtures" / "broken"

CATEGORIES = frozenset(
    {
        "native_build",
        "missing_runtime_library",
        "runtime_version",
        "wrong_start_command",
        "missing_entry_file",
        "dev_tool_at_runtime",
        "missing_build_step",
        "missing_env",
        "missing_env_with_default_possible",
        "port_mismatch",
        "permission_denied",
        "worker",
        "job",
        "app_error",
        "package_not_found",
        "lockfile_out_of_sync",
        "missing_python_module_at_runtime",
        "crash_on_start",
    }
)


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
