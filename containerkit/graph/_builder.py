"""Building the StateGraph: five nodes, a hub-and-spoke shape with ``orch`` at the hub."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from containerkit.agents import Deps, Strategy, analyze, buildsec, deploy, infra, make_orch
from containerkit.graph.recovery import DEFAULT_RECOVERY
from containerkit.state import Session

__all__ = ["build_graph"]


def build_graph(
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    *,
    recovery: Sequence[Strategy] = DEFAULT_RECOVERY,
    **compile_options: Any,
) -> CompiledStateGraph[Session, Deps, Any, Any]:
    """The compiled workflow. Run it with ``context=Deps(...)`` and a ``thread_id`` (the session id).

    Every agent returns to ``orch``, which picks the next node from the state (or ``END``), so a
    resumed session continues exactly where its last checkpoint left it.
    """
    g: StateGraph[Session, Deps, Any, Any] = StateGraph(Session, context_schema=Deps)
    # cast: LangGraph's node protocols want keyword-only ``runtime``; ours take it positionally
    g.add_node("orch", cast(Any, make_orch(recovery)), destinations=("analyze", "buildsec", "infra", "deploy", END))
    for stage, fn in (("analyze", analyze), ("buildsec", buildsec), ("infra", infra), ("deploy", deploy)):
        g.add_node(stage, cast(Any, fn))
    g.add_edge(START, "orch")
    for node in ("analyze", "buildsec", "infra", "deploy"):
        g.add_edge(node, "orch")
    return g.compile(checkpointer=checkpointer, **compile_options)
