"""Manifests worth applying: PSS restricted, probes, configuration by name, a Kustomize tree whose
``local`` overlay renders here as ``kubectl kustomize`` renders it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from containerkit.errors import OutputRefused
from containerkit.tools.k8s.kustomize import apply_ops, local_overlay, render, write_layout
from containerkit.tools.manifests import ManifestRequest, generate_manifests, validate_manifest


def _manifests(**kw: object):  # type: ignore[no-untyped-def]
    req = {"name": "shop", "image": "127.0.0.1:5000/shop:1@sha256:" + "a" * 64, "port": 8080, "health_path": "/healthz"}
    return generate_manifests(ManifestRequest.model_validate({**req, **kw}))


def test_pod_meets_pod_security_restricted_with_a_writable_tmp() -> None:
    dep = _manifests(run_as_user=10001).by_kind("Deployment")
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert sc["readOnlyRootFilesystem"] is True
    mount = c["volumeMounts"][0]
    assert mount["mountPath"] == "/tmp"
    assert {"name": mount["name"], "emptyDir": {}} in pod["volumes"]
    assert "hostNetwork" not in pod  # the base never asks for what restricted forbids
    assert c["resources"]["requests"] and c["resources"]["limits"]


def test_probes_use_the_health_path_and_a_startup_probe_guards_slow_starts() -> None:
    c = _manifests().by_kind("Deployment")["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["startupProbe"]["failureThreshold"] * c["startupProbe"]["periodSeconds"] >= 60
    tcp = _manifests(health_path=None).by_kind("Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert "tcpSocket" in tcp["startupProbe"] and "tcpSocket" in tcp["livenessProbe"]


def test_configuration_comes_from_a_configmap_and_a_secret_by_name_only() -> None:
    dep = _manifests(config_names=["LOG_LEVEL", "DATABASE_URL", "API_TOKEN"]).by_kind("Deployment")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert {"configMapRef": {"name": "shop-config", "optional": True}} in c["envFrom"]
    assert {"secretRef": {"name": "shop-secrets", "optional": True}} in c["envFrom"]
    ann = dep["metadata"]["annotations"]
    assert ann["containerkit.io/config-names"] == "LOG_LEVEL"
    assert ann["containerkit.io/secret-names"] == "DATABASE_URL,API_TOKEN"
    assert "value" not in str(c["envFrom"])


def test_local_overlay_runs_on_one_node_without_kube_proxy() -> None:
    ms = _manifests()
    ov = local_overlay(ms, port=18123)
    out = render(ms, ov)
    dep, svc = out.by_kind("Deployment"), out.by_kind("Service")
    pod = dep["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True and dep["spec"]["strategy"] == {"type": "Recreate"}
    c = pod["containers"][0]
    assert c["ports"][0]["containerPort"] == 18123
    assert c["env"][0] == {"name": "PORT", "value": "18123"}
    assert c["imagePullPolicy"] == "IfNotPresent"  # 127.0.0.1:5000: the node pulls it from there
    assert svc["spec"]["ports"][0]["port"] == 18123
    for d in out.documents:
        validate_manifest(d)
    # the base is untouched, and an image only the local engine has is never pulled
    assert "hostNetwork" not in ms.by_kind("Deployment")["spec"]["template"]["spec"]
    local_only = _manifests(image="shop:1")
    c2 = render(local_only, local_overlay(local_only, port=1)).by_kind("Deployment")["spec"]["template"]["spec"]
    assert c2["containers"][0]["imagePullPolicy"] == "Never"


def test_json_patch_operations() -> None:
    doc = {"a": {"b": [1, 2]}, "c": 1}
    assert apply_ops(doc, [{"op": "add", "path": "/a/b/1", "value": 9}]) == {"a": {"b": [1, 9, 2]}, "c": 1}
    assert apply_ops(doc, [{"op": "replace", "path": "/c", "value": 2}])["c"] == 2
    assert apply_ops(doc, [{"op": "remove", "path": "/a/b/0"}])["a"]["b"] == [2]
    with pytest.raises(ValueError):
        apply_ops(doc, [{"op": "replace", "path": "/missing", "value": 1}])
    assert doc == {"a": {"b": [1, 2]}, "c": 1}


def test_layout_is_written_and_users_files_are_never_overwritten(tmp_path: Path) -> None:
    ms = _manifests()
    out = tmp_path / "k8s"
    layout = write_layout(ms, out, [local_overlay(ms, port=18124)])
    assert sorted(str(Path(f).relative_to(out)) for f in layout.files) == [
        "base/deployment.yaml",
        "base/kustomization.yaml",
        "base/service.yaml",
        "overlays/local/kustomization.yaml",
    ]
    for p in layout.base:
        validate_manifest(yaml.safe_load(Path(p).read_text()))
    write_layout(ms, out, [local_overlay(ms, port=18124)])  # ours: rewritten
    mine = out / "base" / "service.yaml"
    mine.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: hand-written}\n")
    with pytest.raises(OutputRefused):
        write_layout(ms, out, [])
    assert "hand-written" in mine.read_text()


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kubectl_kustomize_renders_what_containerkit_applies(tmp_path: Path) -> None:
    ms = _manifests(config_names=["API_TOKEN"])
    ov = local_overlay(ms, port=18125)
    layout = write_layout(ms, tmp_path / "k8s", [ov])
    res = subprocess.run(
        ["kubectl", "kustomize", layout.overlays["local"]], capture_output=True, text=True, timeout=60, check=False
    )
    assert res.returncode == 0, res.stderr
    theirs = {d["kind"]: d for d in yaml.safe_load_all(res.stdout)}
    ours = {d["kind"]: d for d in render(ms, ov).documents}
    assert theirs == ours


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kubectl_kustomize_renders_the_objects_on_request_as_containerkit_does(tmp_path: Path) -> None:
    ms = _extras()
    ov = local_overlay(ms, port=18128)
    layout = write_layout(ms, tmp_path / "k8s", [ov])
    for folder in (str(tmp_path / "k8s" / "base"), layout.overlays["local"]):
        res = subprocess.run(["kubectl", "kustomize", folder], capture_output=True, text=True, timeout=60, check=False)
        assert res.returncode == 0, res.stderr
        theirs = {d["kind"]: d for d in yaml.safe_load_all(res.stdout)}
        ours = {d["kind"]: d for d in render(ms, ov if folder.endswith("local") else None).documents}
        assert theirs == ours


def _extras(**kw: object):  # type: ignore[no-untyped-def]
    from containerkit.tools.manifests import parse_hpa

    extras = {"ingress_host": "shop.example.com", "hpa": parse_hpa("2:5", 70), "pdb_min_available": "1"}
    return _manifests(extras={**extras, "network_policy": True, **kw})


def test_ingress_autoscaler_disruption_budget_and_network_policy_on_request() -> None:
    assert [d["kind"] for d in _manifests().documents] == ["Deployment", "Service"]  # nothing unasked
    ms = _extras()
    kinds = [d["kind"] for d in ms.documents]
    assert kinds == [
        "Deployment",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ]
    for d in ms.documents:
        validate_manifest(d)  # every one through the Kubernetes models
        assert d["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "containerkit"
    rule = ms.by_kind("Ingress")["spec"]["rules"][0]
    assert rule["host"] == "shop.example.com"
    assert rule["http"]["paths"][0]["backend"] == {"service": {"name": "shop", "port": {"name": "http"}}}
    hpa = ms.by_kind("HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 5)
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop"}
    assert hpa["metrics"][0]["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}
    assert "replicas" not in ms.by_kind("Deployment")["spec"]  # the autoscaler owns the count
    pdb = ms.by_kind("PodDisruptionBudget")["spec"]
    assert pdb == {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "shop"}}}
    assert _extras(pdb_min_available="50%").by_kind("PodDisruptionBudget")["spec"]["minAvailable"] == "50%"
    np = ms.by_kind("NetworkPolicy")["spec"]
    assert np["policyTypes"] == ["Ingress"] and np["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}]
    # the pod still meets PSS restricted
    sc = ms.by_kind("Deployment")["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    assert sc["runAsNonRoot"] and sc["capabilities"] == {"drop": ["ALL"]} and not sc["allowPrivilegeEscalation"]


@pytest.mark.parametrize(
    ("parse", "value", "code_word"),
    [
        ("parse_hpa", "5:2", "above"),
        ("parse_hpa", "3", "':'"),
        ("parse_hpa", "0:2", "greater than or equal to 1"),
        ("parse_min_available", "150%", "percentage"),
        ("parse_min_available", "-1", "percentage"),
        ("parse_ingress_host", "https://shop.example.com/", "host name"),
        ("parse_ingress_host", "shop_1.example.com", "host name"),
    ],
)
def test_bad_extra_options_are_refused_with_a_hint(parse: str, value: str, code_word: str) -> None:
    from containerkit import tools
    from containerkit.errors import InvalidOption

    with pytest.raises(InvalidOption) as info:
        getattr(tools.manifests, parse)(value)
    assert info.value.code == "CK106" and code_word in info.value.message and info.value.hint


def test_models_refuse_an_autoscaler_whose_bounds_are_crossed() -> None:
    from containerkit.errors import ManifestInvalid

    hpa = _extras().by_kind("HorizontalPodAutoscaler")
    hpa["spec"]["minReplicas"] = 9
    with pytest.raises(ManifestInvalid) as info:
        validate_manifest(hpa)
    assert info.value.code == "CK401" and "minReplicas" in info.value.message


def test_extras_in_the_layout_local_overlay_holds_one_pod_and_stale_files_go(tmp_path: Path) -> None:
    ms = _extras()
    out = tmp_path / "k8s"
    layout = write_layout(ms, out, [local_overlay(ms, port=18126)])
    names = sorted(p.name for p in (out / "base").glob("*.yaml"))
    assert names == [
        "deployment.yaml",
        "horizontalpodautoscaler.yaml",
        "ingress.yaml",
        "kustomization.yaml",
        "networkpolicy.yaml",
        "poddisruptionbudget.yaml",
        "service.yaml",
    ]
    assert len(yaml.safe_load((out / "base" / "kustomization.yaml").read_text())["resources"]) == 6
    hpa = render(ms, local_overlay(ms, port=18126)).by_kind("HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 1)  # one node, one fixed host port
    assert layout.overlays["local"]
    # a run without them: containerkit's files go, a file of the user's stays
    (out / "base" / "notes.yaml").write_text("kind: Mine\n")
    write_layout(_manifests(), out, [])
    assert sorted(p.name for p in (out / "base").glob("*.yaml")) == [
        "deployment.yaml",
        "kustomization.yaml",
        "notes.yaml",
        "service.yaml",
    ]


def test_without_a_reachable_cluster_the_models_validate_and_say_why(tmp_path: Path) -> None:
    from containerkit.tools.k8s.cluster import validate_on_cluster
    from containerkit.tools.k8s.models import KubeTarget

    v = validate_on_cluster(KubeTarget(kubeconfig=str(tmp_path / "no-kubeconfig")), _manifests().documents)
    assert v.validated_by == "models" and v.validation_note and "no kubeconfig" in v.validation_note
    dead = tmp_path / "kubeconfig"
    dead.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n"
    )
    v = validate_on_cluster(KubeTarget(kubeconfig=str(dead)), _manifests().documents)
    assert v.validated_by == "models" and "cannot reach" in str(v.validation_note)
