"""Apply to a real cluster and follow the rollout, through the official Python client.

Objects are applied with server-side apply (field manager ``containerkit``), so the API server
validates them, merges them with what others own, and records who owns which field. The rollout
is followed from the Deployment's status (``observedGeneration``, updated / ready / available
replicas, conditions) and the new pods' statuses; a rollout that cannot finish (an image that
cannot be pulled, a crash loop, a probe that never passes, pods nobody can schedule, a quota, an
admission refusal) stops early with its evidence: pod statuses, events and the container's log.

Requests go through ``ApiClient.param_serialize`` / ``call_api`` and answers are read as plain JSON,
so a server older than the client's models (v1.20 answers a delete with a ``Status``) never trips
the client's own deserialization.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from containerkit.errors import ApplyRejected, ClusterUnreachable, ManifestInvalid, RolloutFailed
from containerkit.tools.k8s.models import AppliedObject, KubeTarget, PodInfo, Validation
from containerkit.tools.progress import ProgressSink, null_sink

__all__ = [
    "FIELD_MANAGER",
    "MANAGED_BY",
    "AppliedObject",
    "Cluster",
    "KubeTarget",
    "PodInfo",
    "check_http",
    "connect",
    "previous_template",
    "revision_of",
    "validate_on_cluster",
    "wait_rollout",
]

FIELD_MANAGER = "containerkit"
MANAGED_BY = ("app.kubernetes.io/managed-by", "containerkit")
REVISION = "deployment.kubernetes.io/revision"

# apiVersion/kind -> collection path (namespaced)
_PATHS: dict[tuple[str, str], str] = {
    ("apps/v1", "Deployment"): "/apis/apps/v1/namespaces/{ns}/deployments",
    ("v1", "Service"): "/api/v1/namespaces/{ns}/services",
    ("v1", "ConfigMap"): "/api/v1/namespaces/{ns}/configmaps",
    ("v1", "Secret"): "/api/v1/namespaces/{ns}/secrets",
    ("networking.k8s.io/v1", "Ingress"): "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
    ("policy/v1", "PodDisruptionBudget"): "/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets",
    ("policy/v1beta1", "PodDisruptionBudget"): "/apis/policy/v1beta1/namespaces/{ns}/poddisruptionbudgets",
    ("networking.k8s.io/v1", "NetworkPolicy"): "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
    ("autoscaling/v1", "HorizontalPodAutoscaler"): "/apis/autoscaling/v1/namespaces/{ns}/horizontalpodautoscalers",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers",
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): (
        "/apis/autoscaling/v2beta2/namespaces/{ns}/horizontalpodautoscalers"
    ),
}
# The manifests use the stable versions; a server too old for them (v1.20 has no policy/v1 nor autoscaling/v2)
# gets the same object under the older version with the same schema.
_OLDER: dict[tuple[str, str], str] = {
    ("policy/v1", "PodDisruptionBudget"): "policy/v1beta1",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "autoscaling/v2beta2",
}
# the kinds written only on request: a later run without the option removes them (one served version each)
_PRUNABLE: dict[str, tuple[str, ...]] = {
    "Ingress": ("networking.k8s.io/v1",),
    "HorizontalPodAutoscaler": ("autoscaling/v1",),
    "PodDisruptionBudget": ("policy/v1", "policy/v1beta1"),
    "NetworkPolicy": ("networking.k8s.io/v1",),
}
_PROBE_HTTP_ERROR = re.compile(
    r"(?:Startup|Readiness) probe failed: HTTP probe failed with statuscode: (4\d\d).*?(?:\(x(\d+)\))?$"
)
_PULL = ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName")
_CONFIG = ("CreateContainerConfigError", "CreateContainerError", "RunContainerError")


class _Answer(BaseModel):
    status: int
    data: Any = None


class Cluster:
    """A connected client, the namespace it works in and where it points (for messages)."""

    def __init__(self, api: Any, namespace: str, *, context: str | None, server: str) -> None:
        self.api = api
        self.namespace = namespace
        self.context = context
        self.server = server
        self._served: dict[str, bool] = {}

    # -- plain JSON requests ------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> _Answer:
        from kubernetes.client.exceptions import ApiException

        try:
            m, url, headers, ser_body, _post = self.api.param_serialize(
                method=method,
                resource_path=path,
                query_params=query or [],
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                auth_settings=["BearerToken"],
            )
            resp = self.api.call_api(m, url, header_params=headers, body=ser_body, _request_timeout=timeout)
            resp.read()
            status, raw = int(resp.status), resp.data
        except ApiException as exc:
            status, raw = int(exc.status or 0), exc.body
        except Exception as exc:  # noqa: BLE001 - urllib3 and ssl errors: the cluster is not reachable
            raise ClusterUnreachable(
                f"cannot reach the Kubernetes API at {self.server}: {type(exc).__name__}: {str(exc)[:200]}",
                server=self.server,
            ) from None
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return _Answer(status=status, data=data)

    def get(self, path: str, **query: str) -> dict[str, Any] | None:
        a = self.request("GET", path, query=list(query.items()))
        if a.status == 404:
            return None
        if a.status >= 400 or not isinstance(a.data, dict):
            raise ClusterUnreachable(f"GET {path} answered {a.status}: {_reason(a.data)}", server=self.server)
        return a.data

    def items(self, path: str, **query: str) -> list[dict[str, Any]]:
        data = self.get(path, **query)
        return list((data or {}).get("items") or [])

    # -- objects ------------------------------------------------------------------------------

    def object_path(self, doc: dict[str, Any], namespace: str | None = None) -> str:
        key = (str(doc.get("apiVersion")), str(doc.get("kind")))
        if key not in _PATHS:
            raise ApplyRejected(f"containerkit does not apply {key[0]}/{key[1]} objects")
        return _PATHS[key].format(ns=namespace or self.namespace) + "/" + str(doc["metadata"]["name"])

    def serves(self, api_version: str) -> bool:
        """The API server serves this group/version (discovery; remembered per client)."""
        if api_version not in self._served:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            self._served[api_version] = self.request("GET", path, timeout=10).status < 400
        return self._served[api_version]

    def served_form(self, doc: dict[str, Any]) -> dict[str, Any]:
        """``doc`` under an older apiVersion of the same schema when the server lacks the stable one."""
        key = (str(doc.get("apiVersion")), str(doc.get("kind")))
        older = _OLDER.get(key)
        if older is None or self.serves(key[0]) or not self.serves(older):
            return doc
        return {**doc, "apiVersion": older}

    def apply(self, doc: dict[str, Any], *, dry_run: bool = False, timeout: float = 30.0) -> dict[str, Any]:
        """Server-side apply of one object (field manager ``containerkit``, conflicts forced).

        ``dry_run``: the API server validates, defaults and admits the object (``dryRun=All``) and stores
        nothing; a refusal is :class:`ManifestInvalid` when the object itself is invalid (422).
        """
        body = json.loads(json.dumps(self.served_form(doc)))
        body.setdefault("metadata", {})["namespace"] = self.namespace
        query = [("fieldManager", FIELD_MANAGER), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        a = self.request(
            "PATCH",
            self.object_path(body),
            query=query,
            body=body,
            content_type="application/apply-patch+yaml",
            timeout=timeout,
        )
        if a.status == 422 and "more than 1 handler type" in _reason(a.data):
            a = self._replace(body, dry_run=dry_run)
        if a.status >= 400 or not isinstance(a.data, dict):
            what = f"{doc.get('kind')} {self.namespace}/{doc['metadata']['name']}"
            if dry_run and a.status == 422:
                raise ManifestInvalid(
                    f"the API server's dry run found {what} invalid: {_reason(a.data)}",
                    hint="The manifest was not applied. Fix the field the API server names (in k8s/base or the "
                    "option that produced it) and run again.",
                    status=a.status,
                    log_tail=_reason(a.data),
                )
            raise ApplyRejected(
                f"the API server refused {what}{' (dry run)' if dry_run else ''}: {_reason(a.data)}",
                status=a.status,
                log_tail=_reason(a.data),
            )
        return a.data

    def dry_run(self, docs: list[dict[str, Any]], *, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Every object validated and admitted by the API server (``dryRun=All``), nothing stored."""
        return [self.apply(d, dry_run=True, timeout=timeout) for d in docs]

    def _replace(self, body: dict[str, Any], *, dry_run: bool = False) -> _Answer:
        """Replace the object's spec (an update owned by containerkit) when an apply cannot merge it.

        v1.20's server-side apply keeps a probe's defaulted fields when the applied probe switches handler
        (httpGet -> tcpSocket), and the merged probe is invalid; a replace of the spec switches it cleanly.
        """
        path = self.object_path(body)
        live = self.get(path)
        if live is None:
            return _Answer(status=404, data={"message": f"{path} disappeared"})
        meta = live["metadata"]
        for key in ("labels", "annotations"):
            meta[key] = {**(meta.get(key) or {}), **((body.get("metadata") or {}).get(key) or {})}
        live["spec"] = body["spec"]
        live.pop("status", None)
        query = [("fieldManager", FIELD_MANAGER)] + ([("dryRun", "All")] if dry_run else [])
        return self.request("PUT", path, query=query, body=live)

    def delete(self, obj: AppliedObject) -> bool:
        """Delete one object if it is still containerkit's; True when it was deleted (or gone)."""
        path = self.object_path(
            {"apiVersion": obj.api_version, "kind": obj.kind, "metadata": {"name": obj.name}}, obj.namespace
        )
        live = self.get(path)
        if live is None:
            return True
        labels = (live.get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY[0]) != MANAGED_BY[1]:
            return False
        a = self.request("DELETE", path, body={"propagationPolicy": "Foreground"})
        return a.status < 400 or a.status == 404

    def prune(self, name: str, keep: list[AppliedObject]) -> list[AppliedObject]:
        """Delete the on-request objects of app ``name`` containerkit applied earlier and no longer applies
        (an Ingress no longer asked for), as ``kubectl apply --prune`` would; only objects labelled ours."""
        kept = {(o.kind, o.name) for o in keep}
        selector = f"app.kubernetes.io/name={name},{MANAGED_BY[0]}={MANAGED_BY[1]}"
        pruned: list[AppliedObject] = []
        for kind, versions in _PRUNABLE.items():
            api_version = next((v for v in versions if self.serves(v)), None)
            if api_version is None:
                continue
            collection = _PATHS[(api_version, kind)].format(ns=self.namespace)
            for live in self.items(collection, labelSelector=selector):
                obj = AppliedObject(
                    api_version=api_version, kind=kind, name=live["metadata"]["name"], namespace=self.namespace
                )
                if (kind, obj.name) not in kept and self.delete(obj):
                    pruned.append(obj)
        return pruned

    def namespace_exists(self) -> bool:
        return self.get(f"/api/v1/namespaces/{self.namespace}") is not None


def _reason(data: Any) -> str:
    if isinstance(data, dict):
        return str(data.get("message") or data.get("reason") or data)[:600]
    return str(data)[:600]


def _kubeconfig_path(target: KubeTarget) -> str:
    if target.kubeconfig:
        return target.kubeconfig
    env = os.environ.get("KUBECONFIG")
    if env:
        return env
    return str(Path("~/.kube/config").expanduser())


def connect(target: KubeTarget) -> Cluster:
    """A client for the target's cluster; :class:`ClusterUnreachable` when there is no usable config."""
    from kubernetes import config as kconfig
    from kubernetes.config.config_exception import ConfigException

    path = _kubeconfig_path(target)
    files = [p for p in path.split(os.pathsep) if p]
    if not any(Path(p).expanduser().is_file() for p in files):
        raise ClusterUnreachable(f"no kubeconfig at {path}", path=path)
    try:
        contexts, active = kconfig.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
        ctx = next((c for c in contexts if c.get("name") == target.context), None) if target.context else active
        if target.context and ctx is None:
            raise ClusterUnreachable(
                f"no context {target.context!r} in {path}",
                hint="Contexts there: " + ", ".join(str(c.get("name")) for c in contexts),
            )
        api = kconfig.new_client_from_config(config_file=path, context=target.context)  # type: ignore[no-untyped-call]
    except ConfigException as exc:
        raise ClusterUnreachable(f"Invalid kube-config {path}: {exc}", path=path) from None
    namespace = target.namespace or str(((ctx or {}).get("context") or {}).get("namespace") or "default")
    server = str(api.configuration.host)
    return Cluster(api, namespace, context=(ctx or {}).get("name"), server=server)


def validate_on_cluster(target: KubeTarget, documents: list[dict[str, Any]], *, timeout: float = 10.0) -> Validation:
    """The API server's dry run of ``documents`` when the target cluster answers; the models' verdict otherwise.

    Raises :class:`ManifestInvalid` when the server finds an object invalid. A cluster that is not
    configured or does not answer, a missing namespace, or a dry run refused for another reason (RBAC,
    admission) leave the Kubernetes models' check (done when the manifests were made) and say why.
    """
    try:
        cluster = connect(target)
        cluster.dry_run(documents, timeout=timeout)
    except ManifestInvalid:
        raise
    except (ClusterUnreachable, ApplyRejected) as exc:
        return Validation(validated_by="models", validation_note=f"no server-side dry run: {exc.message}")
    return Validation(
        validated_by="api-server", validation_note=f"dry run on {cluster.server}, namespace {cluster.namespace}"
    )


# -- rollout ----------------------------------------------------------------------------------


def revision_of(obj: dict[str, Any] | None) -> int | None:
    if not obj:
        return None
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION)
    return int(value) if value and str(value).isdigit() else None


def _selector(dep: dict[str, Any]) -> str:
    labels = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _pod_info(pod: dict[str, Any]) -> PodInfo:
    st = pod.get("status") or {}
    cs = (st.get("containerStatuses") or [{}])[0]
    reason = None
    state = cs.get("state") or {}
    if "waiting" in state:
        reason = state["waiting"].get("reason")
    elif "terminated" in state:
        reason = state["terminated"].get("reason")
    for cond in st.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            reason = cond.get("reason") or "Unschedulable"
    return PodInfo(
        name=pod["metadata"]["name"],
        phase=str(st.get("phase") or ""),
        ready=bool(cs.get("ready")),
        restarts=int(cs.get("restartCount") or 0),
        reason=reason,
        ip=st.get("podIP"),
        host_network=bool((pod.get("spec") or {}).get("hostNetwork")),
    )


class _Rollout:
    """What one poll of a rollout sees: the Deployment, its newest ReplicaSet, that set's pods."""

    def __init__(self, cluster: Cluster, name: str) -> None:
        self.c = cluster
        self.name = name
        ns = cluster.namespace
        self.dep_path = f"/apis/apps/v1/namespaces/{ns}/deployments/{name}"

    def replica_sets(self, dep: dict[str, Any]) -> list[dict[str, Any]]:
        uid = dep["metadata"]["uid"]
        sets = self.c.items(f"/apis/apps/v1/namespaces/{self.c.namespace}/replicasets", labelSelector=_selector(dep))
        mine = [rs for rs in sets if any(o.get("uid") == uid for o in rs["metadata"].get("ownerReferences") or [])]
        return sorted(mine, key=lambda rs: revision_of(rs) or 0)

    def pods(self, rs: dict[str, Any] | None, dep: dict[str, Any]) -> list[dict[str, Any]]:
        sel = _selector(dep)
        if rs is not None:
            h = (rs["metadata"].get("labels") or {}).get("pod-template-hash")
            if h:
                sel += f",pod-template-hash={h}"
        return self.c.items(f"/api/v1/namespaces/{self.c.namespace}/pods", labelSelector=sel)

    def events(self, names: list[str]) -> list[str]:
        out = []
        for ev in self.c.items(f"/api/v1/namespaces/{self.c.namespace}/events"):
            obj = ev.get("involvedObject") or {}
            if obj.get("name") in names and (
                ev.get("type") == "Warning" or ev.get("reason") in ("Failed", "FailedCreate", "FailedScheduling")
            ):
                out.append(
                    f"event {obj.get('kind')}/{obj.get('name')}: {ev.get('reason')}: {str(ev.get('message', '')).strip()}"
                    + (f" (x{ev['count']})" if (ev.get("count") or 1) > 1 else "")
                )
        return out[-20:]

    def log(self, pod: dict[str, Any]) -> str:
        name = pod["metadata"]["name"]
        cs = ((pod.get("status") or {}).get("containerStatuses") or [{}])[0]
        # a container that restarted: the one that crashed wrote the cause (the running one may only be starting)
        previous = bool(cs.get("restartCount"))
        for prev in [True, False] if previous else [False, True]:
            a = self.c.request(
                "GET",
                f"/api/v1/namespaces/{self.c.namespace}/pods/{name}/log",
                query=[("tailLines", "60"), ("previous", "true" if prev else "false")],
            )
            if a.status < 400 and a.data:
                text = a.data if isinstance(a.data, str) else json.dumps(a.data)
                return text[-6000:]
        return ""


def _same_template(rs: dict[str, Any], dep: dict[str, Any]) -> bool:
    """The controller's EqualIgnoreHash: the templates are equal but for the pod-template-hash label."""
    a = json.loads(json.dumps((rs.get("spec") or {}).get("template") or {}))
    b = (dep.get("spec") or {}).get("template") or {}
    ((a.get("metadata") or {}).get("labels") or {}).pop("pod-template-hash", None)
    return bool(a == b)


def _status_lines(pods: list[dict[str, Any]]) -> list[str]:
    lines = []
    for pod in pods:
        name = pod["metadata"]["name"]
        st = pod.get("status") or {}
        for cond in st.get("conditions") or []:
            if cond.get("status") == "False" and cond.get("reason"):
                lines.append(f"pod {name}: {cond['type']} False: {cond['reason']}: {cond.get('message', '')}".strip())
        for cs in st.get("containerStatuses") or []:
            state = cs.get("state") or {}
            if "waiting" in state and state["waiting"].get("reason") not in (None, "ContainerCreating"):
                w = state["waiting"]
                lines.append(f"pod {name}: container {cs['name']} waiting: {w.get('reason')}: {w.get('message', '')}")
            last = (cs.get("lastState") or {}).get("terminated") or state.get("terminated")
            if last:
                lines.append(
                    f"pod {name}: container {cs['name']} terminated: {last.get('reason')} (exit {last.get('exitCode')}), "
                    f"restarts {cs.get('restartCount', 0)}"
                )
    return lines


def _blocked(pods: list[dict[str, Any]], events: list[str], since: float, now: float) -> str | None:
    """Why the new pods cannot become ready (no waiting helps), or None while they still may."""
    text = "\n".join(events)
    for pod in pods:
        st = pod.get("status") or {}
        for cs in st.get("containerStatuses") or []:
            w = (cs.get("state") or {}).get("waiting") or {}
            reason = w.get("reason")
            if reason in ("ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", *_CONFIG):
                return f"{reason}: {w.get('message', '')}".strip()
            if reason == "ErrImagePull" and now - since > 3:
                return f"{reason}: {w.get('message', '')}".strip()
            if reason == "CrashLoopBackOff" or int(cs.get("restartCount") or 0) >= 2:
                return f"CrashLoopBackOff: restarted {cs.get('restartCount', 0)} times"
            term = ((cs.get("lastState") or {}).get("terminated") or {}).get("reason")
            if term == "OOMKilled":
                return "OOMKilled"
        for cond in st.get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("reason") == "Unschedulable" and now - since > 5:
                return f"Unschedulable: {cond.get('message', '')}"
    # a probe answered with an HTTP error several times: the app runs, the path is wrong; waiting will not help
    # (a refused connection is an app still starting: that one waits for the startup probe's budget)
    for ln in events:
        m = _PROBE_HTTP_ERROR.search(ln)
        if m and int(m.group(2) or 1) >= 3:
            return ln.split(": ", 1)[1] if ": " in ln else ln
    if "exceeded quota" in text or "forbidden" in text.lower():
        return next(ln for ln in events if "exceeded quota" in ln or "forbidden" in ln.lower())
    return None


def wait_rollout(
    cluster: Cluster,
    name: str,
    *,
    timeout_s: float = 180.0,
    poll_s: float = 0.25,
    on_progress: ProgressSink = null_sink,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[dict[str, Any], list[PodInfo]]:
    """Wait until the Deployment's newest generation is fully rolled out; the Deployment and its pods.

    Raises :class:`RolloutFailed` (with pod statuses, events and the container log as evidence) as
    soon as the new pods cannot become ready, or at ``timeout_s``.
    """
    r = _Rollout(cluster, name)
    start = clock()
    last_msg = ""
    while True:
        dep = cluster.get(r.dep_path)
        if dep is None:
            raise RolloutFailed(f"Deployment {cluster.namespace}/{name} disappeared during the rollout")
        spec, st = dep.get("spec") or {}, dep.get("status") or {}
        want = int(spec.get("replicas", 1))
        gen, seen = int(dep["metadata"].get("generation") or 0), int(st.get("observedGeneration") or 0)
        updated, ready = int(st.get("updatedReplicas") or 0), int(st.get("readyReplicas") or 0)
        available, total = int(st.get("availableReplicas") or 0), int(st.get("replicas") or 0)
        msg = f"rollout of {name}: {updated}/{want} updated, {ready} ready, {available} available"
        if msg != last_msg:
            on_progress(
                {
                    "kind": "deploy",
                    "stage": "deploy",
                    "message": msg,
                    "data": {"updated": updated, "ready": ready, "available": available, "replicas": want},
                }
            )
            last_msg = msg
        # the new ReplicaSet is the one whose template is the Deployment's (the controller may report the new
        # generation before it created it: the newest by revision is then still the old one, with the old pods)
        sets = r.replica_sets(dep) if seen >= gen else []
        newest = next((rs for rs in reversed(sets) if _same_template(rs, dep)), None)
        if seen >= gen and updated == want and total == want and available == want:
            pods = r.pods(newest, dep)
            return dep, [_pod_info(p) for p in pods]
        now = clock()
        conds = {c.get("type"): c for c in st.get("conditions") or []}
        stalled = (conds.get("Progressing") or {}).get("reason") == "ProgressDeadlineExceeded"
        pods = r.pods(newest, dep) if newest is not None else []
        names = [p["metadata"]["name"] for p in pods] + ([newest["metadata"]["name"]] if newest else [])
        events = r.events(names) if names else []
        why = "ProgressDeadlineExceeded" if stalled and seen >= gen else _blocked(pods, events, start, now)
        if why is None and now - start > timeout_s:
            why = f"rollout did not finish within {timeout_s:.0f} s"
        if why is not None:
            crashed = [
                p
                for p in pods
                if any(
                    int(cs.get("restartCount") or 0) for cs in (p.get("status") or {}).get("containerStatuses") or []
                )
            ]
            log = r.log((crashed or pods)[0]) if pods else ""
            evidence = [*_status_lines(pods), *events]
            raise RolloutFailed(
                f"the rollout of {cluster.namespace}/{name} failed: {why}",
                log_tail=log,
                status_lines="\n".join(evidence),
                pods=[_pod_info(p).model_dump() for p in pods],
                revision=revision_of(newest),
            )
        sleep(poll_s)


def previous_template(cluster: Cluster, name: str, current: int | None) -> tuple[int, dict[str, Any]] | None:
    """The pod template of the newest revision before ``current`` (``kubectl rollout undo``'s choice)."""
    r = _Rollout(cluster, name)
    dep = cluster.get(r.dep_path)
    if dep is None:
        return None
    older = [rs for rs in r.replica_sets(dep) if (revision_of(rs) or 0) < (current or revision_of(dep) or 0)]
    if not older:
        return None
    rs = older[-1]
    tpl = json.loads(json.dumps(rs["spec"]["template"]))
    (tpl.get("metadata") or {}).get("labels", {}).pop("pod-template-hash", None)
    return revision_of(rs) or 0, tpl


def check_http(url: str, *, timeout_s: float = 20.0, poll_s: float = 0.2) -> int | None:
    """The first HTTP status ``url`` answers with (retried until ``timeout_s``); None if nothing answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with opener.open(
                urllib.request.Request(url, headers={"User-Agent": "containerkit-deploy"}), timeout=3
            ) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or time.monotonic() > deadline:
                return int(exc.code)
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                return None
        time.sleep(poll_s)
