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
