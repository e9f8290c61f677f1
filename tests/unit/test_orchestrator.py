"""The orchestrator's routing and recovery decisions, driven through the real compiled graph's node."""

from __future__ import annotations

from langgraph.graph import END

from containerkit.agents.orch import backoff_delay, decide_next, make_orch, verify_pending
from containerkit.graph.recovery import DEFAULT_RECOVERY
from containerkit.state import (
    BuildInfo,
    DockerfileInfo,
    Failure,
    ImageRefs,
    ManifestInfo,
    RunOptions,
    ScanSummary,
    Session,
)
from containerkit.tools.analyze.models import ModuleAnalysis, RepoAnalysis
from containerkit.tools.diagnose import CATEGORIES, Diagnosis
from containerkit.tools.dockerfile import BuildFailureInfo
from containerkit.tools.verify import VerifyResult


def _session(**kw: object) -> Session:
    base = Session(
        session_id="s1",
        repo_path="/tmp/x",
        options=RunOptions(registry="127.0.0.1:5000"),
        analysis=RepoAnalysis(root="/tmp/x", modules=[ModuleAnalysis(path=".", name="x", language="python")]),
        dockerfile=DockerfileInfo(content="FROM x", path="/tmp/x/Dockerfile", origin="generated"),
    )
    return base.model_copy(update=kw)


def _build(rev: int = 1) -> BuildInfo:
    return BuildInfo(image_id="sha256:1", tags=["x:1"], size_bytes=1, duration_s=1, dockerfile_revision=rev)


def _verified(image_id: str = "sha256:1", passed: bool = True) -> VerifyResult:
    return VerifyResult(image_id=image_id, kind="server", passed=passed, reason="answered HTTP 200")


UNGATED = RunOptions(registry="127.0.0.1:5000", fail_on=None, verify=False)


def test_next_stage_follows_missing_results() -> None:
    assert decide_next(Session(session_id="s", repo_path="/x")) == "analyze"
    assert decide_next(_session(options=UNGATED)) == "buildsec"
    # without a gate, a built image still to scan and to push gets both at once
    assert decide_next(_session(build=_build(), options=UNGATED)) == ["buildsec", "infra"]
    scanned = ScanSummary(image_id="sha256:1")
    assert decide_next(_session(build=_build(), scan=scanned, options=UNGATED)) == "infra"
    assert decide_next(_session(build=_build(), options=RunOptions(registry="r:5000", scan=False, verify=False))) == (
        "infra"
    )
    pushed = ImageRefs(local="x:1", pushed="127.0.0.1:5000/x:1", digest="sha256:2")
    assert decide_next(_session(build=_build(), images=pushed, options=UNGATED)) == "buildsec"  # the scan is owed
    assert decide_next(_session(build=_build(), images=pushed, scan=scanned, options=UNGATED)) == "deploy"
    done = _session(
        build=_build(),
        images=pushed,
        scan=scanned,
        manifests=ManifestInfo(paths=["a"], kinds=["Deployment"]),
        options=UNGATED,
    )
    assert decide_next(done) == END


def test_nothing_is_pushed_before_the_image_is_verified_and_its_scan_gate_passed() -> None:
    # the defaults: verify on, gate at critical
    s = _session(build=_build())
    assert decide_next(s) == "buildsec"  # verify (and the gating scan) first
    assert decide_next(s.model_copy(update={"verify": _verified()})) == "buildsec"  # the gate's scan is owed
    ok = s.model_copy(update={"verify": _verified(), "scan": ScanSummary(image_id="sha256:1")})
    assert decide_next(ok) == "infra"
    # a failed verify, or one of an older image, is done again before anything is pushed
    assert decide_next(ok.model_copy(update={"verify": _verified(passed=False)})) == "buildsec"
    assert decide_next(ok.model_copy(update={"verify": _verified("sha256:old")})) == "buildsec"
    assert verify_pending(ok) is False


def test_a_rebuilt_image_needs_a_new_scan() -> None:
    old = ScanSummary(image_id="sha256:old")
    s = _session(build=_build(), scan=old, options=RunOptions(verify=False))
    assert decide_next(s) == "buildsec"


def test_a_fixed_dockerfile_makes_the_build_stale() -> None:
    fixed = DockerfileInfo(content="FROM y", path="/tmp/x/Dockerfile", origin="generated", revision=2)
    assert decide_next(_session(build=_build(1), dockerfile=fixed)) == "buildsec"


def test_no_registry_skips_push() -> None:
    s = _session(build=_build(), options=RunOptions(), scan=ScanSummary(image_id="sha256:1"), verify=_verified())
    assert decide_next(s) == "deploy"


def _failed(stage: str, code: str, category: str | None, **kw: object) -> Session:
    diag = Diagnosis(category=category, evidence=[f"evidence of {category}"], **kw) if category else None  # type: ignore[arg-type]
    failure = Failure(stage=stage, code=code, message="boom", kind=category, build=BuildFailureInfo(), diagnosis=diag)
    return _session(failure=failure, history=[object()])  # history: option validation already done


def test_build_failure_routes_to_analyze_until_the_category_bound_then_fails() -> None:
    orch = make_orch(DEFAULT_RECOVERY)
    s = _failed("buildsec", "CK202", "native_build")
    cmd = orch(s)
    assert cmd.goto == "analyze"
    assert cmd.update["attempts"] == {"fix:native_build": 1}
    attempt = cmd.update["recovery"][0]
    assert (attempt.action, attempt.cause, attempt.agent) == ("fix_dockerfile", "native_build", "analyze")
    assert attempt.evidence == ["evidence of native_build"]
    assert cmd.update["failure"] is None  # consumed; the attempt carries the build failure
    assert attempt.build_failure is not None

    exhausted = s.model_copy(update={"attempts": {"fix:native_build": 3}})
    cmd = orch(exhausted)
    assert cmd.goto == END
    assert cmd.update["status"] == "failed"
    assert cmd.update["errors"][0].code == "CK901"
    assert "evidence of native_build" in cmd.update["errors"][0].message


def test_a_crash_loop_the_image_causes_at_deploy_goes_to_the_dockerfile_fixer_within_the_bounds() -> None:
    orch = make_orch(DEFAULT_RECOVERY)
    s = _failed("deploy", "CK404", "wrong_start_command")
    cmd = orch(s)
    assert cmd.goto == "analyze"
    attempt = cmd.update["recovery"][0]
    assert (attempt.failed_stage, attempt.cause, attempt.agent) == ("deploy", "wrong_start_command", "analyze")
    # the same bound as at verify: the category's, then the run's
    cmd = orch(s.model_copy(update={"attempts": {"fix:wrong_start_command": 2}}))
    assert cmd.goto == END and cmd.update["errors"][0].code == "CK901"
    cmd = orch(s.model_copy(update={"attempts": {"fix:native_build": 3}}))
    assert cmd.goto == END and cmd.update["errors"][0].code == "CK901"
    # a crash loop of the pod's environment stays the user's, with the table's hint
    cmd = orch(_failed("deploy", "CK404", "crash_loop", subject="permission_denied"))
    assert cmd.goto == END and "read-only root filesystem" in cmd.update["errors"][0].hint


def test_the_run_wide_bound_holds_across_categories() -> None:
    orch = make_orch(DEFAULT_RECOVERY)
    s = _failed("buildsec", "CK206", "permission_denied").model_copy(
        update={"attempts": {"fix:native_build": 2, "fix:wrong_start_command": 1}}
    )
    cmd = orch(s)  # 3 fixes already: the default max_fix_attempts
    assert cmd.goto == END and cmd.update["errors"][0].code == "CK901"


def test_missing_configuration_ends_needs_config_with_the_names_and_the_way_to_pass_them() -> None:
    orch = make_orch(DEFAULT_RECOVERY)
    cmd = orch(_failed("buildsec", "CK206", "missing_config", names=["DATABASE_URL", "SECRET_KEY"]))
    assert cmd.goto == END
    assert cmd.update["status"] == "needs_config"
    assert cmd.update["needs"] == ["DATABASE_URL", "SECRET_KEY"]
    err = cmd.update["errors"][0]
    assert err.code == "CK903" and "--env DATABASE_URL=" in err.hint


def test_the_users_categories_stop_with_the_tables_hint_and_unknown_stays_unknown() -> None:
    orch = make_orch(DEFAULT_RECOVERY)
    cmd = orch(_failed("buildsec", "CK202", "package_not_found"))
    assert cmd.update["status"] == "failed"
    assert cmd.update["errors"][0].code == "CK202" and "package index" in cmd.update["errors"][0].hint
    assert cmd.update["errors"][0].category == "package_not_found"
    # an unclassified verify failure is not turned into some fixable category
    cmd = orch(_failed("buildsec", "CK206", "unknown"))
    assert cmd.goto == "analyze" and cmd.update["recovery"][0].cause == "unknown"


def test_transient_push_faults_retry_the_push_with_backoff() -> None:
    orch = make_orch(DEFAULT_RECOVERY)
    cmd = orch(_failed("infra", "CK301", "registry_unreachable"))
    assert cmd.goto == "infra"
    assert cmd.update["recovery"][0].action == "retry"
    assert cmd.update["attempts"] == {"retry:registry_unreachable": 1}
    assert 0 <= backoff_delay(3, 1.0, rng=lambda: 1.0) == 8.0
    assert backoff_delay(10, 1.0, rng=lambda: 1.0) == 30.0  # capped


def test_an_unclassified_stage_error_ends_without_retry() -> None:
    orch = make_orch(DEFAULT_RECOVERY)
    s = _session(failure=Failure(stage="infra", code="CK302", message="down"))
    cmd = orch(s.model_copy(update={"history": [object()]}))
    assert cmd.goto == END and cmd.update["status"] == "failed"
    assert cmd.update["errors"] == []  # the infra agent already recorded its error


def test_every_category_of_the_taxonomy_has_one_row_per_stage() -> None:
    rows = [(s.category, stage) for s in DEFAULT_RECOVERY for stage in s.stages]
    assert len(rows) == len(set(rows))
    assert {c for c, _ in rows} == set(CATEGORIES)


def test_invalid_image_option_fails_at_the_start() -> None:
    orch = make_orch(DEFAULT_RECOVERY)
    cmd = orch(Session(session_id="s", repo_path="/x", options=RunOptions(image="UPPER/Case:bad tag")))
    assert cmd.goto == END
    assert cmd.update["errors"][0].code == "CK105"


def test_required_variables_are_read_from_the_code_with_and_without_defaults(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from containerkit.tools.diagnose.config import required_env_names

    (tmp_path / "settings.py").write_text(
        'import os\nDB = os.environ["DATABASE_URL"]\nKEY = os.environ.get("SECRET_KEY", "dev")\nP = os.environ["PORT"]\n'
    )
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "server.js").write_text(
        "const s = process.env.STRIPE_KEY;\nconst p = process.env.LOG_LEVEL || 'info';\n"
    )
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "dep.js").write_text("process.env.NOT_MINE\n")
    assert required_env_names(tmp_path) == ["DATABASE_URL", "STRIPE_KEY"]


def test_an_image_naming_a_registry_is_pushed_there() -> None:
    assert RunOptions(image="127.0.0.1:5000/shop/api:1").registry == "127.0.0.1:5000"
    assert RunOptions(image="shop/api:1").registry is None
    assert RunOptions(image="127.0.0.1:5000/api:1", registry="r.example:443").registry == "r.example:443"
