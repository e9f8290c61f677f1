"""containerkit's tools as LangChain ``StructuredTool``s (sync and async), for ``create_agent`` or any
tool-calling chat model. A thin face over ``containerkit.toolkit``: the same names, descriptions and
pydantic argument models as the MCP server.

    from containerkit.langchain import containerkit_tools
    tools = containerkit_tools(roots=["~/src"])
    agent = create_agent(model, tools)

A tool returns its short summary as the message content and the structured result as the artifact
(``response_format="content_and_artifact"``); a containerkit error comes back to the model as the
tool's output, ``[CODE] message`` and its hint, so the agent can correct itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.tools import StructuredTool, ToolException
from pydantic import ValidationError

from containerkit.errors import ContainerKitError, InvalidOption
from containerkit.settings import Settings
from containerkit.toolkit import TOOLS, RootGuard, ToolContext, ToolSpec

__all__ = ["containerkit_tools"]


def _error_text(exc: ContainerKitError) -> str:
    return f"[{exc.code}] {exc.message}\nhint: {exc.hint}"


def _invalid(name: str, exc: Exception) -> str:
    """Where and what was wrong, never the values (an argument may be a password)."""
    errors = exc.errors() if isinstance(exc, ValidationError) else []
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors) or "invalid arguments"
    return _error_text(InvalidOption(f"{name}: {problems}", hint=f"The input schema of {name} lists its arguments."))


def _tool(spec: ToolSpec, ctx: ToolContext) -> StructuredTool:
    def run(**kwargs: Any) -> tuple[str, dict[str, Any]]:
        try:
            args = spec.args.model_validate(kwargs)
            out = spec.run(args, ctx)
        except ValidationError as exc:
            raise ToolException(_invalid(spec.name, exc)) from None
        except ContainerKitError as exc:
            raise ToolException(_error_text(exc)) from None
        return out.text, out.data

    async def arun(**kwargs: Any) -> tuple[str, dict[str, Any]]:
        return await asyncio.to_thread(run, **kwargs)

    return StructuredTool.from_function(
        func=run,
        coroutine=arun,
        name=spec.name,
        description=spec.description,
        args_schema=spec.args,
        response_format="content_and_artifact",
        handle_tool_error=True,
        handle_validation_error=lambda exc: _invalid(spec.name, exc),
    )


def containerkit_tools(
    settings: Settings | None = None,
    *,
    roots: Sequence[Path | str],
    names: Sequence[str] | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> list[StructuredTool]:
    """The tools, every path argument confined to ``roots``; ``names`` picks some; ``on_event`` gets progress."""
    ctx = ToolContext(
        settings=settings or Settings.load(),
        roots=RootGuard(roots),
        progress=on_event or (lambda _e: None),
    )
    unknown = set(names or ()) - {t.name for t in TOOLS}
    if unknown:
        raise InvalidOption(f"no tool {sorted(unknown)[0]!r}", hint="Tools: " + ", ".join(t.name for t in TOOLS))
    return [_tool(spec, ctx) for spec in TOOLS if names is None or spec.name in names]
