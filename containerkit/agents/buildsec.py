"""The buildsec agent: build the Dockerfile on the engine, verify the image starts, lint and scan it.

Verify starts the image as a user would and checks it answers (a server), stays up (a worker) or
exits 0 (a job); a failed start is a failure the orchestrator classifies and recovers from, like a
failed build. The scan (lint, SBOM, vulnerabilities, secrets, compliance, policy) gives one verdict;
with a gate (``--fail-on``, default critical) a failing verdict stops the push. Verify and scan run
side by side: one waits on the container, the other reads the image. A scanner that cannot run is a
note, not a failed build.
"""

from __future__ import annotations

import contextlib
import contextvars
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from containerkit.agents._common import (
    build_context,
    build_request,
    local_image_ref,
    module_dir,
    selected_module,
    session_dir,
)
from containerkit.agents._deps import Deps
from containerkit.agents._stage import agent_node
from containerkit.agents.orch import build_is_current, scan_pending, verify_pending
from containerkit.errors import ContainerKitError, ScanGateFailed, VerifyFailed
from containerkit.state import BuildInfo, ImageRefs, ScanSummary, Session, StepTiming
from containerkit.tools.analyze import ModuleAnalysis
from containerkit.tools.dockerfile.naive import build_stage_packages, naive_dockerfile
from containerkit.tools.engine import BuildRequest, base_images_of, build_image
from containerkit.tools.fsio import write_text
from containerkit.tools.image_size import ImageSize, image_size
from containerkit.tools.progress import ProgressSink
from containerkit.tools.verify import (
    VerifyKind,
    VerifyRequest,
    VerifyResult,
    module_kind,
    verify_cache_key,
    verify_image,
)

if TYPE_CHECKING:
    from containerkit.tools.scan import ScanOptions

__all__ = ["buildsec"]


def _scan(
    state: Session, deps: Deps, sink: ProgressSink, image_id: str, ref: str, dockerfile: Path, context: Path
) -> ScanSummary:
    from containerkit.tools.scan import ScanOptions, scan_cache_key

    fail_on = state.options.fail_on or "critical"
    db = deps.settings.vuln_db
    options = ScanOptions(
        image_ref=ref,
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
    path = session_dir(state, deps) / "scan-report.json"
    cache = deps.results(enabled=not state.options.no_cache)
    key = scan_cache_key(image_id, options, fail_on=fail_on, subject=f"{state.repo_path}:{dockerfile}")
    hit = cache.get(key, ScanSummary)
    report_file = cache.attachment(key, "report.json") if hit else None
    if hit is not None and report_file is not None:
        shutil.copyfile(report_file, path)
        sink({"kind": "log", "stage": "buildsec", "message": "scan: the verdict of an identical scan (cached)"})
        return hit[0].model_copy(update={"report_path": str(path), "cached": True, "cache_key": key.digest})
    changed = cache.changed(key) if cache.enabled else []
    why = f" ({', '.join(changed)} changed)" if changed else ""
    sink({"kind": "log", "stage": "buildsec", "message": f"scanning the image{why}"})
    summary, report_json = _scan_now(state, deps, sink, image_id, options, fail_on, path)
    if report_json is not None:
        summary = summary.model_copy(update={"cache_key": key.digest})
        cache.put(key, summary.model_copy(update={"report_path": None}), attachments={"report.json": report_json})
    return summary


def _scan_now(
    state: Session, deps: Deps, sink: ProgressSink, image_id: str, options: ScanOptions, fail_on: str, path: Path
) -> tuple[ScanSummary, str | None]:
    """Scan; the summary and the full report (None when the scan could not run)."""
    from containerkit.tools.scan import render_report, scan_image

    try:
        report = scan_image(image_id, options, docker_client=deps.docker, on_progress=sink, metrics=deps.metrics)
    except ContainerKitError as exc:
        sink({"kind": "warning", "stage": "buildsec", "message": f"scan failed: {exc}"})
        notes = [f"scan failed: [{exc.code}] {exc.message}"]
        return ScanSummary(image_id=image_id, passed=False, notes=notes), None
    report_json = render_report(report, "json")
    write_text(path, report_json)
    summary = ScanSummary.model_validate({**report.summary(fail_on), "report_path": str(path), "image_id": image_id})
    for note in report.notes:
        sink({"kind": "log", "stage": "buildsec", "message": note})
    return summary, report_json


def _first_fix(scan: ScanSummary) -> str:
    """The plan's most severe action, for the gate's hint (the whole plan is in the report)."""
    if not scan.remediation:
        return ""
    return f" (remediation plan: {len(scan.remediation)} actions, first: {scan.remediation[0].get('title')})"


def _scan_note(scan: ScanSummary) -> str:
    counts = ", ".join(f"{v} {k}" for k, v in scan.counts.items() if v) or "no findings"
    return f"scan: {counts} ({'cached' if scan.cached else f'{scan.duration_s:.1f}s'})"


def _exposed_ports(deps: Deps, image_id: str) -> list[int]:
    from docker.errors import DockerException

    try:
        exposed = deps.docker.images.get(image_id).attrs.get("Config", {}).get("ExposedPorts") or {}
    except DockerException:
        return []
    return sorted(int(p.split("/")[0]) for p in exposed if p.split("/")[0].isdigit() and p.endswith("tcp"))


def _kind(state: Session, module: ModuleAnalysis, exposed: list[int]) -> VerifyKind | None:
    """Server, worker or job from the analysis; the code decides when no framework says.

    A port a user's own Dockerfile exposes says "server" (ours expose one for every module, so theirs
    does not count).
    """
    from containerkit.tools.analyze.serving import serves_http

    kind = module_kind(
        port=module.port, framework=module.framework, language=module.language, start_command=module.start_command
    )
    if kind is None and state.dockerfile is not None and state.dockerfile.origin != "generated" and exposed:
        return "server"
    if kind is None and serves_http(module_dir(state, module), module.language):
        return "server"
    return kind


def _verify(state: Session, deps: Deps, sink: ProgressSink, image_id: str, module: ModuleAnalysis) -> VerifyResult:
    exposed = _exposed_ports(deps, image_id)
    own = state.dockerfile is not None and state.dockerfile.origin != "generated"
    req = VerifyRequest(
        image=image_id,
        kind=_kind(state, module, exposed),
        port=exposed[0] if own and exposed else module.port,
        health_path=module.health_path,
        env=deps.env,
        timeout_s=state.options.verify_timeout,
    )
    cache = deps.results(enabled=not state.options.no_cache)
    key = verify_cache_key(req, secret_key=cache.secret_key(), subject=f"{state.repo_path}:{module.path}")
    hit = cache.get(key, VerifyResult)
    if hit is not None and hit[0].passed:
        result = hit[0].model_copy(update={"cached": True, "cache_key": key.digest})
        sink(
            {"kind": "log", "stage": "buildsec", "message": f"verify: {result.reason} (cached: the same start passed)"}
        )
        return result
    result = verify_image(req, docker_client=deps.docker, on_progress=sink)
    if result.passed:  # only a start that passed is reused: a failure is tried again
        result = result.model_copy(update={"cache_key": key.digest})
        cache.put(key, result)
    sink({"kind": "log", "stage": "buildsec", "message": f"verify: {result.reason}"})
    return result


def _verify_error(result: VerifyResult, state: Session) -> VerifyFailed:
    start = None
    if state.dockerfile is not None:
        from containerkit.tools.dockerfile.fix import start_command_of

        start = start_command_of(state.dockerfile.content)
    return VerifyFailed(
        f"the image does not start and answer: {result.reason}",
        log_tail=result.log_tail,
        exit_code=result.exit_code,
        running=result.exit_code is None,
        start_command=start,
    )


def _size_report(
    state: Session, deps: Deps, sink: ProgressSink, image_id: str, context: Path, module: ModuleAnalysis
) -> ImageSize | None:
    """The image's layers and the base's share; with ``--compare-naive`` the size of a naive
    single-stage image of the same app on the same base, built now and removed again."""
    assert state.dockerfile is not None
    bases = base_images_of(state.dockerfile.content)
    base = bases[-1] if bases else None
    try:
        size = image_size(deps.docker, image_id, base_image=base)
    except Exception as exc:  # noqa: BLE001 - a size report never fails a build
        sink({"kind": "warning", "stage": "buildsec", "message": f"no size report: {exc}"})
        return None
    if not state.options.compare_naive or base is None or module.language not in ("python", "node"):
        return size
    # the naive image starts from the language's image: the first stage's (a lean final stage may be Debian or busybox)
    path = session_dir(state, deps) / "Dockerfile.naive"
    write_text(path, naive_dockerfile(module, bases[0], build_stage_packages(state.dockerfile.content)))
    tag = f"containerkit-naive:{state.session_id[:12].lower()}"
    sink({"kind": "log", "stage": "buildsec", "message": "building a naive single-stage image to compare sizes"})
    try:
        naive = build_image(
            BuildRequest(context=context, dockerfile=path, tags=[tag], pull_policy=deps.settings.pull_policy),
            docker_client=deps.docker,
        )
        size.naive_size_bytes, size.naive_base_image = naive.size_bytes, bases[0]
    except ContainerKitError as exc:
        sink({"kind": "warning", "stage": "buildsec", "message": f"the naive image did not build: {exc.message}"})
    finally:
        with contextlib.suppress(Exception):
            deps.docker.images.remove(tag, force=True)
    return size


def _step(state: Session) -> str:
    if not build_is_current(state):
        return "build"
    return "verify" if verify_pending(state) else "scan"


@agent_node("buildsec", step=_step)
def buildsec(state: Session, deps: Deps, sink: ProgressSink) -> dict[str, Any]:
    """Build the current Dockerfile revision, verify the image starts, scan it; gate the push on the verdict."""
    assert state.dockerfile is not None
    module = selected_module(state)
    ref = local_image_ref(state, module)
    context = build_context(state, module)
    dockerfile = Path(state.dockerfile.path)
    update: dict[str, Any] = {}
    notes: list[str] = []
    if build_is_current(state) and state.build is not None:
        image_id = state.build.image_id
        scan_now = scan_pending(state)  # a scan-only visit runs beside the push; a verify visit scans too
    else:
        result = build_image(
            build_request(state, module, deps.settings, [ref]), docker_client=deps.docker, on_progress=sink
        )
        if deps.metrics is not None:
            deps.metrics.record_build(result.duration_s)
        image_id = result.image_id
        update["build"] = BuildInfo(
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
        )
        update["images"] = ImageRefs(local=ref)
        notes.append(
            f"{result.image_id[:19]} {result.size_bytes / 1e6:.1f} MB in {result.duration_s:.1f}s "
            f"({result.builder}, {result.cached_steps}/{result.steps} steps cached"
            + (", started while containerkit loaded)" if result.early else ")")
        )
        size = _size_report(state, deps, sink, result.image_id, context, module)
        if size is not None:
            update["build"] = update["build"].model_copy(update={"size": size})
            if size.naive_size_bytes:
                notes.append(
                    f"{size.size_bytes / 1e6:.1f} MB against {size.naive_size_bytes / 1e6:.1f} MB for a naive"
                    f" single-stage image on {size.naive_base_image} ({size.ratio_to_naive:.2f}x)"
                )
        # scan now when it must gate the push or nothing is pushed; otherwise it runs beside the push
        scan_now = state.options.scan and bool(state.options.fail_on or not state.options.registry)
    verify_now = state.options.verify and (
        "build" in update or state.verify is None or state.verify.image_id != image_id or not state.verify.passed
    )
    if verify_now and scan_now:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ck-buildsec") as pool:
            # the scan thread keeps this node's run context (the progress stream writer lives there)
            scan_f = pool.submit(
                contextvars.copy_context().run, _scan, state, deps, sink, image_id, ref, dockerfile, context
            )
            verified: VerifyResult | None = _verify(state, deps, sink, image_id, module)
            scan: ScanSummary | None = scan_f.result()
    else:
        verified = _verify(state, deps, sink, image_id, module) if verify_now else None
        scan = _scan(state, deps, sink, image_id, ref, dockerfile, context) if scan_now else None
    if verified is not None:
        update["verify"] = verified
        notes.append(f"verify: {verified.reason} ({'cached' if verified.cached else f'{verified.duration_s:.1f}s'})")
        if not verified.passed:
            update["_error"] = _verify_error(verified, state)
    if scan is not None:
        update["scan"] = scan
        notes.append(_scan_note(scan))
        if state.options.fail_on and not scan.passed and "_error" not in update:
            counts = ", ".join(f"{k}: {v}" for k, v in scan.counts.items() if v)
            update["_error"] = ScanGateFailed(
                f"the image has findings at or above {state.options.fail_on} ({counts or 'scan incomplete'})",
                hint=f"See {scan.report_path or 'the scan notes'}{_first_fix(scan)}; fix them, "
                "or lower --fail-on (none turns it off).",
            )
    update["_note"] = "; ".join(notes) or None
    return update
