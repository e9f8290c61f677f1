"""Deploy on a real cluster: a real API server, a real (patched) kubelet, real pods on this machine.

Needs `scripts/test-infra.sh up --k8s` (the `kube` fixture skips without it, fails under
CK_REQUIRE_K8S=1). The local overlay runs the pods with host networking, so the app answers on
127.0.0.1 at the pod's host port.
"""

from __future__ import annotations

import copy
import json
import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration._cli import ck, last_json

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _get(url: str) -> tuple[int, dict[str, Any]]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as r:
        return int(r.status), json.loads(r.read())


def _ours(kube: Any, ns: str) -> list[str]:
    sel = "app.kubernetes.io/managed-by=containerkit"
    found = []
    for path in (
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        f"/api/v1/namespaces/{ns}/services",
        f"/apis/apps/v1/namespaces/{ns}/replicasets",
        f"/api/v1/namespaces/{ns}/pods",
    ):
        found += [f"{path.rsplit('/', 1)[1]}/{o['metadata']['name']}" for o in kube.items(path, labelSelector=sel)]
    return found


def _run(app: Path, home: Path, ns: str, *extra: str) -> dict[str, Any]:
    res = ck(
        "run", str(app), "--registry", "127.0.0.1:5000", "--no-scan", "--deploy", "--namespace", ns,
        "--k8s-overlay", "local", "--json", *extra, home=home,
    )  # fmt: skip
    out = last_json(res.stdout)
    out["_returncode"], out["_stderr"] = res.returncode, res.stderr[-3000:]
    return out


def test_deploy_redeploy_roll_back_a_crash_and_undeploy(
    example_copy: Any, registry: str, kube: Any, k8s_namespace: str, tmp_path: Path
) -> None:
    ns, home = k8s_namespace, tmp_path / "home"
    app = example_copy("python-http")

    # 1. a run that writes the manifests, then `containerkit deploy ID` applies them
    res = ck("run", str(app), "--registry", registry, "--no-scan", "--json", home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    first = last_json(res.stdout)
    assert first["deployment"]["applied"] is False
    assert first["manifests_validated_by"] == "api-server"  # KUBECONFIG answers: the server's dry run, nothing applied
    res = ck(
        "deploy", first["session_id"], "--namespace", ns, "--k8s-overlay", "local", "--network-policy", "--json",
        home=home,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    d1 = last_json(res.stdout)["deployment"]
    assert d1["applied"] and d1["ready"] and d1["revision"] == 1 and d1["namespace"] == ns
    assert d1["answered"] is True and d1["status_code"] == 200
    assert d1["time_to_ready_s"] is not None and d1["pods"] and d1["pods"][0]["ready"]
    status, body = _get(d1["url"].rsplit("/", 1)[0] + "/")
    assert status == 200 and body["service"] == "python-http"
    kinds = {(o["kind"], o["name"]) for o in d1["objects"]}
    assert kinds == {("Deployment", "python-http"), ("Service", "python-http"), ("NetworkPolicy", "python-http")}
    live = kube.get(f"/apis/apps/v1/namespaces/{ns}/deployments/python-http")
    assert any(m["manager"] == "containerkit" for m in live["metadata"]["managedFields"])  # server-side apply
    assert live["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True

    # 2. a changed version: a new revision, Ready, answering with the change, on the same host port
    source = (app / "app.py").read_text()
    (app / "app.py").write_text(source.replace('service="python-http"', 'service="python-http", version=2'))
    second = _run(app, home, ns)
    assert second["_returncode"] == 0, second["_stderr"]
    d2 = second["deployment"]
    assert d2["ready"] and d2["revision"] == 2 and d2["previous_revision"] == 1
    assert d2["url"] == d1["url"]
    # the network policy is no longer asked for: pruned, as `kubectl apply --prune` would
    assert {o["kind"] for o in d2["objects"]} == {"Deployment", "Service"}
    np_path = f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/python-http"
    deadline = time.monotonic() + 30
    while kube.get(np_path) is not None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert kube.get(np_path) is None
    assert _get(d2["url"].rsplit("/", 1)[0] + "/")[1]["version"] == 2

    # 3. a version that crashes at start (verify skipped, so only the cluster sees it): rolled back
    (app / "app.py").write_text(source.replace("app = Flask(__name__)", 'raise RuntimeError("broken release")'))
    third = _run(app, home, ns, "--no-verify", "--deploy-timeout", "120")
    assert third["_returncode"] == 1, third["_stderr"]
    assert third["status"] == "failed"
    d3 = third["deployment"]
    assert d3["ready"] is False and d3["rolled_back_to"] == 2, d3
    err = third["errors"][-1]
    assert err["category"] in ("crash_loop", "app_error"), err
    assert "rolled back" in json.dumps(third["errors"])
    assert any("broken release" in e or "CrashLoopBackOff" in e or "terminated" in e for e in err["evidence"]), err
    assert _get(d2["url"].rsplit("/", 1)[0] + "/")[1]["version"] == 2  # the old one still answers

    # 4. undeploy: nothing of ours is left in the namespace
    res = ck("undeploy", third["session_id"], "--json", home=home)
    assert res.returncode == 0, res.stderr[-3000:]
    assert last_json(res.stdout)["deployment"]["removed"] is True
    deadline = time.monotonic() + 90
    while _ours(kube, ns) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _ours(kube, ns) == []


def test_a_wrong_image_name_is_a_pull_failure_with_a_hint(kube: Any, k8s_namespace: str) -> None:
    from containerkit.agents._stage import failure_of
    from containerkit.errors import RolloutFailed
    from containerkit.graph.recovery import DEFAULT_RECOVERY
    from containerkit.tools.k8s.cluster import connect
    from containerkit.tools.k8s.kustomize import local_overlay, render
    from containerkit.tools.k8s.models import KubeTarget
    from containerkit.tools.k8s.rollout import DeployRequest, deploy_manifests
    from containerkit.tools.manifests import ManifestRequest, generate_manifests
    from containerkit.tools.verify import free_port

    ms = generate_manifests(
        ManifestRequest(name="typo", image="127.0.0.1:5000/containerkit-no-such-image:1", port=8080, run_as_user=1000)
    )
    docs = render(ms, local_overlay(ms, port=free_port())).documents
    cluster = connect(KubeTarget(namespace=k8s_namespace))
    t0 = time.monotonic()
    with pytest.raises(RolloutFailed) as info:
        deploy_manifests(cluster, DeployRequest(documents=docs, timeout_s=120))
    assert time.monotonic() - t0 < 60  # stopped on the evidence, not at the timeout
    failure = failure_of("deploy", info.value)
    assert failure.kind == "image_pull", failure
    assert any("containerkit-no-such-image" in e for e in failure.diagnosis.evidence)  # type: ignore[union-attr]
    row = next(s for s in DEFAULT_RECOVERY if s.category == "image_pull")
    assert row.handling == "user" and "imagePullPolicy" in row.hint


def test_node_example_deploys_with_run_deploy_and_answers(
    example_copy: Any, registry: str, kube: Any, k8s_namespace: str, tmp_path: Path
) -> None:
    app = example_copy("node-http")
    extras = ("--ingress-host", "node.example.test", "--hpa", "1:4", "--pdb", "1", "--network-policy")
    token = "tok-value-only-for-verify-9f3a"
    out = _run(app, tmp_path / "home", k8s_namespace, *extras, "--env", f"API_TOKEN={token}")
    assert out["_returncode"] == 0, out["_stderr"]
    d = out["deployment"]
    assert d["ready"] and d["revision"] == 1 and d["status_code"] == 200, d
    kinds = sorted(o["kind"] for o in d["objects"])
    assert kinds == sorted(
        ["Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"]
    )
    assert out["manifests_validated_by"] == "api-server"
    assert (app / "k8s" / "base" / "ingress.yaml").is_file()  # in the Kustomize tree the user keeps
    # --env names the configuration; on the cluster it comes from the Secret by that name, never the value
    assert d["missing_config"] == {"node-http-secrets": ["API_TOKEN"]}
    written = "".join(p.read_text() for p in (app / "k8s").rglob("*.yaml"))
    assert "containerkit.io/secret-names: API_TOKEN" in written and token not in written
    assert token not in json.dumps(out)
    status, body = _get(d["url"].rsplit("/", 1)[0] + "/")
    assert status == 200 and body["service"] == "node-http"
    pod = kube.items(f"/api/v1/namespaces/{k8s_namespace}/pods")[0]
    c = pod["spec"]["containers"][0]
    assert c["securityContext"]["runAsNonRoot"] is True and c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["spec"]["hostNetwork"] is True  # the local overlay


def test_a_health_path_that_never_answers_is_a_failing_probe_the_deploy_agent_fixes(
    kube: Any, k8s_namespace: str
) -> None:
    from containerkit.agents._stage import failure_of
    from containerkit.errors import RolloutFailed
    from containerkit.graph.recovery import DEFAULT_RECOVERY
    from containerkit.tools.k8s.cluster import connect
    from containerkit.tools.k8s.kustomize import local_overlay, render
    from containerkit.tools.k8s.models import KubeTarget
    from containerkit.tools.k8s.rollout import DeployRequest, deploy_manifests
    from containerkit.tools.manifests import ManifestRequest, generate_manifests
    from containerkit.tools.verify import free_port

    port = free_port()

    def docs(health: str | None) -> list[dict[str, Any]]:
        ms = generate_manifests(
            ManifestRequest(name="probe", image="python:3.11-slim", port=8080, health_path=health, run_as_user=1000)
        )
        out = render(ms, local_overlay(ms, port=port)).documents
        c = out[0]["spec"]["template"]["spec"]["containers"][0]
        c["command"] = ["sh", "-c", "exec python -m http.server $PORT --bind 127.0.0.1 --directory /tmp"]
        return out

    cluster = connect(KubeTarget(namespace=k8s_namespace))
    t0 = time.monotonic()
    with pytest.raises(RolloutFailed) as info:
        deploy_manifests(cluster, DeployRequest(documents=docs("/healthz-that-is-not-there"), timeout_s=120))
    assert time.monotonic() - t0 < 60  # the 404s decide it, not the timeout
    failure = failure_of("deploy", info.value)
    assert failure.kind == "probe_failing", failure
    row = next(s for s in DEFAULT_RECOVERY if s.category == "probe_failing")
    assert (row.handling, row.agent) == ("fix", "deploy")
    # the deploy agent's fix: probe the port instead of the path
    res = deploy_manifests(cluster, DeployRequest(documents=docs(None), timeout_s=120))
    assert res.ready and res.answered and res.revision == 2


def _http_server_docs(name: str, port: int, **extras: Any) -> list[dict[str, Any]]:
    """A real server (python -m http.server, the local base image) under our manifests, local overlay."""
    from containerkit.tools.k8s.kustomize import local_overlay, render
    from containerkit.tools.manifests import ManifestRequest, generate_manifests

    ms = generate_manifests(
        ManifestRequest.model_validate(
            {"name": name, "image": "python:3.11-slim", "port": 8080, "run_as_user": 1000, "extras": extras}
        )
    )
    out = render(ms, local_overlay(ms, port=port)).documents
    c = out[0]["spec"]["template"]["spec"]["containers"][0]
    c["command"] = ["sh", "-c", "exec python -m http.server $PORT --bind 127.0.0.1 --directory /tmp"]
    return out


def test_ingress_autoscaler_budget_and_network_policy_are_applied_and_removed(kube: Any, k8s_namespace: str) -> None:
    from containerkit.tools.k8s.cluster import connect
    from containerkit.tools.k8s.models import KubeTarget
    from containerkit.tools.k8s.rollout import DeployRequest, deploy_manifests, undeploy_objects
    from containerkit.tools.manifests import parse_hpa
    from containerkit.tools.verify import free_port

    ns = k8s_namespace
    docs = _http_server_docs(
        "extras", free_port(), ingress_host="extras.example.test", hpa=parse_hpa("1:3"), pdb_min_available="1",
        network_policy=True,
    )  # fmt: skip
    cluster = connect(KubeTarget(namespace=ns))
    res = deploy_manifests(cluster, DeployRequest(documents=docs, timeout_s=120))
    assert res.ready and res.answered and res.status_code == 200
    applied = {o.kind: o.api_version for o in res.applied}
    # the stable versions where the server has them, else the same schema under the older one (v1.20)
    assert applied["PodDisruptionBudget"] in ("policy/v1", "policy/v1beta1")
    assert applied["HorizontalPodAutoscaler"] in ("autoscaling/v2", "autoscaling/v2beta2")
    assert applied["Ingress"] == applied["NetworkPolicy"] == "networking.k8s.io/v1"
    ing = kube.get(f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/extras")
    assert ing["spec"]["rules"][0]["host"] == "extras.example.test"
    hpa = kube.get(f"/apis/{applied['HorizontalPodAutoscaler']}/namespaces/{ns}/horizontalpodautoscalers/extras")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "extras" and hpa["spec"]["maxReplicas"] == 1  # local overlay
    pdb = kube.get(f"/apis/{applied['PodDisruptionBudget']}/namespaces/{ns}/poddisruptionbudgets/extras")
    assert pdb["spec"]["minAvailable"] == 1
    np = kube.get(f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/extras")
    assert np["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "extras"}
    deleted, kept = undeploy_objects(cluster, res.applied)
    assert kept == [] and len(deleted) == 6
    paths = [
        f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/extras",
        f"/apis/{applied['HorizontalPodAutoscaler']}/namespaces/{ns}/horizontalpodautoscalers/extras",
        f"/apis/{applied['PodDisruptionBudget']}/namespaces/{ns}/poddisruptionbudgets/extras",
        f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/extras",
    ]
    deadline = time.monotonic() + 90  # foreground deletion: gone once what they own is gone
    while (any(kube.get(p) for p in paths) or _ours(kube, ns)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [p for p in paths if kube.get(p)] == []
    assert _ours(kube, ns) == []


def test_the_api_servers_dry_run_refuses_an_invalid_manifest_before_anything_is_applied(
    kube: Any, k8s_namespace: str
) -> None:
    from containerkit.errors import ManifestInvalid
    from containerkit.tools.k8s.cluster import connect, validate_on_cluster
    from containerkit.tools.k8s.kustomize import render
    from containerkit.tools.k8s.models import KubeTarget
    from containerkit.tools.k8s.rollout import DeployRequest, deploy_manifests
    from containerkit.tools.manifests import ManifestRequest, generate_manifests

    # the client's models accept a request above its limit; only the API server knows the rule
    ms = generate_manifests(
        ManifestRequest(name="greedy", image="python:3.11-slim", port=8080, cpu_request="2", cpu_limit="1")
    )
    target = KubeTarget(namespace=k8s_namespace)
    with pytest.raises(ManifestInvalid) as info:  # a run without --deploy: validated, never applied
        validate_on_cluster(target, ms.documents)
    assert info.value.code == "CK401" and "less than or equal to cpu limit" in info.value.message, info.value
    fine = generate_manifests(ManifestRequest(name="fine", image="python:3.11-slim", port=8080))
    assert validate_on_cluster(target, fine.documents).validated_by == "api-server"
    missing = KubeTarget(namespace="ck-no-such-namespace")
    assert validate_on_cluster(missing, fine.documents).validated_by == "models"  # said why, not refused
    assert _ours(kube, k8s_namespace) == []
    cluster = connect(target)
    with pytest.raises(ManifestInvalid) as info:
        deploy_manifests(cluster, DeployRequest(documents=render(ms, None).documents, timeout_s=60))
    assert info.value.code == "CK401" and "less than or equal to cpu limit" in info.value.message, info.value
    assert info.value.hint
    assert _ours(kube, k8s_namespace) == []  # not even the Service: all objects pass the dry run or none is applied
    assert kube.items(f"/api/v1/namespaces/{k8s_namespace}/services") == []


def test_a_pss_restricted_namespace_admits_the_base_manifests(kube: Any) -> None:
    import uuid

    from containerkit.tools.k8s.kustomize import local_overlay, render
    from containerkit.tools.manifests import ManifestRequest, generate_manifests

    version = kube.get("/version") or {}
    ns = f"ck-pss-{uuid.uuid4().hex[:8]}"
    labels = {f"pod-security.kubernetes.io/{m}": "restricted" for m in ("enforce", "warn")}
    made = kube.request(
        "POST",
        "/api/v1/namespaces",
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}},
    )
    assert made.status < 300, made.data
    try:
        ms = generate_manifests(
            ManifestRequest(
                name="pss", image="python:3.11-slim", port=8080, run_as_user=1000, config_names=["API_TOKEN"]
            )
        )

        def admitted(doc: dict[str, Any]) -> tuple[bool, str]:
            tpl = doc["spec"]["template"]
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "pss-probe", **tpl["metadata"]},
                "spec": tpl["spec"],
            }
            a = kube.request("POST", f"/api/v1/namespaces/{ns}/pods", query=[("dryRun", "All")], body=pod)
            return a.status < 300, str((a.data or {}).get("message", "")) if isinstance(a.data, dict) else ""

        host_net = render(ms, local_overlay(ms, port=18127)).by_kind("Deployment")
        got_in, _ = admitted(host_net)
        if got_in:  # a host-network pod got in: the label means nothing to this server
            pytest.skip(
                f"the API server {version.get('gitVersion', '?')} has no PodSecurity admission (alpha in v1.22, on by "
                "default from v1.23): the namespace label is not enforced, so admission cannot be shown here"
            )
        ok, why = admitted(ms.by_kind("Deployment"))
        assert ok, why  # the base meets restricted
    finally:
        kube.request("DELETE", f"/api/v1/namespaces/{ns}", body={"propagationPolicy": "Background"})


@pytest.fixture(scope="module")
def psp_cluster(kube: Any) -> Iterator[Any]:
    """A second API server with PodSecurityPolicy admission and one policy, ``restricted`` (tests/integration/
    _psp_apiserver.py): the shared server's binary, certificates and etcd, its own port and etcd prefix.

    Skips with the reason when it cannot start here; fails instead under CK_REQUIRE_K8S=1 (as ``kube`` does).
    """
    from containerkit.tools.k8s.cluster import connect
    from containerkit.tools.k8s.models import KubeTarget
    from tests.integration._psp_apiserver import RESTRICTED_PSP, PspApiServer, unavailable

    reason = unavailable()
    if reason:
        if os.environ.get("CK_REQUIRE_K8S") == "1":
            pytest.fail(f"no second API server for the PodSecurityPolicy test: {reason}")
        pytest.skip(f"no second API server for the PodSecurityPolicy test: {reason}")
    with PspApiServer() as server:
        cluster = connect(KubeTarget(kubeconfig=str(server.kubeconfig), namespace="ck-psp"))
        made = cluster.request("POST", "/apis/policy/v1beta1/podsecuritypolicies", body=RESTRICTED_PSP)
        assert made.status == 201, made.data
        policies = [p["metadata"]["name"] for p in cluster.items("/apis/policy/v1beta1/podsecuritypolicies")]
        assert policies == ["restricted"], policies  # the only policy: every pod is judged by it alone
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ck-psp"}}
        made = cluster.request("POST", "/api/v1/namespaces", body=ns)
        assert made.status == 201, made.data
        # nothing of it reaches the shared cluster
        assert kube.get("/apis/policy/v1beta1/podsecuritypolicies/restricted") is None
        assert kube.get("/api/v1/namespaces/ck-psp") is None
        yield cluster
    assert server.keys_left() == 0  # its etcd prefix was deleted


def _pod_of(deployment: dict[str, Any], name: str = "psp-probe") -> dict[str, Any]:
    tpl = copy.deepcopy(deployment["spec"]["template"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, **tpl["metadata"]}, "spec": tpl["spec"]}


def test_a_podsecuritypolicy_restricted_server_admits_the_base_manifests_and_refuses_weaker_pods(
    psp_cluster: Any,
) -> None:
    """The v1.20 stand-in for the test above: PodSecurityPolicy configured to the Pod Security Standards
    `restricted` profile, because the PodSecurity admission plugin does not exist in v1.20 (the test cluster).

    The pod of the generated base Deployment is dry-run created (admission runs, nothing is stored) on a second
    API server whose only policy is `restricted`; pods that break the profile are refused with the policy's message.
    Where PodSecurityPolicy differs from PSS: it mutates as well as checks. It fills in fsGroup and
    supplementalGroups (its group ranges) and an AppArmor annotation, which PSS would not need; and a pod without
    runAsNonRoot but with a non-root runAsUser passes it (PSS `restricted` requires runAsNonRoot: true). So the
    base pod is also checked to come back with its own security settings, and the runAsNonRoot controls here
    set it to false or run as uid 0.
    """
    from containerkit.tools.k8s.kustomize import local_overlay, render
    from containerkit.tools.manifests import ManifestRequest, generate_manifests

    cluster, ns = psp_cluster, "ck-psp"

    def dry_run(pod: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
        a = cluster.request("POST", f"/api/v1/namespaces/{ns}/pods", query=[("dryRun", "All")], body=pod)
        data = a.data if isinstance(a.data, dict) else {}
        return a.status, data, str(data.get("message", a.data))

    ms = generate_manifests(
        ManifestRequest(name="pss", image="python:3.11-slim", port=8080, run_as_user=1000, config_names=["API_TOKEN"])
    )
    base = _pod_of(ms.by_kind("Deployment"))
    status, admitted, msg = dry_run(base)
    assert status == 201, msg  # the base meets restricted
    assert admitted["metadata"]["annotations"]["kubernetes.io/psp"] == "restricted"
    # admitted on its own settings, not on ones the policy filled in
    sent_c, got_c = base["spec"]["containers"][0], admitted["spec"]["containers"][0]
    assert got_c["securityContext"] == sent_c["securityContext"]
    pod_level = {
        k: v for k, v in admitted["spec"]["securityContext"].items() if k not in ("fsGroup", "supplementalGroups")
    }
    assert pod_level == base["spec"]["securityContext"]
    assert {v["name"]: set(v) - {"name"} for v in admitted["spec"]["volumes"]} == {"w-tmp": {"emptyDir"}}
    # the image's own USER (no numeric uid in the manifest) is admitted too
    own_user = generate_manifests(ManifestRequest(name="pss", image="python:3.11-slim", port=8080))
    status, own, msg = dry_run(_pod_of(own_user.by_kind("Deployment")))
    assert status == 201, msg
    assert own["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] is True

    def refused(pod: dict[str, Any], *phrases: str) -> None:
        status, _, msg = dry_run(pod)
        assert status == 403, (status, msg)
        assert "PodSecurityPolicy: unable to admit pod" in msg, msg
        for phrase in phrases:
            assert phrase in msg, msg

    # the local overlay's pod: host network (and its port on the host)
    local = _pod_of(render(ms, local_overlay(ms, port=18127)).by_kind("Deployment"))
    refused(
        local, "Host network is not allowed to be used", "Host port 18127 is not allowed to be used. Allowed ports: []"
    )

    def changed(edit: Any) -> dict[str, Any]:
        pod = copy.deepcopy(base)
        edit(pod["spec"]["securityContext"], pod["spec"]["containers"][0]["securityContext"])
        return pod

    def no_non_root_flag(pod_sc: dict[str, Any], c_sc: dict[str, Any]) -> None:
        del pod_sc["runAsNonRoot"], c_sc["runAsNonRoot"]

    def non_root_false(pod_sc: dict[str, Any], c_sc: dict[str, Any]) -> None:
        pod_sc["runAsNonRoot"] = c_sc["runAsNonRoot"] = False

    def root_uid(pod_sc: dict[str, Any], c_sc: dict[str, Any]) -> None:
        for sc in (pod_sc, c_sc):
            del sc["runAsNonRoot"]
            sc["runAsUser"] = 0

    def privileged(pod_sc: dict[str, Any], c_sc: dict[str, Any]) -> None:
        c_sc["privileged"] = True
        del c_sc["allowPrivilegeEscalation"]  # privileged implies it; false beside it is invalid on its own

    def no_seccomp(pod_sc: dict[str, Any], c_sc: dict[str, Any]) -> None:
        del pod_sc["seccompProfile"], c_sc["seccompProfile"]

    def unconfined(pod_sc: dict[str, Any], c_sc: dict[str, Any]) -> None:
        pod_sc["seccompProfile"] = c_sc["seccompProfile"] = {"type": "Unconfined"}

    def escalation(pod_sc: dict[str, Any], c_sc: dict[str, Any]) -> None:
        c_sc["allowPrivilegeEscalation"] = True

    def a_capability(pod_sc: dict[str, Any], c_sc: dict[str, Any]) -> None:
        c_sc["capabilities"] = {"drop": ["ALL"], "add": ["NET_RAW"]}

    # not a control here: without the flag but with uid 1000, PodSecurityPolicy admits it (PSS would not)
    status, _, msg = dry_run(changed(no_non_root_flag))
    assert status == 201, msg
    refused(changed(non_root_false), "securityContext.runAsNonRoot: Invalid value: false: must be true")
    refused(changed(root_uid), "securityContext.runAsUser: Invalid value: 0: running with the root UID is forbidden")
    refused(changed(privileged), "Privileged containers are not allowed")
    refused(changed(no_seccomp), " is not an allowed seccomp profile. Valid values are runtime/default")
    refused(changed(unconfined), "unconfined is not an allowed seccomp profile")
    refused(changed(escalation), "Allowing privilege escalation for containers is not allowed")
    refused(changed(a_capability), '"NET_RAW": capability may not be added')
    host_path = copy.deepcopy(base)
    host_path["spec"]["volumes"].append({"name": "host", "hostPath": {"path": "/"}})
    refused(host_path, "hostPath volumes are not allowed to be used")
    assert cluster.items(f"/api/v1/namespaces/{ns}/pods") == []  # dry runs only


def test_a_crash_loop_on_the_cluster_is_fixed_by_the_dockerfile_fixer_and_deployed_again(
    registry: str, kube: Any, k8s_namespace: str, tmp_path: Path
) -> None:
    import shutil

    # the user's Dockerfile starts a file that moved; verify is skipped, so only the cluster sees the crash
    app = tmp_path / "crash-at-start"
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "faults" / "crash-at-start", app)
    out = _run(app, tmp_path / "home", k8s_namespace, "--no-verify", "--deploy-timeout", "120")
    assert out["_returncode"] == 0, out["_stderr"]
    (attempt,) = out["recovery"]
    assert (attempt["failed_stage"], attempt["code"], attempt["cause"]) == ("deploy", "CK404", "wrong_start_command")
    assert attempt["agent"] == "analyze" and attempt["outcome"] == "succeeded"
    assert any("Cannot find module '/app/server.js'" in e for e in attempt["evidence"]), attempt["evidence"]
    assert any("CrashLoopBackOff" in e or "terminated" in e or "restarted" in e for e in attempt["evidence"]), (
        attempt["evidence"],
        attempt["detail"],
    )
    d = out["deployment"]
    assert d["ready"] and d["status_code"] == 200, d
    assert out["dockerfile_origin"] == "fixed"  # the user's Dockerfile stays theirs
    stages = [(s["stage"], s["ok"]) for s in out["stages"]]
    after = stages[stages.index(("deploy", False)) :]  # fixed, rebuilt, pushed, deployed again
    assert after.index(("analyze", True)) < after.index(("buildsec", True)) < after.index(("deploy", True))


def test_configuration_reaches_the_pods_from_the_configmap_and_secret_by_name_and_gaps_are_named(
    kube: Any, k8s_namespace: str
) -> None:
    import base64

    from containerkit.tools.k8s.cluster import connect
    from containerkit.tools.k8s.kustomize import local_overlay, render
    from containerkit.tools.k8s.models import KubeTarget
    from containerkit.tools.k8s.rollout import DeployRequest, deploy_manifests
    from containerkit.tools.manifests import ManifestRequest, generate_manifests
    from containerkit.tools.verify import free_port

    ns, secret_value = k8s_namespace, "s3cr3t-value-never-in-files"

    def docs(name: str) -> list[dict[str, Any]]:
        ms = generate_manifests(
            ManifestRequest(
                name=name, image="python:3.11-slim", port=8080, run_as_user=1000, config_names=["GREETING", "API_TOKEN"]
            )
        )
        assert secret_value not in json.dumps(ms.documents)
        out = render(ms, local_overlay(ms, port=free_port())).documents
        c = out[0]["spec"]["template"]["spec"]["containers"][0]
        c["command"] = [
            "sh",
            "-c",
            'printf \'{"greeting": "%s", "token": "%s"}\' "$GREETING" "$API_TOKEN" >/tmp/env.json; '
            "exec python -m http.server $PORT --bind 127.0.0.1 --directory /tmp",
        ]
        return out

    cluster = connect(KubeTarget(namespace=ns))
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg-config"}, "data": {"GREETING": "hello"}}
    assert kube.request("POST", f"/api/v1/namespaces/{ns}/configmaps", body=cm).status < 300
    # the Secret is missing: the pods still start (optional), and the deploy names what the app lacks
    events: list[dict[str, Any]] = []
    res = deploy_manifests(cluster, DeployRequest(documents=docs("cfg"), timeout_s=120), on_progress=events.append)
    assert res.ready and res.answered
    assert res.missing_config == {"cfg-secrets": ["API_TOKEN"]}
    warned = [e["message"] for e in events if e.get("kind") == "warning"]
    assert any(f"kubectl -n {ns} create secret generic cfg-secrets --from-literal=API_TOKEN=..." in w for w in warned)
    assert _get(res.url.rsplit("/", 1)[0] + "/env.json")[1] == {"greeting": "hello", "token": ""}  # type: ignore[union-attr]
    # with the Secret (created by the user, outside containerkit), the value reaches the pod by name only
    data = {"API_TOKEN": base64.b64encode(secret_value.encode()).decode()}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cfg2-secrets"}, "data": data}
    assert kube.request("POST", f"/api/v1/namespaces/{ns}/secrets", body=secret).status < 300
    res2 = deploy_manifests(cluster, DeployRequest(documents=docs("cfg2"), timeout_s=120))
    assert res2.ready and res2.missing_config == {"cfg2-config": ["GREETING"]}
    assert _get(res2.url.rsplit("/", 1)[0] + "/env.json")[1]["token"] == secret_value  # type: ignore[union-attr]
    assert secret_value not in res2.model_dump_json()


def test_an_app_writing_to_the_read_only_root_gets_a_writable_folder_from_the_deploy_agent(
    example_copy: Any, registry: str, kube: Any, k8s_namespace: str
) -> None:
    app = example_copy("python-http")
    source = (app / "app.py").read_text()
    # fine where verify runs it (a writable root filesystem), a crash under the pod's read-only root
    marker = 'open("/var/tmp/python-http-started", "w").write("1")\n'
    (app / "app.py").write_text(source.replace("app = Flask(__name__)", marker + "app = Flask(__name__)"))
    out = _run(app, app.parent / "home", k8s_namespace, "--deploy-timeout", "120")
    assert out["_returncode"] == 0, out["_stderr"]
    assert out["verify"]["passed"]
    (attempt,) = out["recovery"]
    assert (attempt["failed_stage"], attempt["cause"], attempt["agent"]) == ("deploy", "read_only_filesystem", "deploy")
    assert any("Read-only file system" in e for e in attempt["evidence"]), attempt["evidence"]
    d = out["deployment"]
    assert d["ready"] and d["status_code"] == 200, d
    pods = kube.items(f"/api/v1/namespaces/{k8s_namespace}/pods")
    c = next(p for p in pods if not p["metadata"].get("deletionTimestamp"))["spec"]["containers"][0]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True  # still read-only, with /var/tmp writable
    assert "/var/tmp" in [m["mountPath"] for m in c["volumeMounts"]]


def test_a_second_up_returns_at_once_while_the_cluster_runs(kube: Any) -> None:
    """The cluster's daemons must not keep the infra lock open: the next `up` (a second test run,
    the demo then the tests) would otherwise wait on it for an hour."""
    import subprocess

    run = Path(os.environ.get("K8S_DIR") or Path.home() / ".cache" / "containerkit" / "infra" / "k8s") / "run"
    pids = [int(p.read_text().strip()) for p in run.glob("*.pid")]
    assert pids, f"no daemon pid files in {run}"
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        if fds.is_dir():
            held = [os.readlink(f) for f in fds.iterdir() if os.path.exists(f)]
            assert not any(h.endswith("/run/.lock") for h in held), (pid, held)
    root = Path(__file__).resolve().parents[2]
    t0 = time.monotonic()
    res = subprocess.run(
        ["bash", str(root / "scripts" / "test-infra.sh"), "up", "--k8s"], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1].startswith("KUBECONFIG=")
    assert time.monotonic() - t0 < 60
