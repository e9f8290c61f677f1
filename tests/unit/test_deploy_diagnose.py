"""A failed rollout is classified from its pod statuses, events and the container's log, and the
orchestrator routes it by the recovery table."""

from __future__ import annotations

import pytest

from containerkit.agents.orch import decide_next, deploy_pending
from containerkit.graph.recovery import DEFAULT_RECOVERY
from containerkit.state import DeploymentStatus, ImageRefs, ManifestInfo, RunOptions, ScanSummary, Session
from containerkit.tools.analyze.models import ModuleAnalysis, RepoAnalysis
from containerkit.tools.diagnose import FailureEvidence, classify


def _deploy(message: str, log: str = "") -> str:
    return classify(FailureEvidence(stage="deploy", message=message, log_tail=log)).category


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (
            'pod web-1: container web waiting: ImagePullBackOff: Back-off pulling image "127.0.0.1:5000/nope:1"',
            "image_pull",
        ),
        ('event Pod/web-1: Failed: Failed to pull image "x:1": manifest unknown', "image_pull"),
        ('pod web-1: container web waiting: ErrImageNeverPull: Container image "x:1" is not present', "image_pull"),
        (
            "pod web-1: PodScheduled False: Unschedulable: 0/1 nodes are available: 1 Insufficient memory.",
            "unschedulable",
        ),
        (
            'event ReplicaSet/web-1: FailedCreate: pods "web-1-x" is forbidden: exceeded quota: small, '
            "requested: limits.memory=512Mi",
            "quota_exceeded",
        ),
        (
            'event ReplicaSet/web-1: FailedCreate: pods "w" is forbidden: violates PodSecurity "restricted:latest": '
            "host namespaces (hostNetwork=true)",
            "admission_denied",
        ),
        ("event Pod/web-1: Unhealthy: Startup probe failed: HTTP probe failed with statuscode: 404", "probe_failing"),
        ("pod web-1: container web waiting: CrashLoopBackOff: back-off 10s restarting failed container", "crash_loop"),
        ("the rollout failed: ProgressDeadlineExceeded", "rollout_timeout"),
    ],
)
def test_rollout_failures_are_named_from_pod_statuses_and_events(status: str, category: str) -> None:
    assert _deploy(status) == category


def test_a_crash_loop_reads_the_apps_log_as_verify_does() -> None:
    crash = "pod web-1: container web waiting: CrashLoopBackOff: back-off 10s"
    log = 'Traceback (most recent call last):\n  File "/app/app.py", line 3\nRuntimeError: boom at start\n'
    d = classify(FailureEvidence(stage="deploy", message=crash, log_tail=log))
    assert d.category in ("app_error", "crash_loop")
    assert any("CrashLoopBackOff" in e for e in d.evidence)
    # a fault of the image gets verify's name, so the Dockerfile fixer mends it as it would at verify
    missing = classify(
        FailureEvidence(stage="deploy", message=crash, log_tail="ModuleNotFoundError: No module named 'flask'")
    )
    assert missing.category == "missing_dependency"
    assert any("flask" in e for e in missing.evidence) and any("CrashLoopBackOff" in e for e in missing.evidence)
    # a fault of the pod's environment (a folder it cannot write) stays a crash loop, the cause as its subject
    denied = classify(
        FailureEvidence(
            stage="deploy", message=crash, log_tail="PermissionError: [Errno 13] Permission denied: '/app/cache'"
        )
    )
    assert denied.category == "crash_loop" and denied.subject == "permission_denied"


@pytest.mark.parametrize(
    ("log", "category"),
    [
        ("Error: Cannot find module '/app/server.js'\n    at Module._resolveFilename", "wrong_start_command"),
        ("python: can't open file '/app/main.py': [Errno 2] No such file or directory", "wrong_start_command"),
        ("ModuleNotFoundError: No module named 'flask'", "missing_dependency"),
        ("error while loading shared libraries: libpq.so.5: cannot open shared object file", "missing_runtime_library"),
    ],
)
def test_a_crash_loop_caused_by_the_image_goes_to_the_dockerfile_fixer(log: str, category: str) -> None:
    from containerkit.agents.orch import _strategy

    # as the cluster reports it: the crash loop, and the probes that failed while the app was down
    crash = (
        "the rollout of ns/web failed: CrashLoopBackOff: restarted 2 times\n"
        "event Pod/web-1: Unhealthy: Startup probe failed: dial tcp 127.0.0.1:8080: connect: connection refused"
    )
    d = classify(FailureEvidence(stage="deploy", message=crash, log_tail=log))
    assert d.category == category, d  # the crash, not the probes that failed because of it
    assert "CrashLoopBackOff" in d.evidence[0]
    row = _strategy(DEFAULT_RECOVERY, d.category, "deploy")
    assert row is not None and (row.handling, row.agent) == ("fix", "analyze")
    assert row == _strategy(DEFAULT_RECOVERY, d.category, "buildsec")  # the same row as at verify


def test_every_deploy_category_has_a_row_for_the_deploy_stage() -> None:
    for category in (
        "image_pull",
        "crash_loop",
        "probe_failing",
        "unschedulable",
        "quota_exceeded",
        "admission_denied",
        "rollout_timeout",
        "cluster_unreachable",
        "app_error",
    ):
        rows = [s for s in DEFAULT_RECOVERY if s.category == category and "deploy" in s.stages]
        assert len(rows) == 1, category
    probe = next(s for s in DEFAULT_RECOVERY if s.category == "probe_failing")
    assert (probe.handling, probe.agent) == ("fix", "deploy")


def _done(**opts: object) -> Session:
    return Session(
        session_id="s1",
        repo_path="/tmp/x",
        options=RunOptions(registry="127.0.0.1:5000", fail_on=None, verify=False, scan=False, **opts),  # type: ignore[arg-type]
        analysis=RepoAnalysis(root="/tmp/x", modules=[ModuleAnalysis(path=".", name="x", language="python")]),
        images=ImageRefs(local="x:1", pushed="127.0.0.1:5000/x:1", digest="sha256:2"),
        scan=ScanSummary(image_id="sha256:1"),
        manifests=ManifestInfo(paths=["a"], kinds=["Deployment"]),
    )


def test_deploy_runs_until_the_current_image_is_ready_on_the_cluster() -> None:
    from containerkit.state import BuildInfo, DockerfileInfo

    base = _done(deploy=True).model_copy(
        update={
            "dockerfile": DockerfileInfo(content="FROM x", path="/tmp/x/Dockerfile", origin="generated"),
            "build": BuildInfo(image_id="sha256:1", tags=["x:1"], size_bytes=1, duration_s=1),
        }
    )
    assert deploy_pending(base) and decide_next(base) == "deploy"
    ready = DeploymentStatus(applied=True, ready=True, image="127.0.0.1:5000/x:1@sha256:2")
    assert not deploy_pending(base.model_copy(update={"deployment": ready}))
    stale = ready.model_copy(update={"image": "127.0.0.1:5000/x:1@sha256:old"})
    assert deploy_pending(base.model_copy(update={"deployment": stale}))
    rolled_back = ready.model_copy(update={"ready": False, "rolled_back_to": 1})
    assert deploy_pending(base.model_copy(update={"deployment": rolled_back}))
    assert not deploy_pending(_done())  # without --deploy the manifests are the end


def test_no_cluster_is_a_clear_error_with_the_way_to_one(tmp_path: object) -> None:
    from containerkit.agents._stage import failure_of
    from containerkit.errors import ClusterUnreachable
    from containerkit.tools.k8s.cluster import connect
    from containerkit.tools.k8s.models import KubeTarget

    with pytest.raises(ClusterUnreachable) as info:
        connect(KubeTarget(kubeconfig=f"{tmp_path}/no-such-kubeconfig"))
    assert "test-infra.sh up --k8s" in info.value.hint
    assert failure_of("deploy", info.value).kind == "cluster_unreachable"


def _pod(waiting: str | None = None, restarts: int = 0, unschedulable: bool = False) -> dict[str, object]:
    cs: dict[str, object] = {"name": "web", "restartCount": restarts, "state": {"running": {}}}
    if waiting:
        cs["state"] = {"waiting": {"reason": waiting, "message": "m"}}
    conds = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1"}]
    return {
        "metadata": {"name": "web-1"},
        "status": {"containerStatuses": [cs], "conditions": conds if unschedulable else []},
    }


def test_a_rollout_stops_on_what_waiting_cannot_fix_and_waits_otherwise() -> None:
    from containerkit.tools.k8s.cluster import _blocked

    assert _blocked([_pod("ImagePullBackOff")], [], 0, 1) == "ImagePullBackOff: m"
    assert _blocked([_pod("ErrImagePull")], [], 0, 1) is None  # a pull may still succeed
    assert _blocked([_pod("ErrImagePull")], [], 0, 10) is not None
    assert (_blocked([_pod("CrashLoopBackOff")], [], 0, 1) or "").startswith("CrashLoopBackOff")
    assert _blocked([_pod(restarts=2)], [], 0, 1) is not None
    assert _blocked([_pod(unschedulable=True)], [], 0, 1) is None
    assert (_blocked([_pod(unschedulable=True)], [], 0, 10) or "").startswith("Unschedulable")
    probe = "event Pod/web-1: Unhealthy: Startup probe failed: HTTP probe failed with statuscode: 404"
    assert _blocked([_pod()], [probe], 0, 1) is None  # one 404 may be a slow start
    assert _blocked([_pod()], [probe + " (x3)"], 0, 1) is not None
    refused = "event Pod/web-1: Unhealthy: Startup probe failed: Get http://127.0.0.1:1/: connection refused (x9)"
    assert _blocked([_pod()], [refused], 0, 1) is None  # still starting: the startup probe's budget decides
    assert _blocked([_pod()], ['event ReplicaSet/w: FailedCreate: pods "w" is forbidden: exceeded quota: q'], 0, 1)


def test_the_new_replicaset_is_the_one_with_the_deployments_template() -> None:
    from containerkit.tools.k8s.cluster import _same_template

    tpl = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "a", "image": "a:2"}]}}
    dep = {"spec": {"template": tpl}}
    new = {"spec": {"template": {**tpl, "metadata": {"labels": {"app": "a", "pod-template-hash": "abc"}}}}}
    old = {"spec": {"template": {**tpl, "spec": {"containers": [{"name": "a", "image": "a:1"}]}}}}
    assert _same_template(new, dep) and not _same_template(old, dep)
    assert dep["spec"]["template"]["metadata"]["labels"] == {"app": "a"}  # the Deployment is not touched


def test_a_failing_probe_of_a_running_app_stays_a_probe_failure_whatever_its_log_mentions() -> None:
    probe = "the rollout of ns/web failed: Startup probe failed: HTTP probe failed with statuscode: 404 (x3)"
    log = "warning: optional ModuleNotFoundError: No module named 'ujson'\nServing on 8080\n"
    d = classify(FailureEvidence(stage="deploy", message=probe, log_tail=log))
    assert d.category == "probe_failing", d  # it never crashed: the path is wrong, not the image


def test_a_crash_loop_whose_log_names_nothing_is_a_crash_loop_not_the_probes_it_failed() -> None:
    msg = (
        "the rollout of ns/web failed: CrashLoopBackOff: restarted 2 times\n"
        "event Pod/web-1: Unhealthy: Startup probe failed: dial tcp 127.0.0.1:8080: connect: connection refused"
    )
    d = classify(FailureEvidence(stage="deploy", message=msg, log_tail="[INFO] Starting gunicorn 22.0.0\n"))
    assert d.category == "crash_loop", d  # the deploy agent's probe fix would not help a crashing app


def test_a_crash_for_a_variable_the_cluster_does_not_give_names_it_and_says_how_to_give_it() -> None:
    from containerkit.agents.orch import _strategy

    msg = "the rollout of ns/web failed: CrashLoopBackOff: restarted 2 times"
    d = classify(FailureEvidence(stage="deploy", message=msg, log_tail="KeyError: 'API_TOKEN'\n"))
    assert d.category == "missing_config" and d.names == ["API_TOKEN"], d
    row = _strategy(DEFAULT_RECOVERY, "missing_config", "deploy")
    assert row is not None and row.handling == "user" and "kubectl create secret" in row.hint
    assert _strategy(DEFAULT_RECOVERY, "missing_config", "buildsec").handling == "config"  # type: ignore[union-attr]


def test_a_crash_writing_to_the_read_only_root_goes_to_the_deploy_agent_which_gives_it_a_folder() -> None:
    from containerkit.agents.deploy import _writable
    from containerkit.agents.orch import _strategy
    from containerkit.state import Attempt

    msg = "the rollout of ns/web failed: CrashLoopBackOff: restarted 2 times"
    log = "OSError: [Errno 30] Read-only file system: '/var/tmp/web-started'\n"
    d = classify(FailureEvidence(stage="deploy", message=msg, log_tail=log))
    assert (d.category, d.subject) == ("read_only_filesystem", "/var/tmp/web-started"), d
    row = _strategy(DEFAULT_RECOVERY, d.category, "deploy")
    assert row is not None and (row.handling, row.agent) == ("fix", "deploy")

    def after(*subjects: str) -> tuple[list[str], bool]:
        attempts = [
            Attempt(
                number=i + 1,
                failed_stage="deploy",
                code="CK404",
                cause="read_only_filesystem",
                action="fix_dockerfile",
                detail="",
                agent="deploy",
                diagnosis=d.model_copy(update={"subject": s}),
            )
            for i, s in enumerate(subjects)
        ]
        return _writable(Session(session_id="s", repo_path="/r", recovery=attempts))

    assert after() == (["/tmp"], True)
    assert after("/var/tmp/web-started") == (["/tmp", "/var/tmp"], True)  # a scratch folder: an emptyDir
    assert after("/app/data.db") == (["/tmp"], False)  # next to the code: the root becomes writable
