"""Does a module's code start an HTTP server? Read from its sources when no framework says so.

Verify needs to know whether a program that stays up is a server still starting (wait for it to
answer) or a worker (staying up is the success): a port number alone does not tell, since every
module gets a default one.
"""

from __future__ import annotations

import re
from pathlib import Path

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
_SKIP = frozenset({"node_modules", ".git", ".venv", "venv", "__pycache__", "dist", "build", "vendor", "test", "tests"})
_MAX_FILES = 200
_MAX_BYTES = 512 * 1024


def serves_http(folder: Path, language: str | None) -> bool | None:
    """True when a source file of the module starts a server; None when the language is not read."""
    pattern = _PATTERNS.get(language or "")
    if pattern is None:
        return None
    suffixes = _SUFFIXES[language or ""]
    stack, seen = [folder], 0
    while stack and seen < _MAX_FILES:
        d = stack.pop()
        try:
            entries = sorted(d.iterdir())
        except OSError:
            continue
        for e in entries:
            if e.is_symlink():
                continue
            if e.is_dir():
                if e.name not in _SKIP and not e.name.startswith("."):
                    stack.append(e)
            elif e.suffix in suffixes:
                seen += 1
                try:
                    if e.stat().st_size <= _MAX_BYTES and pattern.search(e.read_text("utf-8", errors="replace")):
                        return True
                except OSError:
                    continue
    return False
