"""Running and resuming sessions: the one place that streams the graph, for every face.

Checkpoints are written synchronously after each step (``durability="sync"``), so a process
killed mid-build resumes from the last finished stage.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig

from containerkit.agents import Deps
from containerkit.errors import SessionNotResumable
from containerkit.graph._builder import build_graph
from containerkit.graph.sessions import SessionStore
from containerkit.settings import Settings
from containerkit.state import RunOptions, Session
from containerkit.tools.analyze import check_repo_path

__all__ = ["EventHandler", "new_session_id", "resume_session", "run_session"]

EventHandler = Callable[[dict[str, Any]], None]
RECURSION_LIMIT = 200


def new_session_id() -> str:
    return secrets.token_hex(6)


def _stream(
    store: SessionStore, deps: Deps, session_id: str, inputs: dict[str, Any] | None, on_event: EventHandler
) -> Session:
    graph = build_graph(checkpointer=store.saver)
    config: RunnableConfig = {"configurable": {"thread_id": session_id}, "recursion_limit": RECURSION_LIMIT}
    for mode, payload in graph.stream(
        inputs, config, context=deps, stream_mode=["custom", "updates"], durability="sync"
    ):
        if mode == "custom" and isinstance(payload, dict):
            on_event(payload)
    return store.load(session_id)


def run_session(
    repo: str | Path,
    options: RunOptions,
    *,
    settings: Settings,
    deps: Deps | None = None,
    on_event: EventHandler = lambda _e: None,
    session_id: str | None = None,
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
        return _stream(store, deps or Deps(settings=settings), sid, initial.model_dump(), on_event)


def resume_session(
    session_id: str,
    *,
    settings: Settings,
    deps: Deps | None = None,
    on_event: EventHandler = lambda _e: None,
) -> Session:
    """Continue a session from its last checkpoint; finished stages are not run again.

    A failed session runs again from the first stage whose result is missing (after the user fixed
    the cause: started the registry, edited the Dockerfile); what succeeded is kept.
    """
    with SessionStore(settings.sessions_db) as store:
        sid = store.resolve(session_id)
        state = store.load(sid)
        if state.status == "succeeded":
            raise SessionNotResumable(f"session {sid} has succeeded; there is nothing to resume", session_id=sid)
        if state.status == "failed":
            on_event({"kind": "session", "status": "retrying", "message": sid})
            return _stream(
                store, deps or Deps(settings=settings), sid, {"status": "running", "failure": None}, on_event
            )
        snapshot = build_graph(checkpointer=store.saver).get_state({"configurable": {"thread_id": sid}})
        if not snapshot.next:
            raise SessionNotResumable(f"session {sid} has no pending stage", session_id=sid)
        on_event({"kind": "session", "status": "resumed", "message": sid, "data": {"next": list(snapshot.next)}})
        return _stream(store, deps or Deps(settings=settings), sid, None, on_event)
