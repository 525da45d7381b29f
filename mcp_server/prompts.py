"""The qwen-mcp prompt templates: explain code, review a diff, write tests — each with the repository's context.

The wording of the tasks is shared with the editor's code actions (`context.serve.tasks`); the context is the
engine's. A refused path or another failure is answered as an invalid-params error naming the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcp.server.mcpserver import MCPServer, UserMessage
from mcp.server.mcpserver.exceptions import ToolError

from context.serve import tasks
from mcp_server.access import WorkspaceSlot, ready, relative
from mcp_server.boundary import Boundary, prompt_error
from mcp_server.paging import text_budget
from mcp_server.tools import review_context
from mcp_server.workspace import Workspace

#: Token budget of the repository context embedded in a prompt template.
PROMPT_CONTEXT_BUDGET = 8192


async def _context(workspace: Workspace, task: str, focus: Sequence[str]) -> str:
    """The engine's context for a prompt template, or a pointer to the tools while the index is not ready."""
    try:
        engine = await ready(workspace)
    except ToolError as exc:
        return f"({exc} Use the qwen-context tools to look at the code.)"
    budget = min(PROMPT_CONTEXT_BUDGET, text_budget(workspace.settings.max_output_tokens))
    prompt = await workspace.assemble(lambda: engine.chat_context(task, focus=focus, budget=budget))
    return f"Repository context:\n\n{prompt.text}"


async def _test_file(workspace: Workspace, rel: str) -> str:
    """Where tests for ``rel`` go in the project's layout; '' while the index is not ready."""
    engine = workspace.engine
    return await workspace.query(lambda: tasks.test_path_for(engine.files(), rel)) if engine is not None else ""


def add_prompts(server: MCPServer[Workspace], slot: WorkspaceSlot, boundary: Boundary) -> None:
    """Register the prompt templates, each inside the server's error boundary."""

    async def explain(path: str, symbol: str = "") -> list[UserMessage]:
        """Explain how a file, or one symbol in it, works and how the rest of the repository uses it."""
        workspace = slot.get()
        target = tasks.Target(relative(workspace, path), name=symbol)
        context = await _context(workspace, target.query, [target.path])
        question = tasks.task_prompt(tasks.Task.EXPLAIN, target)
        return [UserMessage(f"{question} Find where it is used with find_references.\n\n{context}")]

    async def review_diff(diff: str) -> list[UserMessage]:
        """Review a diff for bugs, broken callers and missing tests, with the code the change reaches: where
        its changed definitions are used, their tests and what they call (the `review_changes` tool's context)."""
        workspace = slot.get()
        hint = "Check further callers with find_references."
        try:
            engine = await ready(workspace)
        except ToolError as exc:
            return [UserMessage(f"{tasks.review_prompt(diff)}\n\n({exc} {hint})")]
        review = await review_context(workspace, engine, None, diff, PROMPT_CONTEXT_BUDGET)
        return [UserMessage(f"{review.instruction} {hint}\n\n{review.text}")]

    async def write_tests(path: str, symbol: str = "") -> list[UserMessage]:
        """Write tests for a file or one symbol in it, following the repository's test conventions."""
        workspace = slot.get()
        target = tasks.Target(relative(workspace, path), name=symbol)
        context = await _context(workspace, target.query, [target.path])
        question = tasks.task_prompt(tasks.Task.TESTS, target, await _test_file(workspace, target.path))
        hint = "Find the existing tests with search_symbols or repo_map."
        return [UserMessage(f"{question} {hint}\n\n{context}")]

    server.prompt(title="Explain code")(boundary.wrap(explain, prompt_error))
    server.prompt(title="Review a diff")(boundary.wrap(review_diff, prompt_error))
    server.prompt(title="Write tests")(boundary.wrap(write_tests, prompt_error))
