"""A minimal Dockerfile reader for compliance and policy facts: instructions, stages, base images.

The linter owns the full parser (heredocs, directives, byte-exact spans); this one only needs the
logical instructions with their first line, so the two can evolve apart.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from containerkit.errors import InvalidDockerfile

__all__ = ["RawInstruction", "read_instructions"]

_FLAG = re.compile(r"--([A-Za-z][\w-]*)(?:=(\"[^\"]*\"|\S*))?\s*")


class RawInstruction(NamedTuple):
    cmd: str
    value: str
    line: int
    flags: dict[str, str]


def read_instructions(text: str) -> list[RawInstruction]:
    """Logical instructions (continuations joined, comments dropped); raise without any FROM."""
    if "\x00" in text:
        raise InvalidDockerfile("the Dockerfile is a binary file (it holds NUL bytes)")
    out: list[RawInstruction] = []
    buf: list[str] = []
    start = 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and (not line or line.startswith("#")):
            continue  # comments and blanks inside a continuation are dropped, as BuildKit does
        if not buf:
            start = n
        if line.endswith("\\"):
            buf.append(line[:-1])
            continue
        buf.append(line)
        out.append(_instruction(" ".join(b.strip() for b in buf), start))
        buf = []
    if buf:
        out.append(_instruction(" ".join(buf), start))
    if not any(i.cmd == "FROM" for i in out):
        raise InvalidDockerfile("the Dockerfile has no FROM instruction")
    return out


def _instruction(logical: str, line: int) -> RawInstruction:
    cmd, _, rest = logical.partition(" ")
    rest = rest.strip()
    flags: dict[str, str] = {}
    while rest.startswith("--"):
        m = _FLAG.match(rest)
        if m is None:
            break
        flags[m.group(1).lower()] = (m.group(2) or "").strip('"')
        rest = rest[m.end() :]
    return RawInstruction(cmd.upper(), rest.strip(), line, flags)
