"""Does a module's code start an HTTP server? Read from its sources when no framework says so.

Verify needs to know whether a program that stays up is a server still starting (wait for it to
answer) or a worker (staying up is the success): a port number alone does not tell, since every
module gets a default one.
"""

from __future__ import annotations

import re
from pathlib import Path

from containerkit.tools.sources import read_small, walk_sources

__all__ = ["serves_http"]

_PATTERNS: dict[str, re.Pattern[str]] = {
    "node": re.compile(
        r"\.listen\(|createServer\(|Bun\.serve\(|Deno\.serve\(|NestFactory|\bexpress\(\)|\bfastify\(|new Koa\(|"
        r"new Hono\(|Hapi\.server\(|\bhttp\.Server\(|\bserve\(\{"
    ),
    "python": re.compile(
        r"\b(?:Flask|FastAPI|Starlette|Quart|Sanic|Litestar|Bottle)\(|serve_forever\(|uvicorn\.run\(|"
        r"web\.run_app\(|HTTPServer\(|make_server\(|\.run\(\s*host=|waitress\.serve\(|hypercorn"
    ),
    "go": re.compile(r"ListenAndServe|http\.Serve\(|gin\.(?:Default|New)\(|echo\.New\(|fiber\.New\(|chi\.NewRouter"),
    "deno": re.compile(r"Deno\.serve\(|\bserve\(|listenAndServe|new Application\("),
}
_PATTERNS["static"] = _PATTERNS["node"]
_SUFFIXES = {
    "node": (".js", ".mjs", ".cjs", ".ts", ".mts"),
    "static": (".js", ".mjs", ".cjs", ".ts"),
    "python": (".py",),
    "go": (".go",),
    "deno": (".ts", ".js", ".tsx"),
}
_MAX_FILES = 200


def serves_http(folder: Path, language: str | None) -> bool | None:
    """True when a source file of the module starts a server; None when the language is not read."""
    pattern = _PATTERNS.get(language or "")
    if pattern is None:
        return None
    for path in walk_sources(folder, _SUFFIXES[language or ""], max_files=_MAX_FILES):
        text = read_small(path)
        if text is not None and pattern.search(text):
            return True
    return False
