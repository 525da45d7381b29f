"""What every handler needs first: the workspace of the request, its indexed engine, and checked paths."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from mcp_server.workspace import ProgressReporter, Workspace

if TYPE_CHECKING:
    from context.engine import Engine


class WorkspaceSlot:
    """The workspace of the running lifespan, for handlers the SDK calls without a request context."""

    workspace: Workspace | None = None

    def get(self) -> Workspace:
        if self.workspace is None:
            raise ToolError("The server is not running.")
        return self.workspace


def workspace_of(ctx: Context[Any]) -> Workspace:
    """The workspace the lifespan created (the SDK types the lifespan state loosely)."""
    return cast(Workspace, ctx.request_context.lifespan_context)


async def ready(workspace: Workspace, report: ProgressReporter | None = None) -> Engine:
    """The indexed engine, after waiting for the index; a ToolError with the index's state if it is late."""
    engine = await workspace.wait_ready(report)
    if engine is None:
        raise ToolError(f"{workspace.describe_state()} Try again in a few seconds, or call index_status.")
    return engine


async def engine_for(ctx: Context[Any]) -> Engine:
    """The indexed engine for a tool call, sending progress notifications (with file counts) meanwhile."""

    async def report(done: int, total: int, message: str) -> None:
        await ctx.report_progress(done, total or None, message)

    return await ready(workspace_of(ctx), report)


def relative(workspace: Workspace, path: str) -> str:
    """The workspace-relative POSIX form of a user's file path, refused unless it is a file inside the root."""
    from context.agent.lookup import checked_file  # loaded by the index thread at start-up (see Workspace)

    return checked_file(workspace.root, path)
