"""The buildsec agent: build the Dockerfile on the engine (lint and scans deepen this stage)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from containerkit.agents._common import local_image_ref, module_dir, selected_module
from containerkit.agents._deps import Deps
from containerkit.agents._stage import agent_node
from containerkit.state import BuildInfo, ImageRefs, Session
from containerkit.tools.engine import BuildRequest, build_image
from containerkit.tools.progress import ProgressSink

__all__ = ["buildsec"]


@agent_node("buildsec")
def buildsec(state: Session, deps: Deps, sink: ProgressSink) -> dict[str, Any]:
    assert state.dockerfile is not None
    module = selected_module(state)
    ref = local_image_ref(state, module)
    result = build_image(
        BuildRequest(
            context=module_dir(state, module),
            dockerfile=Path(state.dockerfile.path),
            tags=[ref],
            pull_policy=deps.settings.pull_policy,
            nocache=state.options.no_cache,
            labels={
                "io.containerkit.session": state.session_id,
                "org.opencontainers.image.title": module.name,
            },
        ),
        docker_client=deps.docker,
        on_progress=sink,
    )
    return {
        "build": BuildInfo(
            image_id=result.image_id,
            tags=result.tags,
            size_bytes=result.size_bytes,
            duration_s=result.duration_s,
            cached_steps=result.cached_steps,
            steps=result.steps,
            log_tail=result.log_tail,
            dockerfile_revision=state.dockerfile.revision,
        ),
        "images": ImageRefs(local=ref),
        "_note": f"{result.image_id[:19]} {result.size_bytes / 1e6:.1f} MB in {result.duration_s:.1f}s",
    }
