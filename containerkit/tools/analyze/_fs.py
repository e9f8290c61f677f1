"""Reading a repository safely: bounded reads, no symlinks out of the tree, typed parse errors."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from containerkit.errors import ManifestParseError

__all__ = ["MAX_MANIFEST_BYTES", "inside", "load_json", "load_toml", "read_text"]

MAX_MANIFEST_BYTES = 2 * 1024 * 1024
"""Manifests larger than this are not real manifests; reading stops there."""


def inside(root: Path, path: Path) -> bool:
    """True when ``path`` resolves inside ``root`` (a symlink out of the repo is never followed)."""
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


def read_text(path: Path, limit: int = MAX_MANIFEST_BYTES) -> str:
    with path.open("rb") as fh:
        data = fh.read(limit)
    return data.decode("utf-8", errors="replace")


def load_json(path: Path, rel: str) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestParseError(
            f"{rel} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            hint=f"Fix the JSON syntax in {rel} (line {exc.lineno}, column {exc.colno}).",
            file=rel,
            line=exc.lineno,
            column=exc.colno,
        ) from None


def load_toml(path: Path, rel: str) -> dict[str, Any]:
    text = read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestParseError(
            f"{rel} is not valid TOML: {exc}",
            hint=f"Fix the TOML syntax in {rel}.",
            file=rel,
        ) from None
