"""Static sites: an index.html with no build tool, served as files."""

from __future__ import annotations

from containerkit.tools.analyze._common import Found, ModuleDir
from containerkit.tools.analyze.models import ModuleAnalysis

__all__ = ["detect_static"]


def detect_static(d: ModuleDir) -> Found | None:
    folder = next(
        (f for f in (".", "public", "www", "site") if d.has("index.html" if f == "." else f"{f}/index.html")), None
    )
    if folder is None:
        return None
    d.say("index.html" if folder == "." else f"{folder}/index.html", "static site")
    m = ModuleAnalysis(path=d.rel, name=d.name, language="static", static_dir=folder, entrypoint="index.html")
    d.finish(m, sources=[], default_port=8080, base_confidence=0.4)
    return Found(m, rank=0)
