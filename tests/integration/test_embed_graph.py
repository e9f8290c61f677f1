"""containerkit's graph inside a user's own StateGraph: progress events reach the parent's stream, and an
approval interrupt pauses the parent and is answered through it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from containerkit.agents import Deps
from containerkit.graph import build_graph
from containerkit.settings import Settings
from containerkit.state import RunOptions, Session


class Release(TypedDict, total=False):
    """The user's own state: a repository in, a verdict out."""

    repo: str
    registry: str | None
    status: str
    digest: str | None
    errors: list[str]
    notes: list[str]


def release_graph(settings: Settings) -> Any:
    """The pattern the README shows: containerkit's graph called from a node, sharing the parent's checkpointer."""
    containerkit = build_graph()  # no checkpointer: it uses the parent's

    def containerize(state: Release, config: RunnableConfig) -> dict[str, Any]:
        options = RunOptions(registry=state.get("registry"), approve=["push"] if state.get("registry") else [])
        session = Session(session_id="release-1", repo_path=state["repo"], options=options)
        out = containerkit.invoke(session.model_dump(), config, context=Deps(settings=settings))
        result = Session.model_validate(out)
        return {"status": result.status, "digest": result.images.digest, "errors": [e.code for e in result.errors]}

    def announce(state: Release) -> dict[str, Any]:
        return {"notes": [f"release {state['status']}"]}

    g = StateGraph(Release)
    g.add_node("containerize", containerize)
    g.add_node("announce", announce)
    g.add_edge(START, "containerize")
    g.add_edge("containerize", "announce")
    g.add_edge("announce", END)
    return g.compile(checkpointer=InMemorySaver())


def test_progress_events_of_the_embedded_graph_stream_to_the_parent(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("no app here\n")
    app = release_graph(Settings.load({"CONTAINERKIT_HOME": str(tmp_path / "home")}))
    config: RunnableConfig = {"configurable": {"thread_id": "t1"}}
    events, updates = [], []
    for ns, mode, payload in app.stream(
        {"repo": str(empty)}, config, stream_mode=["custom", "updates"], subgraphs=True
    ):
        (events if mode == "custom" else updates).append((ns, payload))
    stages = [(p["stage"], p["status"]) for ns, p in events if p.get("kind") == "stage"]
    assert ("analyze", "started") in stages and ("analyze", "failed") in stages
    assert all(ns and ns[0].startswith("containerize:") for ns, _ in events)  # namespaced under the parent's node
    final = app.get_state(config).values
    assert final["status"] == "failed" and final["errors"] == ["CK103"] and final["notes"] == ["release failed"]


@pytest.mark.integration
@pytest.mark.slow
def test_an_approval_interrupt_pauses_the_parent_and_its_resume_finishes_the_push(
    tmp_path: Path, registry: str, example_copy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTAINERKIT_PULL_POLICY", "never")
    app = release_graph(
        Settings.load({"CONTAINERKIT_HOME": str(tmp_path / "home"), "CONTAINERKIT_PULL_POLICY": "never"})
    )
    config: RunnableConfig = {"configurable": {"thread_id": "t2"}}
    first = list(app.stream({"repo": str(example_copy("python-http")), "registry": registry}, config))
    interrupts = [c["__interrupt__"] for c in first if "__interrupt__" in c]
    assert interrupts and interrupts[0][0].value["step"] == "push"
    assert app.get_state(config).next == ("containerize",)
    list(app.stream(Command(resume={"approved": True, "note": "release manager"}), config))
    final = app.get_state(config).values
    assert final["status"] == "succeeded", final["errors"]
    assert str(final["digest"]).startswith("sha256:") and final["notes"] == ["release succeeded"]
