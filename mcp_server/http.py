"""The streamable HTTP transport of qwen-mcp: loopback only, every request carrying the bearer token.

stdio is the transport to prefer (the client owns the process); HTTP is for clients that can only connect to a
URL. The MCP spec's security advice for local servers is followed: bind to a loopback address only (the SDK
then also turns on its DNS-rebinding checks of Host and Origin) and require a token, so another local user or
a web page cannot drive the server.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging

from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send

from context.errors import ConfigError

logger = logging.getLogger(__name__)

#: The environment variable holding the bearer token; a random one is generated when it is unset.
TOKEN_ENV = "QWEN_MCP_TOKEN"

#: Where the MCP endpoint is served.
MCP_PATH = "/mcp"


def parse_loopback(address: str) -> tuple[str, int]:
    """`HOST:PORT` (or `[::1]:PORT`) split, refusing any host that is not a loopback address."""
    host, sep, port_text = address.rpartition(":")
    host = host.strip("[]")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"--http wants HOST:PORT, e.g. 127.0.0.1:8765, not {address!r}")
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ConfigError(
                f"--http serves on a loopback address only (127.0.0.1, ::1, localhost), not {host!r}"
            )
    return host, int(port_text)


class BearerTokenGate:
    """ASGI middleware answering 401 to every HTTP request without `Authorization: Bearer <token>`."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._expected = f"bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._authorized(scope):
            logger.warning("refused an HTTP request without the right bearer token")
            await self._refuse(send)
            return
        await self._app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        values = [value for name, value in scope["headers"] if name == b"authorization"]
        if len(values) != 1:
            return False
        scheme, _, token = values[0].partition(b" ")
        return hmac.compare_digest(scheme.lower() + b" " + token.strip(), self._expected)

    @staticmethod
    async def _refuse(send: Send) -> None:
        body = json.dumps(
            {
                "error": "unauthorized",
                "error_description": f"send 'Authorization: Bearer <token>' ({TOKEN_ENV})",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="qwen-mcp"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def serve_http(server: MCPServer, host: str, port: int, token: str) -> None:
    """Serve `server` over streamable HTTP at http://HOST:PORT/mcp until cancelled."""
    import uvicorn  # here, not at the top: stdio servers must start fast and never need it

    app = BearerTokenGate(server.streamable_http_app(streamable_http_path=MCP_PATH, host=host), token)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, log_level="warning")
    await uvicorn.Server(config).serve()
