"""`.dockerignore` patterns: what a build leaves out of its context, read the way Docker reads it."""

from __future__ import annotations

__all__ = ["anchored_patterns"]


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
