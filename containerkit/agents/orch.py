"""The orchestrator: decides every next step from the state, and owns the recovery branches.

The recovery policy is data (one ``Strategy`` row per failure category) handed in by the graph, so
"what happens when X fails" is answered in one table (``containerkit/graph/recovery.py``), not
spread over agents. A failure's category comes from evidence (``containerkit.tools.diagnose``);
this module only reads the table: fix (send it to the agent that can change the cause), retry (a
transient fault, with exponential backoff and jitter), config (the app needs values nobody can
guess: ``needs_config``), or user (stop with a precise hint).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from containerkit.agents._common import deployed_image
from containerkit.agents._deps import Deps
from containerkit.agents._stage import progress_sink
from containerkit.errors import ContainerKitError
from containerkit.state import Approval, Attempt, ErrorRecord, Failure, Session, StageRecord, now
from containerkit.tools.images import parse_image_ref, parse_registry
from containerkit.tools.retry import backoff_delay

__all__ = [
    "NEXT_STAGES",
    "Handling",
    "RecoveryRule",
    "Strategy",
    "backoff_delay",
    "build_is_current",
    "decide_next",
    "deploy_pending",
    "dockerfile_sha",
    "make_orch",
    "parse_decision",
    "scan_pending",
    "verify_pending",
]

Handling = Literal["fix", "retry", "config", "user"]
NEXT_STAGES = ("analyze", "buildsec", "infra", "deploy")


class Strategy(NamedTuple):
    """How a category of failure is answered.

    ``stages``: the agent stages it is expected from (a row never fires for another stage);
    ``agent``: who acts for ``fix`` (``analyze`` changes the Dockerfile) -- a ``retry`` re-runs the
    failed stage; ``limit``: attempts for this category in one run (the run's ``max_fix_attempts``
    bounds all fixes together); ``backoff_s``: first retry delay, doubled each time, with jitter.
    """

    category: str
    stages: frozenset[str]
    handling: Handling
    agent: str | None = None
    limit: int = 2
    backoff_s: float = 0.0
    hint: str = ""


RecoveryRule = Strategy
"""The name the graph's first recovery table used."""


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


def verify_pending(state: Session) -> bool:
    """The current image has not been seen to start and answer (a failed verify is tried again on resume)."""
    return (
        state.options.verify
        and state.build is not None
        and (state.verify is None or state.verify.image_id != state.build.image_id or not state.verify.passed)
    )


def _gated(state: Session) -> bool:
    return bool(state.options.fail_on)


def decide_next(state: Session) -> str | list[str]:
    """The first stage whose result is missing or stale; ``END`` when everything is done.

    Nothing is pushed before the image was verified (when verify is on) and, with a scan gate, before
    its verdict passed. Without a gate, an image that still needs its scan and its push gets both at
    once (``["buildsec", "infra"]``): they read the same image and write different parts of the state.
    """
    if state.analysis is None or state.dockerfile is None:
        return "analyze"
    if not build_is_current(state) or verify_pending(state):
        return "buildsec"
    push = bool(state.options.registry and not state.images.pushed)
    if scan_pending(state):
        return ["buildsec", "infra"] if push and not _gated(state) else "buildsec"
    if push:
        return "infra"
    if state.manifests is None or deploy_pending(state):
        return "deploy"
    return END


def deploy_pending(state: Session) -> bool:
    """``--deploy`` asked for, and the image the manifests name is not running Ready on the cluster yet."""
    if not state.options.deploy:
        return False
    d = state.deployment
    return d is None or not d.ready or d.image != deployed_image(state)


def _validate_options(state: Session) -> None:
    if state.options.image:
        parse_image_ref(state.options.image)
    if state.options.registry:
        parse_registry(state.options.registry)


def parse_decision(value: object) -> tuple[bool, str]:
    """A resume value -> (approved, note). Accepts True/False, "yes"/"no", or {"approved": bool, "note": str}."""
    if isinstance(value, dict):
        return bool(value.get("approved")), str(value.get("note", ""))
    if isinstance(value, str):
        return value.strip().lower() in ("y", "yes", "approve", "approved", "true", "ok"), ""
    return bool(value), ""


def _step_of(goto: str | list[str]) -> str | None:
    """The approvable step a routing decision starts: a push (infra) or the deploy."""
    targets = [goto] if isinstance(goto, str) else goto
    if "infra" in targets:
        return "push"
    if "deploy" in targets:
        return "deploy"
    return None


def _ask(state: Session, step: str) -> dict[str, Any] | None:
    """Wait for a person when the run asked for approval of ``step``; the update recording the answer."""
    if step not in state.options.approve or any(a.step == step for a in state.approvals):
        return None
    image = state.images.local or (state.build.tags[0] if state.build and state.build.tags else None)
    question = {
        "kind": "approval",
        "step": step,
        "session_id": state.session_id,
        "image": image,
        "registry": state.options.registry,
        "verify": state.verify.reason if state.verify else None,
        "scan": state.scan.counts if state.scan else None,
    }
    approved, note = parse_decision(interrupt(question))
    return {"approvals": [*state.approvals, Approval(step=step, approved=approved, note=note)]}


def make_orch(policy: Sequence[Strategy]) -> Callable[..., Command[Any]]:
    def orch(state: Session, runtime: Runtime[Deps] | None = None) -> Command[Any]:
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
            llm = runtime.context.llm if runtime is not None and runtime.context is not None else None
            return _recover(state, policy, sink, llm)
        nxt = decide_next(state)
        if nxt == END:
            sink({"kind": "stage", "stage": "orch", "status": "succeeded"})
            return Command(goto=END, update={"status": "succeeded", "updated": now(), "recovery": _settle(state)})
        step = _step_of(nxt)
        if step is not None:
            answer = _ask(state, step)
            if answer is not None:
                approval: Approval = answer["approvals"][-1]
                sink(
                    {
                        "kind": "approval",
                        "stage": "orch",
                        "status": "approved" if approval.approved else "declined",
                        "message": step,
                    }
                )
                if not approval.approved:
                    return Command(goto=END, update={**answer, "status": "stopped", "updated": now()})
                return Command(goto=nxt, update=answer)
        return Command(goto=nxt)

    return orch


def _settle(state: Session, outcome: str = "succeeded") -> list[Attempt]:
    """The recovery list with the last open attempt's outcome filled in."""
    if not state.recovery or state.recovery[-1].outcome is not None:
        return list(state.recovery)
    return [*state.recovery[:-1], state.recovery[-1].model_copy(update={"outcome": outcome})]


def _config_from_code(state: Session, f: Failure) -> Failure:
    """A crash at start asking for a value the code reads without default: missing configuration."""
    from containerkit.tools.diagnose import config_from_code

    assert f.diagnosis is not None
    names = [n for n in _names_in_code(state) if n not in state.options.env_names]
    diag = config_from_code(f.diagnosis, f.build.log_tail if f.build else "", names, _documented(state))
    return f.model_copy(update={"diagnosis": diag, "kind": diag.category}) if diag is not f.diagnosis else f


def _has_container_default(names: list[str], state: Session) -> bool:
    """Every missing variable has the one value a container needs (HOST=0.0.0.0): a fix, not a question."""
    from containerkit.tools.dockerfile.fix import CONTAINER_DEFAULTS

    return bool(names) and all(n in CONTAINER_DEFAULTS for n in names) and not state.attempts.get("fix:missing_config")


def _documented(state: Session) -> tuple[str, list[str]] | None:
    """The module's ``.env.example`` (or kin) and the names it lists."""
    from pathlib import Path

    from containerkit.tools.diagnose.config import documented_env_names

    if state.analysis is None:
        return None
    module = state.analysis.primary() if not state.options.module else None
    return documented_env_names(Path(state.repo_path) / (module.path if module else state.options.module or "."))


def _names_in_code(state: Session) -> list[str]:
    """Variables the module's code reads without a default (named at once, not one per failed start)."""
    from pathlib import Path

    from containerkit.tools.diagnose.config import required_env_names

    if state.analysis is None:
        return []
    module = state.analysis.primary() if not state.options.module else None
    folder = Path(state.repo_path) / (module.path if module else state.options.module or ".")
    return required_env_names(folder)


def _strategy(policy: Sequence[Strategy], category: str | None, stage: str) -> Strategy | None:
    if category is None:
        return None
    return next((s for s in policy if s.category == category and stage in s.stages), None)


def _end(state: Session, status: str, errors: list[ErrorRecord], sink: Any, update: dict[str, Any]) -> Command[Any]:
    f = state.failure
    assert f is not None
    if f.kind:
        evidence = list(f.diagnosis.evidence) if f.diagnosis else []
        errors = [e.model_copy(update={"category": f.kind, "evidence": evidence}) for e in errors]
    sink({"kind": "stage", "stage": "orch", "status": status, "message": f"[{f.code}] {f.message}"})
    return Command(goto=END, update={"status": status, "errors": errors, "failure": None, "updated": now(), **update})


def _ask_llm(state: Session, llm: Any, why: str) -> tuple[str | None, dict[str, int]]:
    """For a failure no rule explains, the model may choose among the allowed steps (validated)."""
    from containerkit.tools.llm import StepChoice, choose_step

    f = state.failure
    assert f is not None
    answer = choose_step(
        llm,
        allowed=["fix_dockerfile", "stop"],
        situation=f"{f.stage} failed with [{f.code}] {f.message}{why}\n"
        f"Dockerfile origin: {state.dockerfile.origin if state.dockerfile else '-'}; "
        f"recovery attempts so far: {len(state.recovery)}",
    )
    usage = {k: state.llm_usage.get(k, 0) + v for k, v in answer.usage.items()}
    return (answer.value.step if isinstance(answer.value, StepChoice) else None), usage


def _recover(state: Session, policy: Sequence[Strategy], sink: Any, llm: Any = None) -> Command[Any]:
    f = state.failure
    assert f is not None
    if f.code == "CK206" and f.diagnosis is not None and f.kind in ("app_error", "unknown"):
        f = _config_from_code(state, f)
        state = state.model_copy(update={"failure": f})
    diag = f.diagnosis
    category = f.kind
    recovery = _settle(state, f"failed again: {category or f.code}")
    evidence = list(diag.evidence) if diag else []
    strat = _strategy(policy, category, f.stage)
    shown = f" ({category})" if category else ""
    why = f"; evidence: {' | '.join(evidence)[:400]}" if evidence else ""
    if strat is None:
        # not a category any row answers (bad input, an unclassified stage error): the error's own hint
        return _end(state, "failed", [], sink, {"recovery": recovery})
    extra: dict[str, Any] = {}
    if category == "unknown" and llm is not None:
        step, usage = _ask_llm(state, llm, why)
        extra["llm_usage"] = usage
        if step == "stop":
            err = ErrorRecord(
                stage="orch",
                code="CK902",
                message=f"{f.stage} failed for a cause no rule knows; the model advised to stop: {f.message[:300]}",
                hint=strat.hint or "Read the log tail in `containerkit sessions show ID`.",
            )
            return _end(state, "failed", [err], sink, {"recovery": recovery, **extra})
    if strat.handling == "config" and diag and _has_container_default(diag.names, state):
        strat = strat._replace(handling="fix", agent="analyze", limit=1)
    if strat.handling == "config":
        names = list(diag.names) if diag else []
        names += [n for n in state.needs if n not in names]
        names += [n for n in _names_in_code(state) if n not in names and n not in state.options.env_names]
        hint = (
            f"Pass them with --env {names[0]}=... (or --env-file FILE) and `containerkit resume {state.session_id}`."
            if names
            else strat.hint
        )
        err = ErrorRecord(
            stage="orch",
            code="CK903",
            message=f"the app needs configuration to start{': ' + ', '.join(names) if names else ''}{why}",
            hint=hint,
        )
        return _end(state, "needs_config", [err], sink, {"needs": names, "recovery": recovery})
    if strat.handling == "user":
        # the stage's own code, with the category, its evidence and the table's hint
        err = ErrorRecord(
            stage="orch",
            code=f.code,
            message=f"{f.stage} failed{shown}: {f.message[:300]}{why}",
            hint=strat.hint or "Fix the cause named in the evidence and run again.",
        )
        return _end(state, "failed", [err], sink, {"recovery": recovery})
    counter = f"{strat.handling}:{category}"
    used = state.attempts.get(counter, 0)
    fixes = sum(v for k, v in state.attempts.items() if k.startswith("fix:"))
    over_total = strat.handling == "fix" and fixes >= state.options.max_fix_attempts
    if used >= strat.limit or over_total:
        err = ErrorRecord(
            stage="orch",
            code="CK901",
            message=f"gave up after {len(state.recovery)} recovery attempt(s); last failure{shown}: "
            f"[{f.code}] {f.message[:300]}{why}",
            hint=strat.hint
            or "Every attempt is recorded (`containerkit sessions show ID`); fix the cause and run again.",
        )
        return _end(state, "failed", [err], sink, {"recovery": recovery})
    action = "fix_dockerfile" if strat.handling == "fix" else "retry"
    attempt = Attempt(
        number=len(state.recovery) + 1,
        failed_stage=f.stage,
        code=f.code,
        cause=category,
        action=action,
        detail=f.message[:500],
        build_failure=f.build,
        evidence=evidence,
        diagnosis=diag,
        agent=strat.agent if strat.handling == "fix" else f.stage,
    )
    sink({"kind": "stage", "stage": "orch", "status": "recovering", "message": f"{action} after {f.code}{shown}"})
    if strat.handling == "retry" and strat.backoff_s > 0:
        time.sleep(backoff_delay(used, strat.backoff_s))
    update: dict[str, Any] = {
        **extra,
        "attempts": {counter: used + 1},
        "recovery": [*recovery, attempt],
        "failure": None,  # consumed: the attempt carries what the fixer needs
    }
    return Command(goto=(strat.agent or "analyze") if strat.handling == "fix" else f.stage, update=update)


def dockerfile_sha(content: str) -> str:
    return hashlib.sha256(content.strip().encode()).hexdigest()[:16]
