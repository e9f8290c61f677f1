"""The workflow as a LangGraph server serves it: ``langgraph dev`` (``langgraph.json`` at the repository root).

A run's input is a session: ``{"session_id", "repo_path", "options": {...RunOptions}}``; the server's
own checkpointer keeps it (the thread is the session). An approval (``options.approve``) interrupts
the run; ``Command(resume={"approved": true, "note": ...})`` answers it. Runs carry JSON, so the
agents' run context comes from the server's environment: ``CONTAINERKIT_HOME``, ``DOCKER_HOST``,
``CONTAINERKIT_REGISTRY_USER``/``_PASSWORD`` (never in the state).
"""

from __future__ import annotations

import functools
import os

from containerkit.agents import Deps
from containerkit.graph._builder import build_graph
from containerkit.settings import Settings

__all__ = ["graph", "server_deps"]


@functools.cache
def server_deps() -> Deps:
    """One run context per server process (one engine connection)."""
    settings = Settings.load(os.environ)
    user, password = os.environ.get("CONTAINERKIT_REGISTRY_USER"), os.environ.get("CONTAINERKIT_REGISTRY_PASSWORD")
    auth = {"username": user, "password": password} if user and password else None
    return Deps(settings=settings, registry_auth=auth, llm=settings.chat_model())


graph = build_graph(default_deps=server_deps)
