"""The stdio transport of qwen-mcp: the SDK's, plus the JSON-RPC answers it leaves out.

The SDK's stdio reader turns a line that is not a JSON-RPC message into an exception on its read stream,
which the server drops without an answer, so a client that sent a broken frame waits forever. JSON-RPC 2.0
wants `-32700 Parse error` for invalid JSON and `-32600 Invalid Request` for JSON that is not a request (with
the request's id when it has a usable one, else null). `ParseErrorAnswering` wraps the read stream, answers
those on the write stream, and passes every real message on. Blank lines are ignored.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any, Self

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared._stream_protocols import ReadStream, WriteStream
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

logger = logging.getLogger(__name__)


def _error_for(exc: Exception) -> JSONRPCError | None:
    """The JSON-RPC error answering a frame the transport could not read; None for a blank line."""
    details = exc.errors() if isinstance(exc, ValidationError) else []
    given: Any = details[0].get("input") if details else None
    if details and details[0]["type"] == "json_invalid":
        if isinstance(given, str) and not given.strip():
            return None
        return JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(code=PARSE_ERROR, message="Parse error"))
    request_id = given.get("id") if isinstance(given, dict) else None
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        request_id = None
    message = "Invalid Request: not a JSON-RPC 2.0 request, notification or response"
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=INVALID_REQUEST, message=message))


class ParseErrorAnswering:
    """A read stream that answers unreadable frames with JSON-RPC errors and yields only messages."""

    def __init__(
        self, inner: ReadStream[SessionMessage | Exception], answers: WriteStream[SessionMessage]
    ) -> None:
        self._inner = inner
        self._answers = answers

    @property
    def last_context(self) -> Any:
        """The sender context of the last message (the SDK restores it for the handler)."""
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                return item
            logger.warning("unreadable frame on stdin: %s", item)
            answer = _error_for(item)
            if answer is not None:
                try:
                    await self._answers.send(SessionMessage(answer))
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    logger.debug("could not answer an unreadable frame: the output is closed")

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        await self.aclose()
        return None


async def serve_stdio(server: MCPServer[Any]) -> None:
    """Serve ``server`` on stdin/stdout (what `MCPServer.run()` does, with unreadable frames answered)."""
    # The SDK's own in-memory client reaches the low-level server the same way (mcp.client.client).
    lowlevel = server._lowlevel_server
    async with stdio_server() as (read_stream, write_stream):
        await lowlevel.run(
            ParseErrorAnswering(read_stream, write_stream),
            write_stream,
            lowlevel.create_initialization_options(),
        )
