"""`.dockerignore` patterns: what a build leaves out of its context, read the way Docker reads it,
and the files a build sends (the context folder minus what .dockerignore excludes)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from containerkit.errors import InputParseError

if TYPE_CHECKING:  # pathspec loads when a .dockerignore is read, not with every analysis
    import pathspec

__all__ = ["anchored_patterns", "context_files", "dockerignore_spec"]


def anchored_patterns(lines: list[str]) -> list[str]:
    """Gitignore-style patterns for ``.dockerignore`` lines.

    Docker patterns are anchored at the context root, gitignore's float: ``tmp`` in a
    .dockerignore means ``/tmp`` only. Comments and blanks are dropped, ``!`` exceptions kept.
    """
    out = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        body = line[1:] if neg else line
        body = body.lstrip("/")
        if body.startswith("./"):
            body = body[2:]
        if not body.startswith("**"):
            body = "/" + body
        out.append(("!" if neg else "") + body)
    return out


def dockerignore_spec(root: Path) -> pathspec.GitIgnoreSpec | None:
    path = root / ".dockerignore"
    try:
        text = path.read_bytes()[: 256 * 1024].decode("utf-8", errors="replace")
    except OSError:
        return None
    lines = anchored_patterns(text.splitlines())
    if not lines:
        return None
    import pathspec

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
    import pathspec

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
