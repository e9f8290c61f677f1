"""Deploy rendered manifests and prove the service runs: apply, wait, answer, or roll back.

``deploy_manifests`` applies every object (server-side apply), waits for the Deployment's rollout,
then checks that the app answers HTTP where it can be reached from here (the pod's host port when
it runs with host networking). A rollout of a new version that fails is rolled back to the
revision that ran before (``kubectl rollout undo``'s choice: the newest older ReplicaSet's
template), unless the caller keeps it; the error says which revision runs now.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from pydantic import BaseModel, Field

from containerkit.errors import ContainerKitError, RolloutFailed
from containerkit.tools.k8s.cluster import (
    AppliedObject,
    Cluster,
    PodInfo,
    check_http,
    previous_template,
    revision_of,
    wait_rollout,
)
from containerkit.tools.progress import ProgressSink, null_sink
from containerkit.tools.tracing import traced

__all__ = ["DeployRequest", "DeployResult", "deploy_manifests", "undeploy_objects"]


class DeployRequest(BaseModel):
    documents: list[dict[str, Any]]
    """The rendered objects (base + overlay)."""
    timeout_s: float = Field(default=180.0, gt=0, le=3600)
    rollback: bool = True
    health_path: str | None = None
    """Path the answer check asks for (``/`` when unknown)."""
    check_timeout_s: float = 20.0


class DeployResult(BaseModel):
    namespace: str
    name: str
    applied: list[AppliedObject] = Field(default_factory=list)
    ready: bool = False
    revision: int | None = None
    previous_revision: int | None = None
    pods: list[PodInfo] = Field(default_factory=list)
    time_to_ready_s: float | None = None
    url: str | None = None
    status_code: int | None = None
    answered: bool | None = None
    """None: not checked (the pods are not reachable from here)."""
    rolled_back_to: int | None = None
    duration_s: float = 0.0


def _deployment(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(d for d in docs if d.get("kind") == "Deployment")


def _port(tpl: dict[str, Any]) -> tuple[int | None, bool]:
    spec = tpl.get("spec") or {}
    c = (spec.get("containers") or [{}])[0]
    ports = c.get("ports") or [{}]
    return ports[0].get("containerPort"), bool(spec.get("hostNetwork"))


def _url(tpl: dict[str, Any], pods: list[PodInfo], path: str | None) -> str | None:
    port, host_net = _port(tpl)
    if not port or not host_net:
        return None  # a pod IP behind no proxy, or a ClusterIP: not reachable from here in general
    ip = next((p.ip for p in pods if p.ip), None) or "127.0.0.1"
    if ip not in ("127.0.0.1", "::1") and not ip.startswith("127."):
        return None
    return f"http://{ip}:{port}{path if path and path.startswith('/') else '/'}"


def _answer(
    result: DeployResult, tpl: dict[str, Any], path: str | None, timeout: float, sink: ProgressSink
) -> DeployResult:
    url = _url(tpl, result.pods, path)
    if url is None:
        return result
    code = check_http(url, timeout_s=timeout)
    sink({"kind": "deploy", "stage": "deploy", "message": f"{url} answered {code}" if code else f"{url}: no answer"})
    return result.model_copy(update={"url": url, "status_code": code, "answered": code is not None and code < 500})


@traced("deploy_manifests")
def deploy_manifests(cluster: Cluster, req: DeployRequest, *, on_progress: ProgressSink = null_sink) -> DeployResult:
    """Apply, wait for the rollout, check the answer; roll a failed new version back (see the module doc)."""
    t0 = time.monotonic()
    dep_doc = _deployment(req.documents)
    name = str(dep_doc["metadata"]["name"])
    ns = cluster.namespace
    before = cluster.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")
    previous = revision_of(before)
    applied: list[AppliedObject] = []
    # the Deployment last: what it selects and what it reads exist before its pods start
    for doc in sorted(req.documents, key=lambda d: d.get("kind") == "Deployment"):
        live = cluster.apply(doc)
        applied.append(
            AppliedObject(
                api_version=str(doc["apiVersion"]), kind=str(doc["kind"]), name=live["metadata"]["name"], namespace=ns
            )
        )
        on_progress(
            {"kind": "deploy", "stage": "deploy", "message": f"applied {doc['kind']} {ns}/{live['metadata']['name']}"}
        )
    t_applied = time.monotonic()
    result = DeployResult(namespace=ns, name=name, applied=applied, previous_revision=previous)
    try:
        dep, pods = wait_rollout(cluster, name, timeout_s=req.timeout_s, on_progress=on_progress)
    except RolloutFailed as exc:
        exc.context["applied"] = [a.model_dump() for a in applied]
        exc.context["previous_revision"] = previous
        if req.rollback and previous is not None:
            _roll_back(cluster, dep_doc, exc, req, on_progress)
        elif previous is not None:
            exc.hint = (
                f"The failed version is kept (--no-rollback); `kubectl rollout undo deployment/{name} -n {ns}` "
                f"returns to revision {previous}. " + exc.hint
            )
        raise
    result = result.model_copy(
        update={
            "ready": True,
            "revision": revision_of(dep),
            "pods": pods,
            "time_to_ready_s": round(time.monotonic() - t_applied, 3),
        }
    )
    result = _answer(result, dep_doc["spec"]["template"], req.health_path, req.check_timeout_s, on_progress)
    return result.model_copy(update={"duration_s": round(time.monotonic() - t0, 3)})


def _roll_back(
    cluster: Cluster, dep_doc: dict[str, Any], exc: RolloutFailed, req: DeployRequest, sink: ProgressSink
) -> None:
    """Apply the previous revision's template; the error then says which revision runs and whether it answers."""
    name = str(dep_doc["metadata"]["name"])
    failed = exc.context.get("revision")
    prev = previous_template(cluster, name, failed if isinstance(failed, int) else None)
    if prev is None:
        return
    revision, tpl = prev
    sink({"kind": "deploy", "stage": "deploy", "message": f"rolling back {name} to revision {revision}"})
    doc = copy.deepcopy(dep_doc)
    doc["spec"]["template"] = tpl
    try:
        cluster.apply(doc)
        dep, pods = wait_rollout(cluster, name, timeout_s=req.timeout_s, on_progress=sink)
    except ContainerKitError as again:
        exc.context["rollback"] = f"failed: {again.message}"
        exc.message += f"; the rollback to revision {revision} failed too: {again.message}"
        return
    checked = _answer(
        DeployResult(namespace=cluster.namespace, name=name, pods=pods), tpl, req.health_path, req.check_timeout_s, sink
    )
    now_rev = revision_of(dep)
    exc.context["rolled_back_to"] = revision
    exc.context["revision_now"] = now_rev
    exc.context["rollback_url"] = checked.url
    answers = (
        f" and answers at {checked.url} ({checked.status_code})"
        if checked.answered
        else (" but does not answer" if checked.url else "")
    )
    exc.message += (
        f"; rolled back to the previous version (revision {revision}, now revision {now_rev}), which runs{answers}"
    )
    exc.hint = "The failed version was rolled back (pass --no-rollback to keep it for debugging). " + exc.hint


@traced("undeploy_objects")
def undeploy_objects(cluster: Cluster, objects: list[AppliedObject]) -> tuple[list[AppliedObject], list[AppliedObject]]:
    """Delete the objects that are still containerkit's; (deleted, kept because they are not ours)."""
    deleted: list[AppliedObject] = []
    kept: list[AppliedObject] = []
    for obj in objects:
        target = (
            cluster
            if obj.namespace == cluster.namespace
            else Cluster(cluster.api, obj.namespace, context=cluster.context, server=cluster.server)
        )
        (deleted if target.delete(obj) else kept).append(obj)
    return deleted, kept
