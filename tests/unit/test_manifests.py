from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from containerkit.errors import ManifestInvalid
from containerkit.tools.manifests import ManifestRequest, generate_manifests, validate_manifest, write_manifests


def test_deployment_and_service_are_valid_and_hardened(tmp_path: Path) -> None:
    ms = generate_manifests(
        ManifestRequest(name="My_App", image="127.0.0.1:5000/app:1", port=8080, health_path="/healthz")
    )
    dep = ms.by_kind("Deployment")
    assert dep["metadata"]["name"] == "my-app"
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["ports"][0]["containerPort"] == 8080
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"]
    svc = ms.by_kind("Service")
    assert svc["spec"]["ports"][0]["protocol"] == "TCP"
    paths = write_manifests(ms, tmp_path / "k8s")
    assert [p.name for p in paths] == ["deployment.yaml", "service.yaml"]
    for p in paths:
        validate_manifest(yaml.safe_load(p.read_text()))


def test_tcp_probe_without_health_path() -> None:
    dep = generate_manifests(ManifestRequest(name="a", image="a:1", port=3000)).by_kind("Deployment")
    assert "tcpSocket" in dep["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]


def test_invalid_manifests_are_rejected() -> None:
    dep = generate_manifests(ManifestRequest(name="a", image="a:1", port=3000)).by_kind("Deployment")
    dep["spec"]["selector"]["matchLabels"] = {"app.kubernetes.io/name": "other"}
    with pytest.raises(ManifestInvalid, match="selector"):
        validate_manifest(dep)
    with pytest.raises(ManifestInvalid, match="unsupported"):
        validate_manifest({"apiVersion": "v9", "kind": "Thing", "metadata": {"name": "a"}})
    with pytest.raises(ManifestInvalid, match="DNS-1123"):
        validate_manifest({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "Bad_Name"}})
