"""The buildsec agent: build the Dockerfile on the engine, then lint and scan the image it made.

The scan (lint, SBOM, vulnerabilities, secrets, compliance, policy) gives one verdict; it gates the
run only when the user asked for it (``--fail-on``). A scanner that cannot run is a note, not a
failed build.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from containerkit.agents._common import build_context, local_image_ref, selected_module, session_dir
from containerkit.agents._deps import Deps
from containerkit.agents._stage import agent_node
from containerkit.agents.orch import build_is_current
from containerkit.errors import ContainerKitError, ScanGateFailed
from containerkit.state import BuildInfo, ImageRefs, ScanSummary, Session, StepTiming
from containerkit.tools.engine import BuildRequest, build_image
from containerkit.tools.fsio import write_text
from containerkit.tools.progress import ProgressSink

__all__ = ["buildsec"]


def _scan(
    state: Session, deps: Deps, sink: ProgressSink, image_id: str, dockerfile: Path, context: Path
) -> ScanSummary:
    from containerkit.tools.scan import ScanOptions, render_report, scan_image

    sink({"kind": "log", "stage": "buildsec", "message": "scanning the image"})
    fail_on = state.options.fail_on or "critical"
    db = deps.settings.vuln_db
    options = ScanOptions(
        dockerfile=dockerfile,
        context=context,
        vuln_db=db if db.exists() else None,
        policies=[Path(p) for p in state.options.policies],
        policy_data={"allowed_registries": state.options.allowed_registries}
        if state.options.allowed_registries
        else {},
        trusted_registries=state.options.allowed_registries,
        cache_dir=deps.settings.cache_dir,
    )
    try:
        report = scan_image(image_id, options, docker_client=deps.docker, on_progress=sink, metrics=deps.metrics)
    except ContainerKitError as exc:
        sink({"kind": "warning", "stage": "buildsec", "message": f"scan failed: {exc}"})
        return ScanSummary(image_id=image_id, passed=False, notes=[f"scan failed: [{exc.code}] {exc.message}"])
    path = session_dir(state, deps) / "scan-report.json"
    write_text(path, render_report(report, "json"))
    summary = ScanSummary.model_validate({**report.summary(fail_on), "report_path": str(path), "image_id": image_id})
    for note in report.notes:
        sink({"kind": "log", "stage": "buildsec", "message": note})
    return summary


def _scan_note(scan: ScanSummary) -> str:
    counts = ", ".join(f"{v} {k}" for k, v in scan.counts.items() if v) or "no findings"
    return f"scan: {counts} ({scan.duration_s:.1f}s)"


@agent_node("buildsec", step=lambda s: "scan" if build_is_current(s) else "build")
def buildsec(state: Session, deps: Deps, sink: ProgressSink) -> dict[str, Any]:
    """Build the current Dockerfile revision and scan the result; gate on ``--fail-on`` if asked."""
    assert state.dockerfile is not None
    module = selected_module(state)
    ref = local_image_ref(state, module)
    context = build_context(state, module)
    dockerfile = Path(state.dockerfile.path)
    if build_is_current(state) and state.build is not None:
        # the image is built: this visit is its scan, running beside the push
        scan = _scan(state, deps, sink, state.build.image_id, dockerfile, context)
        return {"scan": scan, "_note": _scan_note(scan)}
    result = build_image(
        BuildRequest(
            context=context,
            dockerfile=dockerfile,
            tags=[ref],
            pull_policy=deps.settings.pull_policy,
            nocache=state.options.no_cache,
            labels={
                "io.containerkit.session": state.session_id,
                "org.opencontainers.image.title": module.name,
            },
        ),
        docker_client=deps.docker,
        on_progress=sink,
    )
    if deps.metrics is not None:
        deps.metrics.record_build(result.duration_s)
    update: dict[str, Any] = {
        "build": BuildInfo(
            image_id=result.image_id,
            tags=result.tags,
            size_bytes=result.size_bytes,
            duration_s=result.duration_s,
            cached_steps=result.cached_steps,
            steps=result.steps,
            log_tail=result.log_tail,
            dockerfile_revision=state.dockerfile.revision,
            builder=result.builder,
            step_timings=[
                StepTiming(name=s.name, cached=s.cached, duration_s=s.duration_s) for s in result.step_details
            ],
        ),
        "images": ImageRefs(local=ref),
        "_note": f"{result.image_id[:19]} {result.size_bytes / 1e6:.1f} MB in {result.duration_s:.1f}s "
        f"({result.builder}, {result.cached_steps}/{result.steps} steps cached)",
    }
    # Scan now when it must gate the push (--fail-on) or nothing is pushed; otherwise the
    # orchestrator runs it beside the push.
    if state.options.scan and (state.options.fail_on or not state.options.registry):
        scan = _scan(state, deps, sink, result.image_id, dockerfile, context)
        update["scan"] = scan
        update["_note"] += f"; {_scan_note(scan)}"
        if state.options.fail_on and not scan.passed:
            counts = ", ".join(f"{k}: {v}" for k, v in scan.counts.items() if v)
            update["_error"] = ScanGateFailed(
                f"the image has findings at or above {state.options.fail_on} ({counts or 'scan incomplete'})",
                hint=f"See {scan.report_path or 'the scan notes'}; fix them, or lower --fail-on.",
            )
    return update
