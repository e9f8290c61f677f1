"""Kubernetes manifests for a containerized module, built from the API's own typed models.

Building through ``kubernetes.client`` models means a wrong field name or type fails here, before
anything is written; the extra checks below catch what the models cannot (selectors, ports).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from containerkit.errors import InvalidOption, ManifestInvalid, OutputRefused, OutputUnwritable
from containerkit.tools.fsio import write_text
from containerkit.tools.k8s.models import ExtraObjects, HpaSpec
from containerkit.tools.tracing import traced

if TYPE_CHECKING:  # the kubernetes client is imported when manifests are built, not with the agents
    from kubernetes import client as k8s

__all__ = [
    "ExtraObjects",
    "HpaSpec",
    "ManifestRequest",
    "ManifestSet",
    "generate_manifests",
    "parse_hpa",
    "parse_ingress_host",
    "parse_min_available",
    "validate_manifest",
    "write_manifests",
]

_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")


class ManifestRequest(BaseModel):
    name: str
    image: str
    port: int = Field(ge=1, le=65535)
    health_path: str | None = None
    namespace: str | None = None
    replicas: int = Field(default=1, ge=0)
    run_as_user: int | None = None
    """Numeric uid (lets the kubelet verify runAsNonRoot); None keeps the image's USER."""
    cpu_request: str = "100m"
    memory_request: str = "128Mi"
    cpu_limit: str = "500m"
    memory_limit: str = "512Mi"
    env: dict[str, str] = {}
    config_names: list[str] = []
    """Variables the app reads (names only): from a ConfigMap ``<name>-config``, or a Secret
    ``<name>-secrets`` for names that look secret; both optional, so the pod starts without them."""
    read_only_root: bool = True
    writable_paths: list[str] = ["/tmp"]
    """Each gets an emptyDir, so a read-only root filesystem still lets the app write there."""
    startup_timeout_s: int = Field(default=60, ge=1, le=3600)
    """How long the startup probe lets the app take before liveness counts."""
    extras: ExtraObjects = Field(default_factory=ExtraObjects)
    """Ingress, HorizontalPodAutoscaler, PodDisruptionBudget, NetworkPolicy: only those asked for."""


def parse_hpa(value: str, cpu_percent: int = 80) -> HpaSpec:
    """``MIN:MAX`` (``2:5``) as an autoscaler spec; :class:`InvalidOption` otherwise."""
    lo, sep, hi = value.partition(":")
    try:
        if not sep:
            raise ValueError("no ':'")
        return HpaSpec(min_replicas=int(lo), max_replicas=int(hi), cpu_percent=cpu_percent)
    except ValidationError as exc:
        msg = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise InvalidOption(
            f"--hpa {value!r}: {msg}",
            hint="Give --hpa MIN:MAX with 1 <= MIN <= MAX (e.g. --hpa 2:5) and --hpa-cpu between 1 and 1000.",
        ) from None
    except ValueError as exc:
        msg = str(exc)
        raise InvalidOption(
            f"--hpa {value!r}: {msg}",
            hint="Give --hpa MIN:MAX with 1 <= MIN <= MAX (e.g. --hpa 2:5) and --hpa-cpu between 1 and 1000.",
        ) from None


def parse_min_available(value: str) -> str:
    """A PodDisruptionBudget's ``minAvailable``: a count (``1``) or a share (``50%``)."""
    v = value.strip()
    if re.fullmatch(r"\d{1,4}", v) or (re.fullmatch(r"\d{1,3}%", v) and int(v[:-1]) <= 100):
        return v
    raise InvalidOption(
        f"--pdb {value!r}: not a pod count or a percentage",
        hint="Give --pdb the pods that must stay up during a drain: a count (--pdb 1) or a share (--pdb 50%).",
    )


def parse_ingress_host(value: str) -> str:
    """A host name an Ingress can route (DNS-1123 subdomain, ``*.`` allowed in front)."""
    v = value.strip().lower().rstrip(".")
    if len(v) <= 253 and _HOST.match(v) and all(len(label) <= 63 for label in v.split(".")):
        return v
    raise InvalidOption(
        f"--ingress-host {value!r}: not a DNS host name",
        hint="Give --ingress-host a host name such as shop.example.com (no scheme, port or path).",
    )


_SECRET_WORDS = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|_KEY$|DSN|DATABASE_URL", re.I)


def is_secret_name(name: str) -> bool:
    """A variable whose value belongs in a Secret rather than a ConfigMap."""
    return bool(_SECRET_WORDS.search(name))


class ManifestSet(BaseModel):
    documents: list[dict[str, Any]]

    def by_kind(self, kind: str) -> dict[str, Any]:
        return next(d for d in self.documents if d.get("kind") == kind)


def k8s_name(name: str) -> str:
    """A DNS-1123 label from any project name."""
    s = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")
    return s or "app"


def _probe(port: int, path: str | None, *, initial: int, period: int, failures: int = 3) -> k8s.V1Probe:
    from kubernetes import client as k8s

    if path:
        return k8s.V1Probe(
            http_get=k8s.V1HTTPGetAction(path=path, port="http"),
            initial_delay_seconds=initial,
            period_seconds=period,
            timeout_seconds=3,
            failure_threshold=failures,
        )
    return k8s.V1Probe(
        tcp_socket=k8s.V1TCPSocketAction(port="http"),
        initial_delay_seconds=initial,
        period_seconds=period,
        timeout_seconds=3,
        failure_threshold=failures,
    )


def _volume_name(path: str) -> str:
    return k8s_name("w-" + path.strip("/").replace("/", "-"))[:63]


@traced("generate_manifests")
def generate_manifests(req: ManifestRequest) -> ManifestSet:
    """A Deployment and a Service that pass Pod Security Standards ``restricted`` (and the extras asked for).

    Non-root (the image's numeric uid), no privilege escalation, all capabilities dropped, seccomp
    ``RuntimeDefault``, a read-only root filesystem with an emptyDir for each writable path;
    requests and limits; startup, readiness and liveness probes on the app's port (its health path
    when known); configuration from an optional ConfigMap and Secret (names only, never values).
    """
    from kubernetes import client as k8s

    name = k8s_name(req.name)
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "containerkit"}
    config = [n for n in req.config_names if not is_secret_name(n)]
    secret = [n for n in req.config_names if is_secret_name(n)]
    annotations: dict[str, str] = {}
    if config:
        annotations["containerkit.io/config-names"] = ",".join(config)
    if secret:
        annotations["containerkit.io/secret-names"] = ",".join(secret)
    meta = k8s.V1ObjectMeta(name=name, namespace=req.namespace, labels=labels)
    dep_meta = k8s.V1ObjectMeta(name=name, namespace=req.namespace, labels=labels, annotations=annotations or None)
    env_from = []
    if config:
        env_from.append(
            k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name=f"{name}-config", optional=True))
        )
    if secret:
        env_from.append(k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=f"{name}-secrets", optional=True)))
    writable = list(dict.fromkeys(p for p in req.writable_paths if p.startswith("/"))) if req.read_only_root else []
    period = 2
    container = k8s.V1Container(
        name=name,
        image=req.image,
        image_pull_policy="IfNotPresent",
        ports=[k8s.V1ContainerPort(name="http", container_port=req.port, protocol="TCP")],
        env=[k8s.V1EnvVar(name="PORT", value=str(req.port))]
        + [k8s.V1EnvVar(name=k, value=v) for k, v in sorted(req.env.items())],
        env_from=env_from or None,
        startup_probe=_probe(req.port, req.health_path, initial=0, period=1, failures=req.startup_timeout_s),
        readiness_probe=_probe(req.port, req.health_path, initial=0, period=period),
        liveness_probe=_probe(req.port, req.health_path, initial=0, period=10),
        resources=k8s.V1ResourceRequirements(
            requests={"cpu": req.cpu_request, "memory": req.memory_request},
            limits={"cpu": req.cpu_limit, "memory": req.memory_limit},
        ),
        security_context=k8s.V1SecurityContext(
            allow_privilege_escalation=False,
            run_as_non_root=True,
            run_as_user=req.run_as_user,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
            read_only_root_filesystem=req.read_only_root,
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        ),
        volume_mounts=[k8s.V1VolumeMount(name=_volume_name(p), mount_path=p) for p in writable] or None,
    )
    ex = req.extras
    deployment = k8s.V1Deployment(
        api_version="apps/v1",
        kind="Deployment",
        metadata=dep_meta,
        spec=k8s.V1DeploymentSpec(
            replicas=None if ex.hpa else req.replicas,  # the autoscaler owns the count: an apply never resets it
            selector=k8s.V1LabelSelector(match_labels={"app.kubernetes.io/name": name}),
            template=k8s.V1PodTemplateSpec(
                metadata=k8s.V1ObjectMeta(labels=labels),
                spec=k8s.V1PodSpec(
                    containers=[container],
                    security_context=k8s.V1PodSecurityContext(
                        run_as_non_root=True,
                        run_as_user=req.run_as_user,
                        seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
                    ),
                    automount_service_account_token=False,
                    volumes=[
                        k8s.V1Volume(name=_volume_name(p), empty_dir=k8s.V1EmptyDirVolumeSource()) for p in writable
                    ]
                    or None,
                ),
            ),
        ),
    )
    service = k8s.V1Service(
        api_version="v1",
        kind="Service",
        metadata=meta,
        spec=k8s.V1ServiceSpec(
            selector={"app.kubernetes.io/name": name},
            ports=[k8s.V1ServicePort(name="http", port=req.port, target_port="http", protocol="TCP")],
            type="ClusterIP",
        ),
    )
    api = k8s.ApiClient()
    objects: list[Any] = [deployment, service, *_extra_objects(name, labels, req)]
    docs: list[dict[str, Any]] = [
        api.sanitize_for_serialization(o)  # type: ignore[no-untyped-call]
        for o in objects
    ]
    for d in docs:
        validate_manifest(d)
    return ManifestSet(documents=docs)


def _extra_objects(name: str, labels: dict[str, str], req: ManifestRequest) -> list[Any]:
    """The Ingress, autoscaler, disruption budget and network policy the request asks for."""
    from kubernetes import client as k8s

    ex = req.extras
    meta = k8s.V1ObjectMeta(name=name, namespace=req.namespace, labels=labels)
    selector = k8s.V1LabelSelector(match_labels={"app.kubernetes.io/name": name})
    out: list[Any] = []
    if ex.ingress_host:
        backend = k8s.V1IngressBackend(
            service=k8s.V1IngressServiceBackend(name=name, port=k8s.V1ServiceBackendPort(name="http"))
        )
        path = k8s.V1HTTPIngressPath(path="/", path_type="Prefix", backend=backend)
        out.append(
            k8s.V1Ingress(
                api_version="networking.k8s.io/v1",
                kind="Ingress",
                metadata=meta,
                spec=k8s.V1IngressSpec(
                    ingress_class_name=ex.ingress_class,
                    rules=[
                        k8s.V1IngressRule(
                            host=parse_ingress_host(ex.ingress_host), http=k8s.V1HTTPIngressRuleValue(paths=[path])
                        )
                    ],
                ),
            )
        )
    if ex.hpa:
        metric = k8s.V2MetricSpec(
            type="Resource",
            resource=k8s.V2ResourceMetricSource(
                name="cpu", target=k8s.V2MetricTarget(type="Utilization", average_utilization=ex.hpa.cpu_percent)
            ),
        )
        out.append(
            k8s.V2HorizontalPodAutoscaler(
                api_version="autoscaling/v2",
                kind="HorizontalPodAutoscaler",
                metadata=meta,
                spec=k8s.V2HorizontalPodAutoscalerSpec(
                    scale_target_ref=k8s.V2CrossVersionObjectReference(
                        api_version="apps/v1", kind="Deployment", name=name
                    ),
                    min_replicas=ex.hpa.min_replicas,
                    max_replicas=ex.hpa.max_replicas,
                    metrics=[metric],
                ),
            )
        )
    if ex.pdb_min_available:
        v = parse_min_available(ex.pdb_min_available)
        out.append(
            k8s.V1PodDisruptionBudget(
                api_version="policy/v1",
                kind="PodDisruptionBudget",
                metadata=meta,
                spec=k8s.V1PodDisruptionBudgetSpec(min_available=v if v.endswith("%") else int(v), selector=selector),
            )
        )
    if ex.network_policy:
        out.append(
            k8s.V1NetworkPolicy(
                api_version="networking.k8s.io/v1",
                kind="NetworkPolicy",
                metadata=meta,
                spec=k8s.V1NetworkPolicySpec(
                    pod_selector=selector,
                    policy_types=["Ingress"],
                    ingress=[
                        k8s.V1NetworkPolicyIngressRule(ports=[k8s.V1NetworkPolicyPort(port="http", protocol="TCP")])
                    ],
                ),
            )
        )
    return out


_MODELS = {
    ("apps/v1", "Deployment"): "V1Deployment",
    ("v1", "Service"): "V1Service",
    ("networking.k8s.io/v1", "Ingress"): "V1Ingress",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "V2HorizontalPodAutoscaler",
    ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
    ("networking.k8s.io/v1", "NetworkPolicy"): "V1NetworkPolicy",
}


def validate_manifest(doc: dict[str, Any]) -> None:
    """Deserialize through the Kubernetes models (unknown kind or bad types fail) and check invariants."""
    from kubernetes import client as k8s

    kind = (doc.get("apiVersion"), doc.get("kind"))
    model = _MODELS.get((str(kind[0]), str(kind[1])))
    if model is None:
        raise ManifestInvalid(f"unsupported manifest kind {kind[0]}/{kind[1]}")
    name = str((doc.get("metadata") or {}).get("name", ""))
    if not _DNS1123.match(name) or len(name) > 63:
        raise ManifestInvalid(f"{kind[1]} name {name!r} is not a DNS-1123 label")
    try:
        obj = k8s.ApiClient().deserialize(json.dumps(doc), model, "application/json")
    except (ValueError, TypeError) as exc:
        raise ManifestInvalid(f"{kind[1]} {name} does not match the Kubernetes API model: {exc}") from None
    if isinstance(obj, k8s.V1Deployment):
        spec = obj.spec
        if spec is None or spec.template.metadata is None or spec.template.spec is None:
            raise ManifestInvalid(f"Deployment {name} has no pod template")
        sel = spec.selector.match_labels or {}
        tpl = spec.template.metadata.labels or {}
        if any(tpl.get(k) != v for k, v in sel.items()):
            raise ManifestInvalid(f"Deployment {name}: selector {sel} does not match the pod labels {tpl}")
        for c in spec.template.spec.containers:
            for p in c.ports or []:
                if not 1 <= p.container_port <= 65535:
                    raise ManifestInvalid(f"Deployment {name}: container port {p.container_port} out of range")
    hpa = obj.spec if isinstance(obj, k8s.V2HorizontalPodAutoscaler) else None
    if hpa is not None and (hpa.min_replicas or 1) > hpa.max_replicas:
        raise ManifestInvalid(f"HorizontalPodAutoscaler {name}: minReplicas is above maxReplicas")


def write_manifests(manifests: ManifestSet, out_dir: Path) -> list[Path]:
    """One YAML file per kind (``deployment.yaml``, ``service.yaml``) in ``out_dir``, each written atomically."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputRefused(
            f"cannot write the manifests into {out_dir}: it is a file, not a folder",
            hint="Give --out a folder (new or existing), not a file.",
        ) from None
    except OSError as exc:
        raise OutputUnwritable(
            f"cannot create the manifests folder {out_dir}: {exc.strerror}",
            hint="Give --out a folder you can write to.",
        ) from None
    paths: list[Path] = []
    for doc in manifests.documents:
        path = out_dir / f"{str(doc['kind']).lower()}.yaml"
        write_text(path, yaml.safe_dump(doc, sort_keys=False), root=out_dir)
        paths.append(path)
    return paths
