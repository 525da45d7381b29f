"""The qwen-mcp resources: the repository map and a file's outline, read like files by clients that browse."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from mcp_server.access import WorkspaceSlot, ready, relative
from mcp_server.boundary import Boundary
from mcp_server.paging import text_budget
from mcp_server.tools import outline_page
from mcp_server.workspace import Workspace

#: Token budget of the `repo://map` resource.
DEFAULT_MAP_BUDGET = 4096


def add_resources(server: MCPServer[Workspace], slot: WorkspaceSlot, boundary: Boundary) -> None:
    """Register the resources, each inside the server's error boundary."""

    async def repository_map() -> str:
        workspace = slot.get()
        engine = await ready(workspace)
        budget = min(DEFAULT_MAP_BUDGET, text_budget(workspace.settings.max_output_tokens))
        return await workspace.assemble(lambda: engine.repo_map(budget=budget))

    async def outline(path: str) -> str:
        workspace = slot.get()
        rel = relative(workspace, path)
        page = await outline_page(workspace, await ready(workspace), rel, 0)
        return page.model_dump_json()

    server.resource(
        "repo://map",
        name="repo_map",
        title="Repository map",
        mime_type="text/markdown",
        description="The ranked map of the repository: key files and their main signatures.",
    )(boundary.wrap(repository_map, ResourceError))
    server.resource(
        "repo://outline/{+path}",
        name="file_outline",
        title="File outline",
        mime_type="application/json",
        description="The definitions of one file (path relative to the root), nested, with line ranges.",
    )(boundary.wrap(outline, ResourceError))
