"""The infra agent: tag and push to the registry, recording the digest it serves."""

from __future__ import annotations

from typing import Any

from containerkit.agents._deps import Deps
from containerkit.agents._stage import agent_node
from containerkit.state import Session
from containerkit.tools.engine import push_image
from containerkit.tools.images import parse_image_ref, parse_registry
from containerkit.tools.progress import ProgressSink

__all__ = ["infra"]


@agent_node("infra")
def infra(state: Session, deps: Deps, sink: ProgressSink) -> dict[str, Any]:
    assert state.build is not None and state.images.local and state.options.registry
    registry = parse_registry(state.options.registry)
    ref = parse_image_ref(state.images.local).with_registry(registry)
    pushed = push_image(deps.docker, state.build.image_id, ref, auth_config=deps.registry_auth, on_progress=sink)
    images = state.images.model_copy(
        update={"pushed": pushed.ref, "digest": pushed.digest, "verified": pushed.verified}
    )
    return {"images": images, "_note": f"{pushed.ref}@{pushed.digest}"}
