"""The infra agent: tag and push to the registry, recording the digest it serves and every attempt.

Credentials: the run's own (``--password-stdin``, ``CONTAINERKIT_REGISTRY_USER``/``_PASSWORD``), else
Docker's client configuration (``config.json`` auths and credential helpers); they live in ``Deps``
and the engine call only. A transient fault is retried inside the push (backoff with jitter); what
outlasts those retries is the recovery table's (``registry_unreachable``...), then ``resume``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from containerkit.agents._deps import Deps
from containerkit.agents._stage import agent_node
from containerkit.errors import ContainerKitError
from containerkit.state import Session
from containerkit.tools.credentials import resolve_credentials
from containerkit.tools.images import parse_image_ref, parse_registry
from containerkit.tools.progress import ProgressSink
from containerkit.tools.transfer import credentials_of, push_image

__all__ = ["infra"]


@agent_node("infra")
def infra(state: Session, deps: Deps, sink: ProgressSink) -> dict[str, Any]:
    assert state.build is not None and state.images.local and state.options.registry
    registry = parse_registry(state.options.registry)
    ref = parse_image_ref(state.images.local).with_registry(registry)
    try:
        credentials = resolve_credentials(registry, explicit=credentials_of(deps.registry_auth, registry))
        pushed = push_image(
            deps.docker,
            state.build.image_id,
            ref,
            credentials=credentials,
            ca_file=Path(state.options.registry_ca) if state.options.registry_ca else None,
            timeout_s=state.options.push_timeout or deps.settings.timeouts.push,
            retry=deps.settings.retry,
            on_progress=sink,
        )
    except ContainerKitError as exc:
        attempts = exc.context.get("attempts")
        return {"_error": exc, "operations": list(attempts) if isinstance(attempts, list) else []}
    images = state.images.model_copy(
        update={"pushed": pushed.ref, "digest": pushed.digest, "verified": pushed.verified}
    )
    tries = f" after {len(pushed.attempts)} attempts" if len(pushed.attempts) > 1 else ""
    return {"images": images, "operations": pushed.attempts, "_note": f"{pushed.ref}@{pushed.digest}{tries}"}
