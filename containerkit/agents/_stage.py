"""One wrapper for every agent node: timing, progress events, tracing, and turning errors into state.

An agent body returns its partial update; the wrapper adds the stage record, and on a typed error
records it (code, message, hint) and a ``failure`` for the orchestrator, so a failed stage never
loses the session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from opentelemetry import trace

from containerkit.agents._deps import Deps
from containerkit.errors import ContainerKitError, InternalError
from containerkit.state import ErrorRecord, Failure, Session, StageRecord, now
from containerkit.tools.diagnose.models import Diagnosis, FailureEvidence, FailureStage
from containerkit.tools.dockerfile import BuildFailureInfo
from containerkit.tools.progress import ProgressEvent, ProgressSink

__all__ = ["AgentBody", "agent_node", "progress_sink"]

AgentBody = Callable[[Session, Deps, ProgressSink], dict[str, Any]]
_tracer = trace.get_tracer("containerkit")


def progress_sink() -> ProgressSink:
    try:
        writer = get_stream_writer()
    except Exception:  # noqa: BLE001 - outside a graph run nobody listens
        return lambda _e: None

    def sink(event: ProgressEvent) -> None:
        writer(dict(event))

    return sink


# Errors whose category their type already says (no log to read).
_CATEGORY_OF_CODE = {
    "CK201": "daemon_unavailable",
    "CK203": "base_image_missing",
    "CK205": "policy_violation",
    "CK301": "registry_unreachable",
    "CK304": "registry_auth",
    "CK305": "registry_forbidden",
    "CK306": "image_not_in_registry",
    "CK307": "registry_tls",
    "CK308": "registry_busy",
    "CK309": "operation_timeout",
    "CK310": "registry_credentials",
    "CK402": "cluster_unreachable",
}
_STAGE_OF_CODE: dict[str, FailureStage] = {
    "CK202": "build",
    "CK206": "verify",
    "CK302": "push",
    "CK303": "push",
    "CK403": "deploy",
    "CK404": "deploy",
}


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def failure_of(stage: str, exc: ContainerKitError) -> Failure:
    """The failure the orchestrator reads: the error, and the category its evidence supports."""
    from containerkit.tools.diagnose.classify import classify

    ctx = exc.context
    build = BuildFailureInfo(
        step=str(ctx["step"]) if ctx.get("step") else None,
        step_number=_int(ctx.get("step_number")),
        exit_code=_int(ctx.get("exit_code")),
        message=exc.message,
        log_tail=str(ctx.get("log_tail", "")),
    )
    diagnosis: Diagnosis | None = None
    if exc.code == "CK203" and stage == "analyze":
        # found before any build: no image satisfies what the app requires (engines.node, requires-python)
        diagnosis = Diagnosis(category="runtime_version", evidence=[exc.message], detail=exc.message)
    elif exc.code in _CATEGORY_OF_CODE:
        diagnosis = Diagnosis(category=_CATEGORY_OF_CODE[exc.code], evidence=[exc.message], detail=exc.message)
    elif exc.code in _STAGE_OF_CODE:
        status_lines = str(ctx.get("status_lines") or "")  # a rollout's pod statuses and events
        diagnosis = classify(
            FailureEvidence(
                stage=_STAGE_OF_CODE[exc.code],
                message=f"{exc.message}\n{status_lines}" if status_lines else exc.message,
                log_tail=build.log_tail,
                exit_code=build.exit_code,
                start_command=str(ctx["start_command"]) if ctx.get("start_command") else None,
            )
        )
        if diagnosis.category == "unknown" and exc.code == "CK206" and ctx.get("running"):
            # observed, not guessed: the container stayed up and nothing answered
            diagnosis = Diagnosis(category="no_answer", evidence=[exc.message], detail=exc.message)
        elif diagnosis.category == "unknown" and exc.code == "CK206" and ctx.get("exit_code") == 0:
            # observed: a server that exits 0 at once was never started by its start command
            line = f"{exc.message} (exit code 0: the start command ends without serving)"
            diagnosis = Diagnosis(category="wrong_start_command", evidence=[line], detail=line)
        elif diagnosis.category == "unknown" and ctx.get("oom_killed"):
            diagnosis = Diagnosis(category="out_of_memory", evidence=["the engine reports OOMKilled"])
    if diagnosis is None:
        return Failure(stage=stage, code=exc.code, message=exc.message)
    return Failure(
        stage=stage,
        code=exc.code,
        message=exc.message,
        kind=diagnosis.category,
        build=build if exc.code in ("CK202", "CK203", "CK206", "CK404") else None,  # CK404: the pod's log
        diagnosis=diagnosis,
    )


def agent_node(
    stage: str, *, step: Callable[[Session], str] | None = None
) -> Callable[[AgentBody], Callable[[Session, Runtime[Deps]], dict[str, Any]]]:
    """Wrap an agent body; ``step`` names what this visit does (e.g. "build" or "scan") for the faces."""

    def decorate(body: AgentBody) -> Callable[[Session, Runtime[Deps]], dict[str, Any]]:
        def node(state: Session, runtime: Runtime[Deps]) -> dict[str, Any]:
            sink = progress_sink()
            start = now()
            t0 = time.perf_counter()
            what = step(state) if step else None
            sink({"kind": "stage", "stage": stage, "status": "started", **({"message": what} if what else {})})
            with _tracer.start_as_current_span(f"containerkit.{stage}") as span:
                span.set_attribute("containerkit.session_id", state.session_id)
                try:
                    update = body(state, runtime.context, sink)
                    # an agent may keep its results and still fail the stage (e.g. a scan gate)
                    error: ContainerKitError | None = update.pop("_error", None)
                except ContainerKitError as exc:
                    error, update = exc, {}
                except Exception as exc:  # noqa: BLE001 - recorded, never lost
                    error, update = InternalError(f"{stage} failed unexpectedly: {type(exc).__name__}: {exc}"), {}
                if error is not None:
                    span.set_attribute("containerkit.error", error.code)
            duration = round(time.perf_counter() - t0, 3)
            note = update.pop("_note", None)
            record = StageRecord(
                stage=stage,
                start=start,
                end=now(),
                duration_s=duration,
                ok=error is None,
                error=f"[{error.code}] {error.message}" if error else None,
                note=note,
            )
            update["history"] = [record]
            update["updated"] = record.end
            if error is not None:
                update["errors"] = [ErrorRecord(stage=stage, code=error.code, message=error.message, hint=error.hint)]
                update["failure"] = failure_of(stage, error)
                sink({"kind": "stage", "stage": stage, "status": "failed", "message": str(error)})
            else:
                sink(
                    {
                        "kind": "stage",
                        "stage": stage,
                        "status": "finished",
                        "data": {"duration_s": duration},
                        **({"message": what} if what else {}),
                    }
                )
            return update

        # not functools.wraps: LangGraph reads the node's own signature to inject ``runtime``
        node.__name__ = body.__name__
        node.__doc__ = body.__doc__
        node.__module__ = body.__module__
        return node

    return decorate
