"""Deploy rendered manifests and prove the service runs: apply, wait, answer, or roll back.

``deploy_manifests`` has the API server validate and admit every object first (a dry run: one refused
object means none is applied), applies them (server-side apply), waits for the Deployment's rollout,
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

__all__ = ["DeployRequest", "DeployResult", "config_gaps", "deploy_manifests", "undeploy_objects"]


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
    missing_config: dict[str, list[str]] = Field(default_factory=dict)
    """ConfigMap / Secret the pods read (envFrom) -> the variables the app needs that it does not hold."""
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


_NAMES_OF = {"configMapRef": "containerkit.io/config-names", "secretRef": "containerkit.io/secret-names"}


def config_gaps(cluster: Cluster, dep_doc: dict[str, Any]) -> dict[str, list[str]]:
    """For each ConfigMap / Secret the pods read (``envFrom``), the variables the app needs that it lacks.

    The names come from the Deployment's annotations (what the analysis found, never values); of a
    Secret only its keys are looked at. An object this user may not read is left out.
    """
    ann = (dep_doc.get("metadata") or {}).get("annotations") or {}
    containers = ((dep_doc.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    gaps: dict[str, list[str]] = {}
    for ref in (containers[0].get("envFrom") or []) if containers else []:
        kind = next((k for k in _NAMES_OF if k in ref), None)
        if kind is None:
            continue
        wanted = [n for n in str(ann.get(_NAMES_OF[kind], "")).split(",") if n]
        obj_name = str(ref[kind]["name"])
        path = f"/api/v1/namespaces/{cluster.namespace}/{'configmaps' if kind == 'configMapRef' else 'secrets'}"
        try:
            live = cluster.get(f"{path}/{obj_name}")
        except ContainerKitError:  # not allowed to read it (RBAC): what it holds is unknown, not missing
            continue
        keys = set(((live or {}).get("data") or {}).keys()) | set(((live or {}).get("stringData") or {}).keys())
        lacking = [n for n in wanted if n not in keys]
        if lacking:
            gaps[obj_name] = lacking
    return gaps


def _config_hint(ns: str, gaps: dict[str, list[str]]) -> str:
    cmds = []
    for obj, names in gaps.items():
        kind = "secret generic" if obj.endswith("-secrets") else "configmap"
        lits = " ".join(f"--from-literal={n}=..." for n in names)
        cmds.append(f"kubectl -n {ns} create {kind} {obj} {lits}")
    return "; ".join(cmds)


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
    ordered = sorted(req.documents, key=lambda d: d.get("kind") == "Deployment")
    cluster.dry_run(ordered)  # all or nothing: an object the API server refuses stops the deploy before any change
    on_progress(
        {"kind": "deploy", "stage": "deploy", "message": f"{len(ordered)} objects pass the API server's dry run"}
    )
    for doc in ordered:
        live = cluster.apply(doc)
        applied.append(
            AppliedObject(
                api_version=str(live.get("apiVersion") or doc["apiVersion"]),
                kind=str(doc["kind"]),
                name=live["metadata"]["name"],
                namespace=ns,
            )
        )
        on_progress(
            {"kind": "deploy", "stage": "deploy", "message": f"applied {doc['kind']} {ns}/{live['metadata']['name']}"}
        )
    for gone in cluster.prune(name, applied):
        on_progress({"kind": "deploy", "stage": "deploy", "message": f"removed {gone.kind} {ns}/{gone.name}"})
    t_applied = time.monotonic()
    gaps = config_gaps(cluster, dep_doc)
    if gaps:
        on_progress(
            {
                "kind": "warning",
                "stage": "deploy",
                "message": "the app reads configuration the cluster does not hold: "
                + ", ".join(f"{', '.join(v)} (from {k})" for k, v in gaps.items())
                + f"; create it: {_config_hint(ns, gaps)}",
            }
        )
    result = DeployResult(namespace=ns, name=name, applied=applied, previous_revision=previous, missing_config=gaps)
    try:
        dep, pods = wait_rollout(cluster, name, timeout_s=req.timeout_s, on_progress=on_progress)
    except RolloutFailed as exc:
        exc.context["applied"] = [a.model_dump() for a in applied]
        exc.context["previous_revision"] = previous
        exc.context["missing_config"] = gaps
        if gaps:
            exc.hint = f"The app may need the configuration the cluster lacks: {_config_hint(ns, gaps)}. " + exc.hint
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
