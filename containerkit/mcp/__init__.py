"""containerkit as an MCP server (``containerkit mcp``; needs ``pip install 'containerkit[mcp]'``).

ContainerKitMCP(settings, roots=[...]).server   # an mcp.server.lowlevel.Server
serve_stdio(face) / serve_http(face, host=..., port=..., token=...)
"""

from containerkit.mcp.server import ContainerKitMCP
from containerkit.mcp.transports import http_app, serve_http, serve_stdio

__all__ = ["ContainerKitMCP", "http_app", "serve_http", "serve_stdio"]
