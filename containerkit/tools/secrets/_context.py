"""The files a build sends to the engine: the context folder minus what .dockerignore excludes."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pathspec

from containerkit.errors import InputParseError
from containerkit.tools.dockerignore import anchored_patterns

__all__ = ["context_files", "dockerignore_spec"]


def dockerignore_spec(root: Path) -> pathspec.GitIgnoreSpec | None:
    path = root / ".dockerignore"
    try:
        text = path.read_bytes()[: 256 * 1024].decode("utf-8", errors="replace")
    except OSError:
        return None
    lines = anchored_patterns(text.splitlines())
    if not lines:
        return None
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except (re.error, ValueError, TypeError):
        bad = next((ln for ln in lines if not _compiles(ln)), "?")
        raise InputParseError(
            f"{path}: {bad[:80]!r} is not a valid pattern",
            hint="Fix or remove that line of .dockerignore (Docker refuses the build context with it too).",
            path=str(path),
        ) from None


def _compiles(line: str) -> bool:
    try:
        pathspec.GitIgnoreSpec.from_lines([line])
    except (re.error, ValueError, TypeError):
        return False
    return True


def context_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative posix path, absolute path) of each regular file sent; symlinks are not followed.

    Folders are never pruned early: a ``!`` exception may re-include a file inside an excluded one.
    """
    spec = dockerignore_spec(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/")
            full = Path(dirpath) / name
            if full.is_symlink() or not full.is_file():
                continue
            # Docker always sends the Dockerfile and .dockerignore, whatever the patterns say.
            if spec is not None and name not in {"Dockerfile", ".dockerignore"} and spec.match_file(rel):
                continue
            yield rel, full
