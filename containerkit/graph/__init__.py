"""The workflow graph: building it, its recovery policy, running and resuming sessions.

Names are imported on first use (PEP 562): ``containerkit.graph.rerun`` answers a rerun with
nothing changed without paying for LangGraph's import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from containerkit._lazy import lazy_attributes

if TYPE_CHECKING:
    from containerkit.graph._builder import build_graph
    from containerkit.graph.admin import delete_sessions, export_session, prune_sessions, session_stats
    from containerkit.graph.recovery import DEFAULT_RECOVERY
    from containerkit.graph.runner import (
        EventHandler,
        deploy_session,
        new_session_id,
        resume_session,
        run_session,
        undeploy_session,
    )
    from containerkit.graph.sessions import SessionFilter, SessionInfo, SessionStore

__all__ = [
    "DEFAULT_RECOVERY",
    "EventHandler",
    "SessionFilter",
    "SessionInfo",
    "SessionStore",
    "build_graph",
    "delete_sessions",
    "deploy_session",
    "export_session",
    "new_session_id",
    "prune_sessions",
    "resume_session",
    "run_session",
    "session_stats",
    "undeploy_session",
]

_HOME = {
    "build_graph": "_builder",
    "delete_sessions": "admin",
    "export_session": "admin",
    "prune_sessions": "admin",
    "session_stats": "admin",
    "DEFAULT_RECOVERY": "recovery",
    "EventHandler": "runner",
    "deploy_session": "runner",
    "new_session_id": "runner",
    "resume_session": "runner",
    "run_session": "runner",
    "undeploy_session": "runner",
    "SessionFilter": "sessions",
    "SessionInfo": "sessions",
    "SessionStore": "sessions",
}


__getattr__ = lazy_attributes(__name__, _HOME)
