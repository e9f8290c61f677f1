"""Running and resuming sessions: the one place that streams the graph, for every face.

Checkpoints are written synchronously after each step (``durability="sync"``), so a process
killed mid-build resumes from the last finished stage. A run that asked for approval pauses at a
LangGraph ``interrupt()``: an ``approver`` answers at once (the CLI asks on the terminal), or the
run returns with ``awaiting`` set and ``resume_session(id, decision=...)`` carries on later.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from containerkit.agents import Deps
from containerkit.errors import SessionNotResumable
from containerkit.graph._builder import build_graph
from containerkit.graph.sessions import SessionStore
from containerkit.settings import Settings
from containerkit.state import RunOptions, Session
from containerkit.tools.analyze import check_repo_path

__all__ = ["Approver", "EventHandler", "new_session_id", "pending_question", "resume_session", "run_session"]

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


def _stream(
    store: SessionStore,
    deps: Deps,
    session_id: str,
    inputs: Any,
    on_event: EventHandler,
    approver: Approver | None = None,
) -> Session:
    graph = build_graph(checkpointer=store.saver)
    config: RunnableConfig = {"configurable": {"thread_id": session_id}, "recursion_limit": RECURSION_LIMIT}
    while True:
        for mode, payload in graph.stream(
            inputs, config, context=deps, stream_mode=["custom", "updates"], durability="sync"
        ):
            if mode == "custom" and isinstance(payload, dict):
                on_event(payload)
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
) -> Session:
    """Start a session for ``repo``; the session is saved even when the input is bad."""
    sid = session_id or new_session_id()
    path = Path(repo).expanduser()
    try:
        repo_path = str(check_repo_path(path))
    except Exception:  # noqa: BLE001 - the analyze agent records the typed error in the session
        repo_path = str(path.absolute())
    on_event({"kind": "session", "status": "started", "message": sid})
    initial = Session(session_id=sid, repo_path=repo_path, options=options)
    with SessionStore(settings.sessions_db) as store:
        return _stream(store, deps or Deps(settings=settings), sid, initial.model_dump(), on_event, approver)


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
        if state.status in ("succeeded", "stopped"):
            raise SessionNotResumable(f"session {sid} has {state.status}; there is nothing to resume", session_id=sid)
        if state.status in ("failed", "needs_config"):
            on_event({"kind": "session", "status": "retrying", "message": sid})
            update: dict[str, Any] = {"status": "running", "failure": None}
            if options:
                update["options"] = state.options.model_copy(update=dict(options)).model_dump()
            return _stream(store, deps, sid, update, on_event, approver)
        graph = build_graph(checkpointer=store.saver)
        config: RunnableConfig = {"configurable": {"thread_id": sid}}
        question = _pending(graph, config)
        if question is not None:
            if decision is None and approver is None:
                return state.model_copy(update={"awaiting": question})
            answer = decision if decision is not None else approver(question)  # type: ignore[misc]
            on_event({"kind": "session", "status": "resumed", "message": sid, "data": {"answer": str(answer)}})
            return _stream(store, deps, sid, Command(resume=answer), on_event, approver)
        snapshot = graph.get_state(config)
        if not snapshot.next:
            raise SessionNotResumable(f"session {sid} has no pending stage", session_id=sid)
        on_event({"kind": "session", "status": "resumed", "message": sid, "data": {"next": list(snapshot.next)}})
        return _stream(store, deps, sid, None, on_event, approver)
