"""The data of a deployment on a cluster (pydantic only: the session state imports these)."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["AppliedObject", "KubeTarget", "PodInfo"]


class KubeTarget(BaseModel):
    """Which cluster: a kubeconfig (None: ``$KUBECONFIG``, else ``~/.kube/config``), a context, a namespace."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    """None: the context's namespace, else ``default``."""


class AppliedObject(BaseModel):
    api_version: str
    kind: str
    name: str
    namespace: str


class PodInfo(BaseModel):
    name: str
    phase: str = ""
    ready: bool = False
    restarts: int = 0
    reason: str | None = None
    """Why it is not ready (a waiting or terminated reason), when it is not."""
    ip: str | None = None
    host_network: bool = False
