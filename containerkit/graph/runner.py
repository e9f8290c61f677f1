"""Running and resuming sessions: the one place that streams the graph, for every face.

Checkpoints are written synchronously after each step (``durability="sync"``), so a process
killed mid-build resumes from the last finished stage. A run that asked for approval pauses at a
LangGraph ``interrupt()``: an ``approver`` answers at once (the CLI asks on the terminal), or the
run returns with ``awaiting`` set and ``resume_session(id, decision=...)`` carries on later.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from containerkit.agents import Deps
from containerkit.errors import InvalidOption, RunCancelled, SessionNotResumable
from containerkit.graph._builder import build_graph
from containerkit.graph.locks import repo_lock
from containerkit.graph.rerun import RunFingerprint, fingerprint_run, remember_run, reusable
from containerkit.graph.sessions import SessionStore
from containerkit.graph.speculate import remember_build
from containerkit.graph.tracing import configure_tracing, run_span
from containerkit.settings import Settings
from containerkit.state import ErrorRecord, RunOptions, Session
from containerkit.tools.analyze import check_repo_path

__all__ = [
    "Approver",
    "EventHandler",
    "deploy_session",
    "new_session_id",
    "pending_question",
    "resume_session",
    "run_session",
    "undeploy_session",
]

EventHandler = Callable[[dict[str, Any]], None]
Approver = Callable[[dict[str, Any]], object]
"""Answers an approval question (``{"step": "push", "image": ...}``): True/False or {"approved", "note"}."""
RECURSION_LIMIT = 200


def new_session_id() -> str:
    return secrets.token_hex(6)


def _pending(graph: Any, config: RunnableConfig) -> dict[str, Any] | None:
    """The question an interrupted run waits on, or None."""
    snapshot = graph.get_state(config)
    for task in snapshot.tasks:
        for intr in task.interrupts:
            value = intr.value
            return dict(value) if isinstance(value, dict) else {"question": value}
    return None


def pending_question(graph: Any, session_id: str) -> dict[str, Any] | None:
    """The approval question a paused session waits on (``graph`` compiled on the session store), or None."""
    return _pending(graph, {"configurable": {"thread_id": session_id}})


def _warn(on_event: EventHandler) -> Callable[[str], None]:
    return lambda message: on_event({"kind": "warning", "stage": "orch", "message": message})


def _stream(
    store: SessionStore,
    deps: Deps,
    session_id: str,
    inputs: Any,
    on_event: EventHandler,
    approver: Approver | None = None,
    *,
    span_name: str = "run",
) -> Session:
    configure_tracing(warn=_warn(on_event))
    with run_span(span_name, session_id) as span:
        session = _stream_graph(store, deps, session_id, inputs, on_event, approver)
        span.set_attribute("containerkit.status", str(session.summary()["status"]))
        return session


def _stream_graph(
    store: SessionStore,
    deps: Deps,
    session_id: str,
    inputs: Any,
    on_event: EventHandler,
    approver: Approver | None,
) -> Session:
    graph = build_graph(checkpointer=store.saver)
    config: RunnableConfig = {"configurable": {"thread_id": session_id}, "recursion_limit": RECURSION_LIMIT}
    while True:
        stream = graph.stream(inputs, config, context=deps, stream_mode=["custom", "updates"], durability="sync")
        try:
            for mode, payload in stream:
                if mode == "custom" and isinstance(payload, dict):
                    on_event(payload)
        except RunCancelled:
            # the caller went away: stop scheduling stages; what finished is checkpointed, and the
            # session stays resumable from the first stage without a result
            close = getattr(stream, "close", None)  # a generator: ends LangGraph's loop and its workers
            if callable(close):
                close()
            # recorded as a failure the caller caused: `resume` retries from the first stage without a result
            err = ErrorRecord(
                stage="orch",
                code=RunCancelled.code,
                message="the caller cancelled the run before it finished",
                hint=RunCancelled.default_hint,
            )
            graph.update_state(config, {"status": "failed", "errors": [err]}, as_node="orch")
            return store.load(session_id)
        question = _pending(graph, config)
        if question is None:
            return store.load(session_id)
        on_event(
            {
                "kind": "approval",
                "stage": "orch",
                "status": "waiting",
                "message": str(question.get("step", "")),
                "data": question,
            }
        )
        if approver is None:  # the caller answers later: resume_session(id, decision=...)
            return store.load(session_id).model_copy(update={"awaiting": question})
        inputs = Command(resume=approver(question))


def run_session(
    repo: str | Path,
    options: RunOptions,
    *,
    settings: Settings,
    deps: Deps | None = None,
    on_event: EventHandler = lambda _e: None,
    session_id: str | None = None,
    approver: Approver | None = None,
    labels: Mapping[str, str] | None = None,
) -> Session:
    """Start a session for ``repo``; the session is saved even when the input is bad.

    Another run of the same repository in progress (any process) is :class:`RepoBusy`, raised
    before anything is written; runs of other repositories share the store.
    """
    sid = session_id or new_session_id()
    path = Path(repo).expanduser()
    try:
        repo_path = str(check_repo_path(path))
    except Exception:  # noqa: BLE001 - the analyze agent records the typed error in the session
        repo_path = str(path.absolute())
    initial = Session(session_id=sid, repo_path=repo_path, options=options, labels=dict(labels or {}))
    deps = deps or Deps(settings=settings)
    with repo_lock(settings.home, repo_path, sid), SessionStore(settings.sessions_db) as store:
        on_event({"kind": "session", "status": "started", "message": sid})
        before = _fingerprint(Path(repo_path), options, deps, initial.labels)
        session = _stream(store, deps, sid, initial.model_dump(), on_event, approver)
        if before is not None and session.status == "succeeded":
            _remember(session, before, deps, on_event)
        with contextlib.suppress(Exception):  # a hint for the next cold run, never a failure of this one
            remember_build(session, deps.settings)
        return session


def _fingerprint(repo: Path, options: RunOptions, deps: Deps, labels: Mapping[str, str]) -> RunFingerprint | None:
    """The repository and inputs as the run starts, for :func:`remember_run` (None: not a reusable run)."""
    if not reusable(options) or not repo.is_dir():
        return None
    try:
        return fingerprint_run(repo, options, deps.settings, env=deps.env, labels=labels)
    except OSError:
        return None


def _remember(session: Session, before: RunFingerprint, deps: Deps, on_event: EventHandler) -> None:
    """Keep the succeeded result for a rerun with nothing changed; a failure here never fails the run."""
    try:
        remember_run(session, before, deps.settings, deps.docker, env=deps.env)
    except Exception as exc:  # noqa: BLE001 - a cache: the run's result stands either way
        _warn(on_event)(f"the result is not kept for reruns: {exc}")


def resume_session(
    session_id: str,
    *,
    settings: Settings,
    deps: Deps | None = None,
    on_event: EventHandler = lambda _e: None,
    decision: object = None,
    approver: Approver | None = None,
    options: Mapping[str, Any] | None = None,
) -> Session:
    """Continue a session from its last checkpoint; finished stages are not run again.

    A failed (or ``needs_config``) session runs again from the first stage whose result is missing
    (after the user fixed the cause: started the registry, passed ``--env``); what succeeded is kept.
    A paused one takes ``decision`` as the answer to its question (or asks ``approver``).
    ``options`` updates run options on a retry (e.g. the names of a newly passed environment).
    """
    deps = deps or Deps(settings=settings)
    with SessionStore(settings.sessions_db) as store:
        sid = store.resolve(session_id)
        state = store.load(sid)
    with repo_lock(settings.home, state.repo_path, sid), SessionStore(settings.sessions_db) as store:
        state = store.load(sid)  # what the store holds now that no other run can change it
        if state.status in ("succeeded", "stopped"):
            raise SessionNotResumable(f"session {sid} has {state.status}; there is nothing to resume", session_id=sid)
        if state.status in ("failed", "needs_config"):
            on_event({"kind": "session", "status": "retrying", "message": sid})
            update: dict[str, Any] = {"status": "running", "failure": None}
            if options:
                update["options"] = state.options.model_copy(update=dict(options)).model_dump()
            return _stream(store, deps, sid, update, on_event, approver, span_name="resume")
        graph = build_graph(checkpointer=store.saver)
        config: RunnableConfig = {"configurable": {"thread_id": sid}}
        question = _pending(graph, config)
        if question is not None:
            if decision is None and approver is None:
                return state.model_copy(update={"awaiting": question})
            answer = decision if decision is not None else approver(question)  # type: ignore[misc]
            on_event({"kind": "session", "status": "resumed", "message": sid, "data": {"answer": str(answer)}})
            return _stream(store, deps, sid, Command(resume=answer), on_event, approver, span_name="resume")
        snapshot = graph.get_state(config)
        if not snapshot.next:
            raise SessionNotResumable(f"session {sid} has no pending stage", session_id=sid)
        on_event({"kind": "session", "status": "resumed", "message": sid, "data": {"next": list(snapshot.next)}})
        return _stream(store, deps, sid, None, on_event, approver, span_name="resume")


def deploy_session(
    session_id: str,
    *,
    settings: Settings,
    deps: Deps | None = None,
    on_event: EventHandler = lambda _e: None,
    approver: Approver | None = None,
    options: Mapping[str, Any] | None = None,
) -> Session:
    """Apply a finished session's image to a cluster (``containerkit deploy ID``), as ``run --deploy`` would.

    The session's analysis, build and push are kept; the graph runs again from its first pending
    stage, which is the deploy (``options`` may set ``kube_context``, ``namespace``, ``k8s_overlay``,
    ``rollback``, ``deploy_timeout``).
    """
    deps = deps or Deps(settings=settings)
    with SessionStore(settings.sessions_db) as store:
        sid = store.resolve(session_id)
        state = store.load(sid)
    with repo_lock(settings.home, state.repo_path, sid), SessionStore(settings.sessions_db) as store:
        state = store.load(sid)
        if not (state.images.pushed or state.images.local) or state.analysis is None:
            raise InvalidOption(
                f"session {sid} has no image to deploy (status {state.status})",
                hint=f"Finish it first (`containerkit resume {sid}`), or start one with `containerkit run PATH --deploy`.",
            )
        if state.status == "running" and not state.failure and state.history:
            graph = build_graph(checkpointer=store.saver)
            if _pending(graph, {"configurable": {"thread_id": sid}}) is not None:
                raise SessionNotResumable(
                    f"session {sid} waits for an approval", hint=f"Answer it: `containerkit resume {sid} --approve`."
                )
        opts = state.options.model_copy(update={**dict(options or {}), "deploy": True})
        on_event({"kind": "session", "status": "deploying", "message": sid})
        # a deploy is always done again (another namespace, a cluster that changed): nothing of a former one counts
        update: dict[str, Any] = {
            "status": "running",
            "failure": None,
            "options": opts.model_dump(),
            "deployment": None,
        }
        return _stream(store, deps, sid, update, on_event, approver, span_name="deploy_session")


def undeploy_session(
    session_id: str, *, settings: Settings, kubeconfig: str | None = None, on_event: EventHandler = lambda _e: None
) -> Session:
    """Delete what the session applied, only objects containerkit still manages; recorded in the session."""
    from containerkit.state import DeploymentStatus
    from containerkit.tools.k8s.cluster import connect
    from containerkit.tools.k8s.models import KubeTarget
    from containerkit.tools.k8s.rollout import undeploy_objects

    with SessionStore(settings.sessions_db) as store:
        sid = store.resolve(session_id)
        state = store.load(sid)
        d = state.deployment
        if d is None or not d.objects:
            raise InvalidOption(
                f"session {sid} applied nothing to a cluster", hint="Only sessions run with --deploy can be undeployed."
            )
        cluster = connect(KubeTarget(kubeconfig=kubeconfig, context=d.context, namespace=d.namespace))
        deleted, kept = undeploy_objects(cluster, d.objects)
        for o in deleted:
            on_event({"kind": "deploy", "stage": "deploy", "message": f"deleted {o.kind} {o.namespace}/{o.name}"})
        for o in kept:
            on_event(
                {
                    "kind": "warning",
                    "stage": "deploy",
                    "message": f"kept {o.kind} {o.namespace}/{o.name}: not containerkit's",
                }
            )
        status = DeploymentStatus.model_validate(
            {
                **d.model_dump(),
                "applied": bool(kept),
                "ready": False,
                "removed": not kept,
                "objects": [o.model_dump() for o in kept],
                "message": f"undeployed: {len(deleted)} object(s) deleted"
                + (f", {len(kept)} kept (not containerkit's)" if kept else ""),
                "url": None,
                "pods": [],
            }
        )
        graph = build_graph(checkpointer=store.saver)
        config: RunnableConfig = {"configurable": {"thread_id": sid}}
        graph.update_state(config, {"deployment": status.model_dump()}, as_node="orch")
        return store.load(sid)
