"""The data of a deployment on a cluster (pydantic only: the session state imports these)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

__all__ = ["OVERLAYS", "AppliedObject", "ExtraObjects", "HpaSpec", "KubeTarget", "PodInfo", "Validation"]

OVERLAYS = ("local",)
"""The named Kustomize overlays ``--k8s-overlay`` picks (``local``: one node, host networking)."""


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


class HpaSpec(BaseModel):
    """A HorizontalPodAutoscaler on CPU: between ``min_replicas`` and ``max_replicas`` pods."""

    min_replicas: int = Field(ge=1, le=1000)
    max_replicas: int = Field(ge=1, le=1000)
    cpu_percent: int = Field(default=80, ge=1, le=1000)
    """Target average CPU use, as a percentage of the containers' CPU request."""

    @model_validator(mode="after")
    def _ordered(self) -> HpaSpec:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min replicas {self.min_replicas} is above max replicas {self.max_replicas}")
        return self


class ExtraObjects(BaseModel):
    """The objects written only on request, beside the Deployment and the Service."""

    ingress_host: str | None = None
    """An Ingress routing this host name (path ``/``) to the Service."""
    ingress_class: str | None = None
    hpa: HpaSpec | None = None
    pdb_min_available: str | None = None
    """A PodDisruptionBudget keeping this many pods (``1``) or this share (``50%``) during voluntary disruptions."""
    network_policy: bool = False
    """A NetworkPolicy admitting traffic to the app's port only (every other port of its pods is closed)."""


class Validation(BaseModel):
    """Who validated a set of manifests, and why not the API server when it was not."""

    validated_by: Literal["api-server", "models"] = "models"
    validation_note: str | None = None
