"""The build a cold run starts while it loads the graph (see :mod:`containerkit.tools.speculative`).

After a session builds, the build it asked for (tags aside) is kept per repository. The next run of
that repository in a new process starts that build before it imports LangGraph (a second or more
here), so the engine works while Python imports; buildsec takes the build over when it asks for the
same one with nothing in the context written since, else it is cancelled and its image removed.
A process that already has the graph loaded (a warm server, an embedding app) gains nothing and
does not speculate.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from containerkit.settings import Settings
from containerkit.state import RunOptions, Session
from containerkit.tools import speculative

if TYPE_CHECKING:
    from containerkit.tools.engine import BuildResult

__all__ = ["abandon_speculation", "remember_build", "speculate"]


def _hint(settings: Settings, repo: str | Path) -> Path:
    digest = hashlib.sha256(str(Path(repo)).encode()).hexdigest()[:32]
    return settings.cache_dir / "speculate" / f"{digest}.json"


def remember_build(session: Session, settings: Settings) -> None:
    """Keep the build ``session`` asked for, for the next run of its repository to start early."""
    if session.build is None or session.dockerfile is None or session.analysis is None:
        return
    from containerkit.agents._common import build_request, selected_module

    try:
        req = build_request(session, selected_module(session), settings, [])
    except Exception:  # noqa: BLE001 - an unknown module or such: nothing to remember
        return
    if req.secrets or req.build_args:
        return  # never written to disk, even as a hint
    path = _hint(settings, session.repo_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # the key build_image looks a speculation up by: the hint's text is that key
    tmp.write_text(speculative.request_key(req.model_copy(update={"nocache": False})), encoding="utf-8")
    os.replace(tmp, path)


def speculate(repo: Path, options: RunOptions, settings: Settings) -> bool:
    """Start the build the last run of ``repo`` did, unless the graph is loaded already, the run
    builds without cache, or that build's Dockerfile or context is gone. True when started."""
    if options.no_cache or "langgraph.graph" in sys.modules or os.environ.get("CONTAINERKIT_NO_SPECULATE"):
        return False
    try:
        text = _hint(settings, repo.resolve()).read_text(encoding="utf-8").strip()
        data = json.loads(text)
        context, dockerfile = Path(data["context"]), Path(data["dockerfile"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not context.is_dir() or not dockerfile.is_file():
        return False
    watch = [context] if dockerfile.is_relative_to(context) else [context, dockerfile]

    def run(spec: speculative.Speculation) -> BuildResult:
        from containerkit.tools.engine import speculative_build

        return speculative_build(spec, text, settings.docker_host)

    speculative.start(text, run, watch=watch)
    return True


def abandon_speculation() -> int:
    """Cancel builds nobody took over and remove the untagged images they left; how many there were."""
    left = speculative.cancel_all()
    if left:
        from containerkit.tools.engine import discard_speculation

        for spec in left:
            discard_speculation(spec)
    return len(left)
