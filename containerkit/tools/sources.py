"""A bounded walk over a module's own source files: dependency, build and hidden folders skipped,
symlinks never followed. Shared by every check that reads code after the analysis (does it serve
HTTP, which variables does it need, where did a moved file go)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

__all__ = ["SKIP_DIRS", "read_small", "walk_sources"]

SKIP_DIRS = frozenset(
    {
        "node_modules",
        ".git",
        ".venv",
        "venv",
        "__pycache__",
        "dist",
        "build",
        ".next",
        "vendor",
        "site-packages",
        "test",
        "tests",
    }
)


def walk_sources(
    folder: Path, suffixes: tuple[str, ...] | None = None, *, max_files: int = 400, max_depth: int = 8
) -> Iterator[Path]:
    """Files below ``folder`` (ending in one of ``suffixes``, or any), shallow folders first, at most ``max_files``."""
    queue: list[tuple[Path, int]] = [(folder, 0)]
    seen = 0
    while queue and seen < max_files:
        d, depth = queue.pop(0)
        try:
            entries = sorted(d.iterdir())
        except OSError:
            continue
        for e in entries:
            if e.is_symlink():
                continue
            if e.is_dir():
                if depth < max_depth and e.name not in SKIP_DIRS and not e.name.startswith("."):
                    queue.append((e, depth + 1))
            elif suffixes is None or e.suffix in suffixes:
                seen += 1
                yield e
                if seen >= max_files:
                    return


def read_small(path: Path, max_bytes: int = 512 * 1024) -> str | None:
    """The text of a file up to ``max_bytes`` (None when larger or unreadable)."""
    try:
        if path.stat().st_size > max_bytes:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
