"""Configuration an app reads from its environment without a default: the names a user must supply.

Read from the source (bounded: small text files of the module, vendored and dependency folders
skipped), so a ``needs_config`` stop can name every variable at once, not one per failed start.
"""

from __future__ import annotations

import re
from pathlib import Path

from containerkit.tools.sources import read_small, walk_sources

__all__ = ["documented_env_names", "required_env_names"]

_SKIP = frozenset(
    {"node_modules", ".git", ".venv", "venv", "__pycache__", "dist", "build", ".next", "vendor", "site-packages"}
)
_SUFFIXES = (".py", ".js", ".mjs", ".cjs", ".ts", ".mts")
_MAX_FILES = 400
_MAX_BYTES = 256 * 1024
# reads that fail when the variable is unset (no default given)
_REQUIRED = (
    re.compile(r"os\.environ\[\s*['\"]([A-Z][A-Z0-9_]{1,})['\"]\s*\]"),
    re.compile(r"\benv\(\s*['\"]([A-Z][A-Z0-9_]{1,})['\"]\s*\)"),  # django-environ / environs without default
    re.compile(r"process\.env\.([A-Z][A-Z0-9_]{1,})\b(?!\s*(?:\|\||\?\?|\?|!==|===|!=|==|&&))"),
    re.compile(r"process\.env\[\s*['\"]([A-Z][A-Z0-9_]{1,})['\"]\s*\](?!\s*(?:\|\||\?\?|\?|!==|===|!=|==|&&))"),
)
_IGNORED = frozenset({"PORT", "HOST", "NODE_ENV", "PATH", "HOME", "PWD", "DEBUG", "PYTHONPATH", "HOSTNAME"})


def required_env_names(folder: Path) -> list[str]:
    """Environment variables the code reads with no default, in the order first seen."""
    names: list[str] = []
    for path in walk_sources(folder, _SUFFIXES, max_files=_MAX_FILES):
        text = read_small(path, _MAX_BYTES) if "test" not in path.name else None
        for rx in _REQUIRED if text else ():
            for m in rx.finditer(text or ""):
                n = m.group(1)
                if n not in _IGNORED and n not in names:
                    names.append(n)
    return names


_EXAMPLES = (".env.example", ".env.sample", ".env.template", ".env.dist", "example.env", ".env.local.example")
_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Z][A-Z0-9_]{1,})\s*=", re.M)


def documented_env_names(folder: Path) -> tuple[str, list[str]] | None:
    """The variables the project's example environment file lists (``.env.example`` and kin): the
    author's own list of what the app needs; (file name, names), or None without such a file."""
    for name in _EXAMPLES:
        text = read_small(folder / name, _MAX_BYTES)
        if text is not None:
            names = list(dict.fromkeys(n for n in _ASSIGN.findall(text) if n not in _IGNORED))
            return (name, names) if names else None
    return None
