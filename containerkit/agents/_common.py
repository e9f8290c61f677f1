"""Small helpers agents share: which module a run is about, where its files go."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from containerkit.agents._deps import Deps
from containerkit.errors import InvalidOption
from containerkit.settings import Settings
from containerkit.state import Session
from containerkit.tools.analyze import ModuleAnalysis
from containerkit.tools.analyze.naming import image_name
from containerkit.tools.images import parse_image_ref

if TYPE_CHECKING:
    from containerkit.tools.engine import BuildRequest

__all__ = [
    "build_context",
    "build_request",
    "deployed_image",
    "local_image_ref",
    "module_dir",
    "selected_module",
    "session_dir",
]


def selected_module(state: Session) -> ModuleAnalysis:
    assert state.analysis is not None
    if state.options.module:
        for m in state.analysis.modules:
            if m.path == state.options.module.strip("/") or m.name == state.options.module:
                return m
        raise InvalidOption(
            f"no module {state.options.module!r} in {state.repo_path}",
            hint="Pick one of: " + ", ".join(m.path for m in state.analysis.deployable()),
        )
    return state.analysis.primary()


def module_dir(state: Session, module: ModuleAnalysis) -> Path:
    return Path(state.repo_path) / module.path


def build_context(state: Session, module: ModuleAnalysis) -> Path:
    """Where the build runs: the Dockerfile's recorded context, else the module's folder."""
    if state.dockerfile is not None and state.dockerfile.context is not None:
        return Path(state.repo_path) / state.dockerfile.context
    return module_dir(state, module)


def build_request(state: Session, module: ModuleAnalysis, settings: Settings, tags: list[str]) -> BuildRequest:
    """The build of the session's current Dockerfile: one place, so a speculative build started
    before the graph (``containerkit.graph.speculate``) asks for exactly what buildsec will."""
    from containerkit.tools.engine import BuildRequest

    assert state.dockerfile is not None
    return BuildRequest(
        context=build_context(state, module),
        dockerfile=Path(state.dockerfile.path),
        tags=tags,
        pull_policy=settings.pull_policy,
        nocache=state.options.no_cache,
        detection_cache=settings.cache_dir / "builder.json",
        # nothing per run (no session id): the same inputs build the same image id, which
        # is what a rerun's cached verify and scan are keyed by (the session records the id)
        labels={"org.opencontainers.image.title": module.name},
    )


def session_dir(state: Session, deps: Deps) -> Path:
    d = deps.settings.session_dir(state.session_id)
    d.mkdir(parents=True, exist_ok=True)
    return d


def _git_sha(path: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and sha else None


def local_image_ref(state: Session, module: ModuleAnalysis) -> str:
    """``--image`` if given, else NAME:TAG from the module name and the git commit (or the session)."""
    if state.options.image:
        ref = parse_image_ref(state.options.image)
        return f"{ref.repository}:{ref.tag or 'latest'}"
    tag = _git_sha(module_dir(state, module)) or f"ck-{state.session_id[:12]}"
    return f"{image_name(module.name, module.path, state.repo_path)}:{tag}"


def deployed_image(state: Session) -> str | None:
    """The image reference the manifests run: the pushed digest when there is one."""
    image = state.images.pushed or state.images.local
    if image and state.images.digest and state.images.pushed:
        return f"{state.images.pushed}@{state.images.digest}"  # pin what was verified
    return image
