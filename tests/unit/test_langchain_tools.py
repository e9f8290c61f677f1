"""containerkit's tools as LangChain StructuredTools: same catalog, sync and async, errors the model can read."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from langchain_core.messages import ToolMessage
from langchain_core.tools import StructuredTool

from containerkit.langchain import containerkit_tools
from containerkit.settings import Settings
from containerkit.toolkit import TOOLS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
APP = EXAMPLES / "python-http"


def _tools(tmp_path: Path) -> dict[str, StructuredTool]:
    settings = Settings.load({"CONTAINERKIT_HOME": str(tmp_path / "home")})
    return {t.name: t for t in containerkit_tools(settings, roots=[EXAMPLES])}


def _call(tool: StructuredTool, args: dict[str, object]) -> ToolMessage:
    msg = tool.invoke({"name": tool.name, "args": args, "id": "call-1", "type": "tool_call"})
    assert isinstance(msg, ToolMessage)
    return msg


def test_every_catalog_tool_is_a_structured_tool_with_the_catalog_schema(tmp_path: Path) -> None:
    tools = _tools(tmp_path)
    assert list(tools) == [t.name for t in TOOLS]
    for spec in TOOLS:
        assert tools[spec.name].args_schema is spec.args
        assert tools[spec.name].description == spec.description
        assert tools[spec.name].coroutine is not None


def test_analyze_sync_and_async_return_the_summary_and_the_result_as_artifact(tmp_path: Path) -> None:
    tool = _tools(tmp_path)["analyze_repo"]
    sync = _call(tool, {"path": str(APP)})
    assert sync.status == "success" and "flask, port 8080" in str(sync.content)
    assert sync.artifact["modules"][0]["language"] == "python"
    msg = asyncio.run(
        tool.ainvoke({"name": tool.name, "args": {"path": "python-http"}, "id": "c2", "type": "tool_call"})
    )
    assert msg.artifact["root"] == str(APP)  # relative to the first root


def test_errors_reach_the_model_with_code_and_hint_never_the_values(tmp_path: Path) -> None:
    tools = _tools(tmp_path)
    outside = _call(tools["analyze_repo"], {"path": "/etc"})
    assert outside.status == "error" and "[CK120]" in str(outside.content) and "hint:" in str(outside.content)
    wrong = _call(tools["push_image"], {"image": "x", "ref": "127.0.0.1:1/x:1", "password": 1234567})
    assert wrong.status == "error" and "password" in str(wrong.content) and "1234567" not in str(wrong.content)
    missing = _call(tools["analyze_repo"], {})
    assert missing.status == "error" and "path" in str(missing.content)


def test_example_agent_runs_offline_with_a_scripted_chat_model() -> None:
    res = subprocess.run(
        [sys.executable, str(EXAMPLES / "langchain_agent.py")], capture_output=True, text=True, timeout=120, check=False
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "[tool analyze_repo] 1 module(s)" in res.stdout
    assert "[tool generate_dockerfile] Dockerfile for . on python" in res.stdout
    assert "FROM " in res.stdout
