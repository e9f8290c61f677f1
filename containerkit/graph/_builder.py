"""Building the StateGraph: five nodes, a hub-and-spoke shape with ``orch`` at the hub."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, cast

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from containerkit.agents import Deps, Strategy, analyze, buildsec, deploy, infra, make_orch
from containerkit.graph.recovery import DEFAULT_RECOVERY
from containerkit.state import Session

__all__ = ["build_graph"]


def build_graph(
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    *,
    recovery: Sequence[Strategy] = DEFAULT_RECOVERY,
    llm: Any | None = None,
    default_deps: Callable[[], Deps] | None = None,
    **compile_options: Any,
) -> CompiledStateGraph[Session, Deps, Any, Any]:
    """The compiled workflow. Run it with ``context=Deps(...)`` and a ``thread_id`` (the session id).

    Every agent returns to ``orch``, which picks the next node from the state (or ``END``), so a
    resumed session continues exactly where its last checkpoint left it. ``llm`` (any LangChain chat
    model) is used by nodes whose run context has none: it proposes, the agents validate.
    ``default_deps`` makes the run context of a caller that cannot pass a ``Deps`` (a LangGraph
    server, whose runs carry JSON): nodes whose context is not a ``Deps`` get ``default_deps()``.
    """
    # with default_deps the caller passes JSON (or nothing) as context: no schema to build it from
    g: StateGraph[Session, Deps, Any, Any] = StateGraph(
        Session, context_schema=Deps if default_deps is None else cast(Any, None)
    )
    # cast: LangGraph's node protocols want keyword-only ``runtime``; ours take it positionally
    g.add_node(
        "orch",
        cast(Any, _with_context(make_orch(recovery), llm, default_deps)),
        destinations=("analyze", "buildsec", "infra", "deploy", END),
    )
    for stage, fn in (("analyze", analyze), ("buildsec", buildsec), ("infra", infra), ("deploy", deploy)):
        g.add_node(stage, cast(Any, _with_context(fn, llm, default_deps)))
    g.add_edge(START, "orch")
    for node in ("analyze", "buildsec", "infra", "deploy"):
        g.add_edge(node, "orch")
    return g.compile(checkpointer=checkpointer, **compile_options)


def _with_context(
    fn: Callable[[Session, Runtime[Deps]], Any], llm: Any | None, default_deps: Callable[[], Deps] | None
) -> Callable[[Session, Runtime[Deps]], Any]:
    """The node, seeing ``default_deps()`` when the caller passed no ``Deps``, and ``llm`` when its context has no model."""
    if llm is None and default_deps is None:
        return fn

    def node(state: Session, runtime: Runtime[Deps]) -> Any:
        if default_deps is not None and not isinstance(runtime.context, Deps):
            runtime = runtime.override(context=default_deps())
        if llm is not None and runtime.context is not None and runtime.context.llm is None:
            runtime = runtime.override(context=dataclasses.replace(runtime.context, llm=llm))
        return fn(state, runtime)

    node.__name__ = getattr(fn, "__name__", "node")
    return node
