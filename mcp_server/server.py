"""The qwen-mcp server: its tools (`mcp_server.tools`), resources and prompt templates, assembled.

The lifespan creates the `Workspace` (indexing starts in the background, so `initialize` and `tools/list`
never wait for it); every handler is wrapped in the error boundary (`mcp_server.boundary`): a deadline, and
client-safe messages. The server reports the installed package's version in `serverInfo`.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from context.version import package_version
from mcp_server.access import WorkspaceSlot
from mcp_server.boundary import Boundary, explain_not_initialized
from mcp_server.prompts import add_prompts
from mcp_server.resources import add_resources
from mcp_server.tools import CALLS_MODEL, MODEL_TOOLS, READ_ONLY, READ_ONLY_TOOLS
from mcp_server.workspace import ServerSettings, Workspace

INSTRUCTIONS = """\
Code intelligence for the repository at the workspace root, from a local tree-sitter index, plus Qwen3-Coder.
Paths are relative to the root; lines and columns are 1-based. Start with repo_map or search_symbols, then
get_definition / find_references / read_code; build_context gives ranked context for a task. complete_code and
ask_qwen call the configured Qwen3-Coder endpoint; ask_qwen lets it look things up with the read-only tools. Long results are paginated: pass the returned offset or
next_start_line to continue."""


def build_server(settings: ServerSettings) -> MCPServer[Workspace]:
    """The qwen-mcp server of one workspace root, with its tools, resources and prompts; nothing starts yet.

    The lifespan (entered once per stdio process or HTTP server) creates the `Workspace` and starts indexing
    in the background.
    """
    slot = WorkspaceSlot()

    @asynccontextmanager
    async def lifespan(_: MCPServer[Workspace]) -> AsyncIterator[Workspace]:
        workspace = Workspace(settings)
        workspace.start()
        slot.workspace = workspace
        try:
            yield workspace
        finally:
            slot.workspace = None
            await workspace.close()

    server: MCPServer[Workspace] = MCPServer(
        "qwen-context",
        title="Qwen repository context",
        version=package_version(),
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        middleware=[explain_not_initialized],
    )
    boundary = Boundary(settings.root.resolve(), settings.tool_timeout_seconds)
    for fn in (*READ_ONLY_TOOLS, *MODEL_TOOLS):
        annotations = CALLS_MODEL if fn in MODEL_TOOLS else READ_ONLY
        description = inspect.cleandoc(fn.__doc__ or "")
        server.add_tool(boundary.wrap(fn, ToolError), description=description, annotations=annotations)
    add_resources(server, slot, boundary)
    add_prompts(server, slot, boundary)
    return server
