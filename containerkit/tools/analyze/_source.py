"""Hints read from source text: ports, health routes. Cheap regexes over a bounded read."""

from __future__ import annotations

import re
from pathlib import Path

from containerkit.tools.analyze._fs import read_text

__all__ = ["find_health_path", "find_port"]

_SOURCE_LIMIT = 256 * 1024
_PORT_PATTERNS = [
    re.compile(r"""(?:PORT|port)["']?\s*(?:\)|\])?\s*(?:,|\|\||\?\?|or|=|:)\s*["']?(\d{2,5})\b"""),
    re.compile(r"""\.listen\(\s*(\d{2,5})\b"""),
    re.compile(r"""--port[= ](\d{2,5})\b"""),
    re.compile(r"""(?:0\.0\.0\.0|127\.0\.0\.1|localhost)["']?\s*,\s*(\d{2,5})\b"""),
]
_HEALTH = re.compile(r"""["'](/(?:healthz?|health/?live|livez|readyz?|ready|ping|status))["']""")


def find_port(*files: Path) -> tuple[int, str] | None:
    """First plausible listening port in the given files, with the file that said it."""
    for f in files:
        if not f.is_file():
            continue
        text = read_text(f, _SOURCE_LIMIT)
        for pat in _PORT_PATTERNS:
            for m in pat.finditer(text):
                port = int(m.group(1))
                if 80 <= port <= 65535:
                    return port, f.name
    return None


def find_health_path(*files: Path) -> str | None:
    for f in files:
        if f.is_file():
            m = _HEALTH.search(read_text(f, _SOURCE_LIMIT))
            if m:
                return m.group(1)
    return None
