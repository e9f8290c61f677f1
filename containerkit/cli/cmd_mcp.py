"""``containerkit mcp``: serve the tools to MCP clients over stdio (the default) or streamable HTTP."""

from __future__ import annotations

from pathlib import Path

import typer

from containerkit.cli import current_env, handle_errors
from containerkit.errors import InvalidOption

__all__ = ["register"]


@handle_errors
def mcp_cmd(
    http: bool = typer.Option(False, "--http", help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (HTTP); beyond loopback needs --token."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port (HTTP)."),
    root: list[Path] = typer.Option(
        [], "--root", help="A folder tools may touch (repeatable); default: the roots the client declares."
    ),
    token: str | None = typer.Option(
        None, "--token", envvar="CONTAINERKIT_MCP_TOKEN", help="Bearer token HTTP clients must send."
    ),
) -> None:
    """Serve containerkit's tools, session resources and a prompt over the Model Context Protocol."""
    try:
        import anyio

        from containerkit.mcp import ContainerKitMCP, serve_http, serve_stdio
        from containerkit.mcp.transports import check_bind
    except ImportError as exc:
        raise InvalidOption(
            f"the MCP server needs the mcp package ({exc.name} is missing)",
            hint="pip install 'containerkit[mcp]'",
        ) from None
    for r in root:
        if not r.is_dir():
            raise InvalidOption(f"--root {r}: not a folder", hint="Give existing folders the tools may work in.")
    env = current_env()
    user, password = env.environ.get("CONTAINERKIT_REGISTRY_USER"), env.environ.get("CONTAINERKIT_REGISTRY_PASSWORD")
    auth = {"username": user, "password": password} if user and password else None
    face = ContainerKitMCP(env.settings, roots=[r.resolve() for r in root], registry_auth=auth)
    if http:
        check_bind(host, token)
        anyio.run(lambda: serve_http(face, host=host, port=port, token=token))
    else:
        anyio.run(serve_stdio, face)


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp_cmd)
