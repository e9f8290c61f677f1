"""Running the server: stdio (stdout carries protocol messages only) and streamable HTTP (loopback by
default; any other address needs a bearer token)."""

from __future__ import annotations

import contextlib
import hmac
import io
import ipaddress
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from containerkit.errors import InvalidOption
from containerkit.mcp.server import ContainerKitMCP

__all__ = ["check_bind", "http_app", "is_loopback_host", "serve_http", "serve_stdio"]


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Binding beyond this machine without a token would hand the engine to anyone who can reach it."""
    if not is_loopback_host(host) and not token:
        raise InvalidOption(
            f"refusing to serve on {host} without a token",
            hint="Pass --token TOKEN (or set CONTAINERKIT_MCP_TOKEN); clients send `Authorization: Bearer TOKEN`. "
            "Without one, serve on 127.0.0.1.",
        )


def _protocol_stdout() -> anyio.AsyncFile[str]:
    """Keep the real stdout for protocol messages; point fd 1 (and ``sys.stdout``) at stderr.

    Anything else that writes to stdout (a library's print, a child process such as the docker CLI)
    then lands on stderr instead of corrupting the stream a client parses.
    """
    sys.stdout.flush()
    proto = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return anyio.wrap_file(io.TextIOWrapper(os.fdopen(proto, "wb"), encoding="utf-8", newline="\n"))


async def serve_stdio(face: ContainerKitMCP) -> None:
    async with stdio_server(stdout=_protocol_stdout()) as (read, write):
        await face.server.run(read, write, face.server.create_initialization_options())


class _Endpoint:
    """The /mcp endpoint: the bearer check, then the SDK's session manager."""

    def __init__(self, manager: StreamableHTTPSessionManager, token: str | None) -> None:
        self.manager = manager
        self.expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.expected is not None:
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                response = JSONResponse(
                    {"error": "unauthorized", "hint": "send Authorization: Bearer <token>"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.manager.handle_request(scope, receive, send)


def http_app(face: ContainerKitMCP, *, host: str, port: int, token: str | None, path: str = "/mcp") -> Starlette:
    check_bind(host, token)
    security = None
    if is_loopback_host(host):  # a web page must not reach a local server through DNS rebinding
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        )
    manager = StreamableHTTPSessionManager(app=face.server, security_settings=security)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    endpoint: Any = _Endpoint(manager, token)
    return Starlette(routes=[Route(path, endpoint=endpoint)], lifespan=lifespan)


async def serve_http(face: ContainerKitMCP, *, host: str, port: int, token: str | None) -> None:
    import uvicorn

    app = http_app(face, host=host, port=port, token=token)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    print(f"containerkit MCP server on http://{host}:{port}/mcp", file=sys.stderr, flush=True)
    await uvicorn.Server(config).serve()
