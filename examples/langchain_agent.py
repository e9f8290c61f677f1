"""An agent that uses containerkit's LangChain tools: analyze a repository, then write its Dockerfile.

Offline (the default) the chat model is scripted: it asks for the two tool calls a real model would,
then answers from the results, so the example runs anywhere without a key. With ``--real`` it uses
the model containerkit is configured with (``CONTAINERKIT_LLM_MODEL`` or ``[llm] model`` in
config.toml; needs ``pip install langchain`` and the provider's package).

    python examples/langchain_agent.py [REPO]          # REPO defaults to examples/python-http
    python examples/langchain_agent.py --real [REPO]
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from containerkit.langchain import containerkit_tools
from containerkit.settings import Settings

HERE = Path(__file__).resolve().parent


class ScriptedChatModel(FakeMessagesListChatModel):
    """langchain-core's fake chat model, answering with a fixed list of messages (tool calls included)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        return self


def scripted_model(repo: Path) -> ScriptedChatModel:
    return ScriptedChatModel(
        responses=[
            AIMessage("", tool_calls=[{"name": "analyze_repo", "args": {"path": str(repo)}, "id": "call-1"}]),
            AIMessage("", tool_calls=[{"name": "generate_dockerfile", "args": {"path": str(repo)}, "id": "call-2"}]),
            AIMessage("The repository is analyzed and its Dockerfile is ready (see the tool results above)."),
        ]
    )


def make_agent(model: Any, tools: list[Any]) -> Any:
    """LangChain's ``create_agent`` when installed, else LangGraph's prebuilt ReAct agent (same loop)."""
    try:
        from langchain.agents import create_agent  # type: ignore[import-not-found,unused-ignore]

        return create_agent(model, tools)
    except ImportError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from langgraph.prebuilt import create_react_agent

            return create_react_agent(model, tools)


def run(repo: Path, *, real: bool = False) -> list[BaseMessage]:
    settings = Settings.load()
    model = settings.chat_model() if real else scripted_model(repo)
    if model is None:
        raise SystemExit("no chat model is configured: set CONTAINERKIT_LLM_MODEL (see the README), or drop --real")
    tools = containerkit_tools(settings, roots=[repo], names=["analyze_repo", "generate_dockerfile", "lint_dockerfile"])
    agent = make_agent(model, tools)
    question = f"Containerize the repository at {repo}: what does it run, and what Dockerfile fits it?"
    result = agent.invoke({"messages": [HumanMessage(question)]})
    return list(result["messages"])


def main(argv: list[str]) -> None:
    real = "--real" in argv
    args = [a for a in argv if a != "--real"]
    repo = Path(args[0]).resolve() if args else HERE / "python-http"
    for msg in run(repo, real=real):
        if isinstance(msg, ToolMessage):
            print(f"[tool {msg.name}] {msg.content}")
        elif isinstance(msg, AIMessage) and msg.tool_calls:
            print("[agent] calls " + ", ".join(f"{c['name']}({c['args']})" for c in msg.tool_calls))
        else:
            print(f"[{msg.type}] {msg.content}")


if __name__ == "__main__":
    main(sys.argv[1:])
