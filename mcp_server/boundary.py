"""The one error boundary between the engine and MCP clients: what a client reads when something fails.

- Engine errors (`QwenContextError`: a bad path, an unknown file, an unreachable model) keep their message;
  anything else becomes a short message without a traceback (the traceback goes to the server log on
  stderr). Tools answer with a tool error a model can act on, resources with a resource error, prompts with
  an invalid-params error carrying the same text.
- No absolute path of the server's machine reaches a client: the workspace root becomes "the workspace
  root", paths inside it become relative, and any other absolute path (the index cache) a neutral word.
- Every call has a deadline (`ServerSettings.tool_timeout_seconds`): past it the call is cancelled — queued
  engine work is skipped, a model stream is closed — and answered with an error that says so.
- A request before `initialize` is refused by the SDK with a bare "Invalid request parameters"; the
  middleware here says what is wrong instead.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, INVALID_REQUEST

from context.errors import QwenContextError
from context.index.paths import scrub

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

def _message(name: str, exc: Exception, root: Path) -> str:
    """What the client reads about ``exc``: the engine's words, scrubbed, or a pointer to the server log."""
    if isinstance(exc, QwenContextError | ToolError | ResourceError):
        return scrub(str(exc), root)
    logger.error("%s failed", name, exc_info=exc)
    return f"{name} failed with an internal error; the server log has the details."


def _timeout_message(name: str, seconds: float) -> str:
    return (
        f"{name} did not finish within {seconds:g} s and was stopped; ask for less (a smaller budget, range "
        f"or buffer), or start qwen-mcp with a longer --tool-timeout."
    )


@dataclass(frozen=True)
class Boundary:
    """The error boundary of one server: its workspace root (to scrub) and its deadline per call."""

    root: Path
    timeout: float

    def wrap(self, fn: Callable[P, Awaitable[R]], error: Callable[[str], Exception]) -> Callable[P, Awaitable[R]]:
        """``fn`` under the deadline, every failure raised as ``error(message)`` with a client-safe message."""
        name = getattr(fn, "__name__", "the call")
        root, timeout = self.root, self.timeout

        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                with anyio.move_on_after(timeout) as deadline:
                    return await fn(*args, **kwargs)
            except MCPError:
                raise
            except Exception as exc:  # noqa: BLE001 - the boundary: every failure becomes a clear message
                raise error(_message(name, exc, root)) from None
            assert deadline.cancelled_caught  # only the deadline leaves the block without a result
            raise error(_timeout_message(name, timeout))

        return wrapper


def prompt_error(message: str) -> MCPError:
    """A prompt's failure: invalid params with the reason (the SDK would say "Internal server error")."""
    return MCPError(code=INVALID_PARAMS, message=message)


#: The SDK's answer to a request that arrives before `initialize` (see mcp.server.runner).
_SDK_GATE = (INVALID_PARAMS, "Invalid request parameters")
NOT_INITIALIZED = "Server not initialized: send `initialize` (and `notifications/initialized`) first."


async def explain_not_initialized(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: a request refused because it came before `initialize` gets an error saying so."""
    try:
        return await call_next(ctx)
    except MCPError as exc:
        if (exc.error.code, exc.error.message) == _SDK_GATE and ctx.session.client_params is None:
            raise MCPError(code=INVALID_REQUEST, message=NOT_INITIALIZED, data=ctx.method) from None
        raise
