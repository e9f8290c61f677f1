"""containerkit's tools for agents: one catalog (names, LLM-facing descriptions, pydantic argument
models, functions) that the MCP server (``containerkit.mcp``) and the LangChain tools
(``containerkit.langchain``) both serve, and the allowed-roots guard every path argument passes."""

from containerkit.toolkit.catalog import TOOLS, TOOLS_BY_NAME, ToolContext, ToolOutput, ToolSpec, input_schema
from containerkit.toolkit.roots import RootGuard

__all__ = ["TOOLS", "TOOLS_BY_NAME", "RootGuard", "ToolContext", "ToolOutput", "ToolSpec", "input_schema"]
