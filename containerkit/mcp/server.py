"""The MCP server: containerkit's tool catalog, its sessions as resources and one prompt, on the official SDK.

A thin face: argument models, functions and summaries come from ``containerkit.toolkit``; this module
maps them onto MCP (schemas, structured results, progress notifications, tool errors carrying the
code and the hint) and picks the allowed roots for each call: the server's ``--root`` folders, else
the roots the client declares.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.session import ServerSession
from mcp.shared.exceptions import McpError
from pydantic import AnyUrl, ValidationError

from containerkit import __version__
from containerkit.errors import ContainerKitError, InternalError, InvalidOption
from containerkit.settings import Settings
from containerkit.toolkit import TOOLS, TOOLS_BY_NAME, RootGuard, ToolContext, ToolOutput, ToolSpec, input_schema
from containerkit.toolkit.catalog import recent_sessions

__all__ = ["ContainerKitMCP", "validation_error"]

log = logging.getLogger("containerkit.mcp")

INSTRUCTIONS = (
    "containerkit carries a source repository to a running container. Start with analyze_repo on the "
    "repository folder; run_workflow does the whole journey (Dockerfile, build, verify, scan, push, "
    "manifests) as a session you can inspect with session_status and the containerkit://sessions/{id} "
    "resources. Paths must lie inside the allowed roots. Ask the user before approving a push."
)
_SESSION_URI = "containerkit://sessions/"
_PARTS = {
    "": (
        "application/json",
        "The session's whole state: options, analysis, Dockerfile, build, verify, scan, recovery.",
    ),
    "dockerfile": ("text/plain", "The Dockerfile the session built."),
    "manifests": ("application/yaml", "The Kubernetes manifests the session wrote."),
    "scan": ("application/json", "The full scan report (every finding) of the session's image."),
}
_PROGRESS_EVERY_S = 0.2
_ROOTS_TIMEOUT_S = 15.0


def validation_error(tool: str, exc: ValidationError) -> InvalidOption:
    """A clean message from pydantic's errors: where and what, never the input values (they may be secrets)."""
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors())
    return InvalidOption(
        f"{tool}: {problems}",
        hint=f"The input schema of {tool} lists its arguments, their types and which are required.",
    )


def _error_result(exc: ContainerKitError) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=f"[{exc.code}] {exc.message}\nhint: {exc.hint}")],
        structuredContent={"error": exc.to_dict()},
        isError=True,
    )


def _event_text(ev: dict[str, Any]) -> str:
    """One line for a progress notification from a containerkit progress event."""
    kind, stage, status = ev.get("kind", ""), ev.get("stage", ""), ev.get("status", "")
    if kind == "build" and ev.get("step"):
        return f"build step {ev['step']}/{ev.get('total') or '?'}: {ev.get('message', '')}".strip()
    if kind == "push":
        return f"push {ev['layer']}: {status}" if ev.get("layer") else f"push: {status}"
    head = " ".join(str(p) for p in (stage, status) if p)
    msg = str(ev.get("message", ""))
    return f"{head}: {msg}" if head and msg else head or msg or str(kind)


def _file_roots(roots: Iterable[types.Root]) -> list[Path]:
    out = []
    for r in roots:
        uri = urlparse(str(r.uri))
        if uri.scheme == "file":
            out.append(Path(unquote(uri.path)))
    return out


class ContainerKitMCP:
    """The server object: ``server`` is an ``mcp.server.lowlevel.Server`` any transport can run."""

    def __init__(
        self, settings: Settings, *, roots: Sequence[Path] = (), registry_auth: dict[str, str] | None = None
    ) -> None:
        self.settings = settings
        self.fixed_roots = list(roots)
        self.base = ToolContext(settings=settings, roots=RootGuard(roots), registry_auth=registry_auth)
        self.server: Server[Any, Any] = Server(
            "containerkit", version=__version__, instructions=INSTRUCTIONS, website_url=None
        )
        s = self.server
        s.list_tools()(self._list_tools)
        s.call_tool(validate_input=False)(self._call_tool)
        s.list_resources()(self._list_resources)
        s.list_resource_templates()(self._list_resource_templates)
        s.read_resource()(self._read_resource)
        s.list_prompts()(self._list_prompts)
        s.get_prompt()(self._get_prompt)

    # -- tools ------------------------------------------------------------------------------------

    async def _list_tools(self) -> list[types.Tool]:
        return [self._tool(spec) for spec in TOOLS]

    @staticmethod
    @functools.cache
    def _tool(spec: ToolSpec) -> types.Tool:
        return types.Tool(
            name=spec.name,
            title=spec.name.replace("_", " "),
            description=spec.description,
            inputSchema=input_schema(spec.args),
            annotations=types.ToolAnnotations(
                readOnlyHint=spec.read_only,
                destructiveHint=spec.destructive,
                openWorldHint=spec.name in ("push_image", "pull_image", "run_workflow", "resume_session"),
            ),
        )

    async def _roots(self, session: ServerSession) -> RootGuard:
        if self.fixed_roots:
            return RootGuard(self.fixed_roots)
        if not session.check_client_capability(types.ClientCapabilities(roots=types.RootsCapability())):
            return RootGuard(())
        with anyio.fail_after(_ROOTS_TIMEOUT_S):
            result = await session.list_roots()
        return RootGuard(_file_roots(result.roots))

    async def _call_tool(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        spec = TOOLS_BY_NAME.get(name)
        if spec is None:
            return _error_result(
                InvalidOption(f"no tool {name!r}", hint="Tools: " + ", ".join(t.name for t in TOOLS) + ".")
            )
        try:
            args = spec.args.model_validate(arguments)
        except ValidationError as exc:
            return _error_result(validation_error(name, exc))
        rc = self.server.request_context
        try:
            guard = await self._roots(rc.session)
        except (McpError, TimeoutError) as exc:
            why = exc.error.message if isinstance(exc, McpError) else f"no answer in {_ROOTS_TIMEOUT_S:.0f}s"
            return _error_result(
                InvalidOption(
                    f"the client's roots cannot be read: {why}",
                    hint="Start the server with --root DIR to fix the allowed folders instead.",
                )
            )
        ctx = self.base.for_call(roots=guard, progress=self._progress_sink(rc, spec))
        try:
            out: ToolOutput = await anyio.to_thread.run_sync(spec.run, args, ctx)
        except ContainerKitError as exc:
            return _error_result(exc)
        except Exception as exc:
            log.exception("tool %s failed", name)
            return _error_result(InternalError(f"{name}: unexpected {type(exc).__name__}: {exc}"))
        # the summary first, for a model to read; the result as JSON text too, as the spec asks of a
        # tool returning structured content (clients without structured content still get it all)
        content = [
            types.TextContent(type="text", text=out.text),
            types.TextContent(type="text", text=json.dumps(out.data, default=str)),
        ]
        return types.CallToolResult(content=content, structuredContent=out.data, isError=False)

    @staticmethod
    def _progress_sink(rc: Any, spec: ToolSpec) -> Any:
        """Forward progress events from the worker thread as notifications (throttled; stage events always)."""
        token = rc.meta.progressToken if rc.meta is not None else None
        if token is None or not spec.long:
            return lambda _ev: None
        state = {"n": 0, "last": 0.0}

        def sink(ev: dict[str, Any]) -> None:
            now = time.monotonic()
            if (
                ev.get("kind") not in ("stage", "approval", "session", "warning")
                and now - state["last"] < _PROGRESS_EVERY_S
            ):
                return
            state["n"] += 1
            state["last"] = now
            try:
                anyio.from_thread.run(
                    functools.partial(
                        rc.session.send_progress_notification,
                        token,
                        float(state["n"]),
                        None,
                        _event_text(ev)[:300],
                        related_request_id=rc.request_id,
                    )
                )
            except Exception:
                log.debug("progress notification dropped", exc_info=True)

        return sink

    # -- resources ----------------------------------------------------------------------------------

    async def _request_roots(self) -> RootGuard:
        """The calling client's roots, or none when they cannot be read (then nothing is shown)."""
        try:
            return await self._roots(self.server.request_context.session)
        except (McpError, TimeoutError, LookupError):
            return RootGuard(())

    async def _list_resources(self) -> list[types.Resource]:
        guard = await self._request_roots()
        rows = await anyio.to_thread.run_sync(recent_sessions, self.settings, 20, guard)
        return [
            types.Resource(
                uri=AnyUrl(_SESSION_URI + r["session_id"]),
                name=f"session {r['session_id']}",
                description=f"{r['status']}: {r['repo']}",
                mimeType="application/json",
            )
            for r in rows
        ]

    async def _list_resource_templates(self) -> list[types.ResourceTemplate]:
        return [
            types.ResourceTemplate(
                uriTemplate=_SESSION_URI + "{session_id}" + (f"/{part}" if part else ""),
                name=f"session {part or 'state'}",
                description=desc,
                mimeType=mime,
            )
            for part, (mime, desc) in _PARTS.items()
        ]

    async def _read_resource(self, uri: AnyUrl) -> Iterable[ReadResourceContents]:
        text = str(uri)
        if not text.startswith(_SESSION_URI):
            raise McpError(types.ErrorData(code=types.INVALID_PARAMS, message=f"unknown resource {text}"))
        sid, _, part = text[len(_SESSION_URI) :].partition("/")
        if part not in _PARTS:
            raise McpError(types.ErrorData(code=types.INVALID_PARAMS, message=f"unknown part {part!r} of {text}"))
        guard = await self._request_roots()
        try:
            body = await anyio.to_thread.run_sync(self._session_part, sid, part, guard)
        except ContainerKitError as exc:
            raise McpError(
                types.ErrorData(code=types.INVALID_PARAMS, message=f"[{exc.code}] {exc.message} (hint: {exc.hint})")
            ) from None
        return [ReadResourceContents(content=body, mime_type=_PARTS[part][0])]

    def _session_part(self, session_id: str, part: str, roots: RootGuard) -> str:
        from containerkit.errors import SessionNotFound
        from containerkit.graph import SessionStore
        from containerkit.tools.fsio import read_text

        with SessionStore(self.settings.sessions_db) as store:
            session = store.load(store.resolve(session_id))
        roots.check(session.repo_path, "the session's repository")  # another client's session is not shown
        if part == "":
            return json.dumps(session.model_dump(mode="json"), indent=2)
        if part == "dockerfile":
            if session.dockerfile is None:
                raise SessionNotFound(f"session {session.session_id} has no Dockerfile yet", hint="Resume or rerun it.")
            return session.dockerfile.content
        if part == "manifests":
            if session.manifests is None:
                raise SessionNotFound(f"session {session.session_id} wrote no manifests", hint="Resume or rerun it.")
            return "---\n".join(read_text(Path(p), what="manifest") for p in session.manifests.paths)
        if session.scan is None or not session.scan.report_path:
            raise SessionNotFound(f"session {session.session_id} has no scan report", hint="Run it with scan on.")
        return read_text(Path(session.scan.report_path), what="scan report")

    # -- prompt -----------------------------------------------------------------------------------

    async def _list_prompts(self) -> list[types.Prompt]:
        return [
            types.Prompt(
                name="containerize",
                title="Containerize a repository",
                description="Walk through analyze, Dockerfile, build, verify, scan, approval and push for one repository.",
                arguments=[
                    types.PromptArgument(name="path", description="The repository folder.", required=True),
                    types.PromptArgument(name="registry", description="HOST[:PORT] to push to.", required=False),
                ],
            )
        ]

    async def _get_prompt(self, name: str, arguments: dict[str, str] | None) -> types.GetPromptResult:
        if name != "containerize":
            raise McpError(types.ErrorData(code=types.INVALID_PARAMS, message=f"no prompt {name!r}"))
        args = arguments or {}
        path = args.get("path")
        if not path:
            raise McpError(types.ErrorData(code=types.INVALID_PARAMS, message="argument 'path' is required"))
        registry = args.get("registry")
        push = (
            f'registry="{registry}" and approve=["push"]'
            if registry
            else "no registry (nothing is pushed; ask the user for one if they want a push)"
        )
        text = f"""Containerize the repository at {path} with containerkit's tools, one step at a time:

1. Call analyze_repo with path="{path}". Tell the user which modules it found (language, framework, port)
   and ask which one to containerize if there are several.
2. Call generate_dockerfile for that module (write=false first) and show the Dockerfile; call lint_dockerfile
   with its text as content and mention findings of severity error or warning.
3. Call run_workflow with path="{path}", {push}. It builds the image, starts it to
   verify that it answers, scans it, and writes Kubernetes manifests; progress arrives as notifications.
4. Read the result's status:
   - awaiting_approval: show the image, the verify result and the scan counts, ask the user whether to push,
     then call resume_session with the session_id and approved=true or false (with their reason as note).
   - needs_config: the app needs the environment variables listed in needs; ask the user for values and call
     resume_session with env set.
   - failed: explain the errors (each has a code and a hint) and the recovery attempts with their evidence.
   - succeeded: report the image, its digest and the manifests.
5. The session's Dockerfile, manifests and scan report are resources:
   containerkit://sessions/<session_id>/dockerfile, /manifests and /scan."""
        return types.GetPromptResult(
            description="Containerize a repository with containerkit",
            messages=[types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))],
        )
