"""The workflow graph: building it, its recovery policy, running and resuming sessions."""

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
