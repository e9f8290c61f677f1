"""The workflow graph: building it, its recovery policy, running and resuming sessions."""

from containerkit.graph._builder import build_graph
from containerkit.graph.recovery import DEFAULT_RECOVERY
from containerkit.graph.runner import (
    EventHandler,
    deploy_session,
    new_session_id,
    resume_session,
    run_session,
    undeploy_session,
)
from containerkit.graph.sessions import SessionInfo, SessionStore

__all__ = [
    "DEFAULT_RECOVERY",
    "EventHandler",
    "SessionInfo",
    "SessionStore",
    "build_graph",
    "deploy_session",
    "new_session_id",
    "resume_session",
    "run_session",
    "undeploy_session",
]
