"""The orchestrator: decides every next step from the state, and owns the recovery branches.

The recovery policy is data (a tuple of rules) handed in by the graph, so "when do we regenerate
the Dockerfile" is answered in one table, not spread over agents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

from langgraph.graph import END
from langgraph.types import Command

from containerkit.agents._stage import progress_sink
from containerkit.errors import ContainerKitError
from containerkit.state import Attempt, ErrorRecord, Session, StageRecord, now
from containerkit.tools.images import parse_image_ref, parse_registry

__all__ = ["NEXT_STAGES", "RecoveryAction", "RecoveryRule", "decide_next", "make_orch"]

RecoveryAction = Literal["fix_dockerfile", "retry", "fail"]
NEXT_STAGES = ("analyze", "buildsec", "infra", "deploy")


class RecoveryRule(NamedTuple):
    """When ``stage`` fails with ``code`` (and ``kind``, if given), take ``action``, at most ``limit`` times.

    ``limit`` None means the run option ``max_fix_attempts``.
    """

    stage: str
    code: str | None
    action: RecoveryAction
    kind: str | None = None
    limit: int | None = None


def _matches(rule: RecoveryRule, stage: str, code: str, kind: str | None) -> bool:
    return rule.stage == stage and (rule.code is None or rule.code == code) and (rule.kind is None or rule.kind == kind)


def build_is_current(state: Session) -> bool:
    return (
        state.build is not None
        and state.dockerfile is not None
        and state.build.dockerfile_revision == state.dockerfile.revision
    )


def scan_pending(state: Session) -> bool:
    """The user wants a scan and the current image has no verdict yet."""
    return (
        state.options.scan
        and state.build is not None
        and (state.scan is None or state.scan.image_id != state.build.image_id)
    )


def decide_next(state: Session) -> str | list[str]:
    """The first stage whose result is missing or stale; ``END`` when everything is done.

    An image that still needs its scan and its push gets both at once (``["buildsec", "infra"]``):
    they read the same image and write different parts of the state. With a scan gate
    (``--fail-on``) the build stage scans before anything is pushed, so this never happens then.
    """
    if state.analysis is None or state.dockerfile is None:
        return "analyze"
    if not build_is_current(state):
        return "buildsec"
    push = bool(state.options.registry and not state.images.pushed)
    if scan_pending(state):
        return ["buildsec", "infra"] if push else "buildsec"
    if push:
        return "infra"
    if state.manifests is None:
        return "deploy"
    return END


def _validate_options(state: Session) -> None:
    if state.options.image:
        parse_image_ref(state.options.image)
    if state.options.registry:
        parse_registry(state.options.registry)


def make_orch(policy: Sequence[RecoveryRule]) -> Callable[[Session], Command[Any]]:
    def orch(state: Session) -> Command[Any]:
        """Route: validate input once, recover from a failure by the policy, or take the next stage."""
        sink = progress_sink()
        if state.status != "running":
            return Command(goto=END)
        if state.failure is None:  # cheap; also catches options of a session being retried
            try:
                _validate_options(state)
            except ContainerKitError as exc:
                t = now()
                return Command(
                    goto=END,
                    update={
                        "status": "failed",
                        "errors": [ErrorRecord(stage="orch", code=exc.code, message=exc.message, hint=exc.hint)],
                        "history": [StageRecord(stage="orch", start=t, end=t, duration_s=0, ok=False, error=str(exc))],
                    },
                )
        if state.failure is not None:
            return _recover(state, policy, sink)
        nxt = decide_next(state)
        if nxt == END:
            sink({"kind": "stage", "stage": "orch", "status": "succeeded"})
            return Command(goto=END, update={"status": "succeeded", "updated": now()})
        return Command(goto=nxt)

    return orch


def _recover(state: Session, policy: Sequence[RecoveryRule], sink: Any) -> Command[Any]:
    f = state.failure
    assert f is not None
    rule = next((r for r in policy if _matches(r, f.stage, f.code, f.kind)), None)
    action = rule.action if rule else "fail"
    counter = f"{action}:{f.stage}"
    used = state.attempts.get(counter, 0)
    limit = rule.limit if rule and rule.limit is not None else state.options.max_fix_attempts
    if action != "fail" and used < limit:
        number = len(state.recovery) + 1
        attempt = Attempt(
            number=number,
            failed_stage=f.stage,
            code=f.code,
            cause=f.kind,
            action=action,
            detail=f.message[:500],
            build_failure=f.build,
        )
        sink(
            {"kind": "stage", "stage": "orch", "status": "recovering", "message": f"{action} after {f.code} ({f.kind})"}
        )
        update: dict[str, Any] = {
            "attempts": {counter: used + 1},
            "recovery": [*state.recovery, attempt],
            "failure": None,  # consumed: the attempt carries what the fixer needs
        }
        return Command(goto="analyze" if action == "fix_dockerfile" else f.stage, update=update)
    errors: list[ErrorRecord] = []
    if action != "fail":
        errors.append(
            ErrorRecord(
                stage="orch",
                code="CK901",
                message=f"gave up after {used} recovery attempt(s); last failure: [{f.code}] {f.message[:300]}",
                hint="Every attempt is recorded (`containerkit sessions show ID`); fix the cause and run again.",
            )
        )
    sink({"kind": "stage", "stage": "orch", "status": "failed", "message": f"[{f.code}] {f.message}"})
    return Command(goto=END, update={"status": "failed", "errors": errors, "failure": None, "updated": now()})
