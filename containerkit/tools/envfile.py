"""The app's environment as the user passes it: ``--env KEY=VALUE`` and ``--env-file FILE``.

Values stay in memory (the run context); only the names reach the session, so a password passed
for verify never lands in a checkpoint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from containerkit.errors import InvalidOption

__all__ = ["ENV_NAME", "parse_env", "read_env_file"]

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}\Z")
_MAX_FILE = 1 << 20


def _pair(item: str, where: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not ENV_NAME.match(key):
        raise InvalidOption(
            f"{where}: {item.split('=', 1)[0][:60]!r} is not KEY=VALUE with a valid variable name",
            hint="Write --env NAME=value; a name is letters, digits and '_', not starting with a digit.",
        )
    if "\x00" in value:
        raise InvalidOption(f"{where}: the value of {key} holds a NUL byte", hint="Remove it.")
    return key, value


def parse_env(items: Iterable[str]) -> dict[str, str]:
    """``["A=1", "B=x=y"]`` -> ``{"A": "1", "B": "x=y"}`` (later wins)."""
    return dict(_pair(i, "--env") for i in items)


def read_env_file(path: Path) -> dict[str, str]:
    """A dotenv-style file: ``KEY=VALUE`` lines, ``#`` comments, optional ``export`` and quotes."""
    try:
        if not path.is_file():
            raise InvalidOption(f"--env-file {path}: not a regular file", hint="Pass a KEY=VALUE file.")
        if path.stat().st_size > _MAX_FILE:
            raise InvalidOption(f"--env-file {path}: larger than 1 MiB", hint="Pass a KEY=VALUE file.")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidOption(f"--env-file {path}: cannot read it ({exc})", hint="Pass a readable UTF-8 file.") from exc
    out: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, value = _pair(line, f"--env-file {path.name}:{n}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key] = value
    return out
