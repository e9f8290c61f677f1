"""The orchestrator's routing and recovery decisions, driven through the real compiled graph's node."""

from __future__ import annotations

from langgraph.graph import END

from containerkit.agents.orch import decide_next, make_orch
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
from containerkit.tools.dockerfile import BuildFailureInfo


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


def test_next_stage_follows_missing_results() -> None:
    assert decide_next(Session(session_id="s", repo_path="/x")) == "analyze"
    assert decide_next(_session()) == "buildsec"
    # a built image still to scan and to push: both at once
    assert decide_next(_session(build=_build())) == ["buildsec", "infra"]
    scanned = ScanSummary(image_id="sha256:1")
    assert decide_next(_session(build=_build(), scan=scanned)) == "infra"
    assert decide_next(_session(build=_build(), options=RunOptions(registry="r:5000", scan=False))) == "infra"
    pushed = ImageRefs(local="x:1", pushed="127.0.0.1:5000/x:1", digest="sha256:2")
    assert decide_next(_session(build=_build(), images=pushed)) == "buildsec"  # the scan is still owed
    assert decide_next(_session(build=_build(), images=pushed, scan=scanned)) == "deploy"
    done = _session(
        build=_build(), images=pushed, scan=scanned, manifests=ManifestInfo(paths=["a"], kinds=["Deployment"])
    )
    assert decide_next(done) == END


def test_a_rebuilt_image_needs_a_new_scan() -> None:
    old = ScanSummary(image_id="sha256:old")
    s = _session(build=_build(), scan=old, options=RunOptions())
    assert decide_next(s) == "buildsec"


def test_a_fixed_dockerfile_makes_the_build_stale() -> None:
    fixed = DockerfileInfo(content="FROM y", path="/tmp/x/Dockerfile", origin="generated", revision=2)
    assert decide_next(_session(build=_build(1), dockerfile=fixed)) == "buildsec"


def test_no_registry_skips_push() -> None:
    s = _session(build=_build(), options=RunOptions(), scan=ScanSummary(image_id="sha256:1"))
    assert decide_next(s) == "deploy"


def test_build_failure_routes_to_analyze_until_the_bound_then_fails() -> None:
    orch = make_orch(DEFAULT_RECOVERY)
    failure = Failure(stage="buildsec", code="CK202", message="boom", kind="unknown", build=BuildFailureInfo())
    s = _session(failure=failure, history=[])
    cmd = orch(s.model_copy(update={"history": [object()]}))  # validation already done
    assert cmd.goto == "analyze"
    assert cmd.update["attempts"] == {"fix_dockerfile:buildsec": 1}
    assert cmd.update["recovery"][0].action == "fix_dockerfile"
    assert cmd.update["failure"] is None  # consumed; the attempt carries the build failure
    assert cmd.update["recovery"][0].build_failure is not None

    exhausted = s.model_copy(update={"attempts": {"fix_dockerfile:buildsec": 2}, "history": [object()]})
    cmd = orch(exhausted)
    assert cmd.goto == END
    assert cmd.update["status"] == "failed"
    assert cmd.update["errors"][0].code == "CK901"


def test_unrecoverable_failure_ends_without_retry() -> None:
    orch = make_orch(DEFAULT_RECOVERY)
    s = _session(failure=Failure(stage="infra", code="CK301", message="down"))
    cmd = orch(s.model_copy(update={"history": [object()]}))
    assert cmd.goto == END and cmd.update["status"] == "failed"
    assert cmd.update["errors"] == []  # the infra agent already recorded CK301


def test_invalid_image_option_fails_at_the_start() -> None:
    orch = make_orch(DEFAULT_RECOVERY)
    cmd = orch(Session(session_id="s", repo_path="/x", options=RunOptions(image="UPPER/Case:bad tag")))
    assert cmd.goto == END
    assert cmd.update["errors"][0].code == "CK105"
