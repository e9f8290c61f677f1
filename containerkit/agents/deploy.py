"""The deploy agent: Kubernetes manifests for the pushed image (applying comes with a later issue)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from containerkit.agents._common import module_dir, selected_module, session_dir
from containerkit.agents._deps import Deps
from containerkit.agents._stage import agent_node
from containerkit.state import DeploymentStatus, ManifestInfo, Session
from containerkit.tools.analyze.naming import image_name
from containerkit.tools.manifests import ManifestRequest, generate_manifests, write_manifests
from containerkit.tools.progress import ProgressSink

__all__ = ["deploy"]
_MARK = "app.kubernetes.io/managed-by: containerkit"


def _user_owned(out: Path) -> bool:
    """A manifest folder holding YAML that containerkit did not write is the user's."""
    for f in ("deployment.yaml", "service.yaml"):
        p = out / f
        if p.is_file() and _MARK not in p.read_text(encoding="utf-8", errors="replace"):
            return True
    return False


def _container_port(state: Session, analyzed: int | None) -> int:
    """The port the app was seen answering on when it ignores $PORT; else the analyzed one."""
    v = state.verify
    if v is not None and v.answered and v.honours_port_env is False and v.port:
        return v.port
    return analyzed or 8080


@agent_node("deploy")
def deploy(state: Session, deps: Deps, sink: ProgressSink) -> dict[str, Any]:
    module = selected_module(state)
    image = state.images.pushed or state.images.local
    assert image is not None
    if state.images.digest and state.images.pushed:
        image = f"{state.images.pushed}@{state.images.digest}"  # pin what was verified
    manifests = generate_manifests(
        ManifestRequest(
            name=image_name(module.name, module.path, state.repo_path),  # never a bare "web" or "python"
            image=image,
            port=_container_port(state, module.port),
            health_path=module.health_path,
            namespace=state.options.namespace,
            run_as_user=state.dockerfile.user_uid if state.dockerfile else None,
        )
    )
    out = Path(state.options.manifests_dir) if state.options.manifests_dir else module_dir(state, module) / "k8s"
    note = None
    if _user_owned(out) and not state.options.force:
        note = f"{out} holds your own manifests: wrote containerkit's to the session folder instead"
        sink({"kind": "warning", "stage": "deploy", "message": note})
        out = session_dir(state, deps) / "k8s"
    paths = write_manifests(manifests, out)
    return {
        "manifests": ManifestInfo(paths=[str(p) for p in paths], kinds=[str(d["kind"]) for d in manifests.documents]),
        "deployment": DeploymentStatus(),
        "_note": note,
    }
