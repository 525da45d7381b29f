"""The qwen-mcp tools: each converts its arguments, makes its engine or model calls, and converts the result.

Arguments are 1-based positions and workspace-relative paths (checked by `mcp_server.access.relative`);
results are `mcp_server.schemas` models capped at `ServerSettings.max_output_tokens`, with an offset or a next
line to continue from (`mcp_server.paging`). Ranking, prompt assembly and masking live in the engine; errors
become client-safe messages in `mcp_server.boundary`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from context.agent import AgentLimits, ToolCalled, ask, lookup
from context.errors import IndexUnavailable
from context.index.paths import scrub
from context.prompt import tokens
from context.review import review
from mcp_server import convert
from mcp_server.access import engine_for, relative, workspace_of
from mcp_server.paging import fit_items, fit_lines, fit_text, next_offset, text_budget
from mcp_server.schemas import (
    Answer,
    BuiltContext,
    ChangedFile,
    CodeSlice,
    Completion,
    Definitions,
    FileOutline,
    IgnoredRule,
    IndexStatus,
    ReferencePage,
    RepoMap,
    ReviewContext,
    SymbolPage,
)
from mcp_server.workspace import PROGRESS_INTERVAL_SECONDS, Workspace

if TYPE_CHECKING:
    from context.agent import AgentEvent
    from context.engine import Engine, IndexStats

#: Definitions returned by one get_definition call; the rest are counted in `omitted`.
MAX_DEFINITIONS = 10

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
CALLS_MODEL = ToolAnnotations(read_only_hint=True, idempotent_hint=False, open_world_hint=True)

SymbolKind = Literal[
    "function",
    "method",
    "class",
    "struct",
    "interface",
    "trait",
    "enum",
    "type",
    "constant",
    "module",
    "field",
]

RelPath = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4096,
        description="File path relative to the workspace root, e.g. `src/app/main.py`.",
    ),
]
Line = Annotated[int, Field(ge=1, le=10_000_000, description="1-based line number.")]
Column = Annotated[int, Field(ge=1, le=1_000_000, description="1-based column (characters).")]
Budget = Annotated[
    int,
    Field(
        ge=1024,
        le=262_144,
        description="Token budget; capped at the server's output limit.",
    ),
]
Revision = Annotated[
    str,
    Field(
        min_length=1,
        max_length=300,
        description="A commit (reviewed against its parent) or a range `A..B`; default: the uncommitted "
        "changes (staged and unstaged) against HEAD.",
    ),
]
Offset = Annotated[
    int, Field(ge=0, le=1_000_000, description="Items to skip (from a previous `next_offset`).")
]


def _budget(workspace: Workspace) -> int:
    return text_budget(workspace.settings.max_output_tokens)


async def outline_page(workspace: Workspace, engine: Engine, rel: str, offset: int) -> FileOutline:
    """The outline of ``rel`` from its ``offset``-th top-level definition, as much as fits the output cap."""
    nodes, language = await workspace.query(lambda: (engine.outline(rel), engine.language(rel)))
    items = [convert.outline_item(node) for node in nodes[offset:]]
    shown = fit_items(items, _budget(workspace))
    return FileOutline(
        path=rel,
        language=language,
        items=items[:shown],
        next_offset=next_offset(offset, shown, shown < len(items)),
    )


async def repo_map(
    ctx: Context[Any],
    focus_paths: Annotated[
        list[RelPath] | None,
        Field(max_length=100, description="Files to centre the map on, e.g. the ones you are editing."),
    ] = None,
    budget_tokens: Budget = 4096,
) -> RepoMap:
    """The ranked map of the repository: its most important files with their key definitions (signatures),
    most relevant first. Start here to find your way around an unfamiliar codebase."""
    workspace = workspace_of(ctx)
    focus = tuple(relative(workspace, path) for path in focus_paths or ())
    budget = min(budget_tokens, _budget(workspace))
    engine = await engine_for(ctx)
    text = await workspace.assemble(lambda: engine.repo_map(focus=focus, budget=budget))
    return RepoMap(text=text, tokens=tokens.count(text), budget_tokens=budget)


async def search_symbols(
    ctx: Context[Any],
    query: Annotated[
        str,
        Field(
            min_length=1, max_length=300, description="A name or part of one; exact, then prefix, then fuzzy."
        ),
    ],
    kind: Annotated[SymbolKind | None, Field(description="Only definitions of this kind.")] = None,
    limit: Annotated[int, Field(ge=1, le=200, description="Results per page.")] = 20,
    offset: Offset = 0,
) -> SymbolPage:
    """Find definitions (functions, classes, methods, types, constants, ...) by name across the repository."""
    workspace = workspace_of(ctx)
    engine = await engine_for(ctx)
    found = await workspace.query(lambda: engine.search(query, kind=kind, limit=offset + limit + 1))
    page = [convert.symbol(definition) for definition in found[offset : offset + limit]]
    shown = fit_items(page, _budget(workspace))
    more = shown < len(page) or len(found) > offset + limit
    return SymbolPage(symbols=page[:shown], next_offset=next_offset(offset, shown, more))


async def get_definition(
    ctx: Context[Any],
    symbol: Annotated[
        str | None,
        Field(min_length=1, max_length=300, description="A name or qualified name such as `Class.method`."),
    ] = None,
    path: RelPath | None = None,
    line: Line | None = None,
    column: Column | None = None,
) -> Definitions:
    """Where a symbol is defined, with its code. Give `symbol`, or the position of a use of the name: `path`
    and `line` (and `column`; without it, the line's first word)."""
    workspace = workspace_of(ctx)
    if symbol is None and (path is None or line is None):
        raise ToolError(
            "Give `symbol`, or `path` and `line` (and `column`) of a place where the name is used."
        )
    rel = relative(workspace, path) if symbol is None and path is not None else None
    engine = await engine_for(ctx)
    found = await workspace.query(lambda: lookup.definitions(engine, symbol, rel, line, column))
    shown = found[:MAX_DEFINITIONS]
    budget = _budget(workspace) // len(shown)
    definitions = await workspace.query(lambda: [convert.with_code(engine, d, budget) for d in shown])
    return Definitions(definitions=definitions, omitted=len(found) - len(shown))


async def find_references(
    ctx: Context[Any],
    symbol: Annotated[
        str,
        Field(
            min_length=1, max_length=300, description="The name to look for; for `Class.method`, `method`."
        ),
    ],
    limit: Annotated[int, Field(ge=1, le=500, description="Results per page.")] = 50,
    offset: Offset = 0,
) -> ReferencePage:
    """Where a name is used across the repository (calls, type uses, attribute and method uses), each with its
    source line."""
    workspace = workspace_of(ctx)
    name = symbol.rsplit(".", 1)[-1]
    engine = await engine_for(ctx)
    found = await workspace.query(lambda: engine.references(name, limit=offset + limit + 1))
    hits = await workspace.query(lambda: convert.hits(engine, found[offset : offset + limit]))
    shown = fit_items(hits, _budget(workspace))
    more = shown < len(hits) or len(found) > offset + limit
    return ReferencePage(symbol=name, references=hits[:shown], next_offset=next_offset(offset, shown, more))


async def file_outline(ctx: Context[Any], path: RelPath, offset: Offset = 0) -> FileOutline:
    """The definitions of one file in source order, nested (methods inside their class), with their signatures
    and line ranges."""
    workspace = workspace_of(ctx)
    rel = relative(workspace, path)
    return await outline_page(workspace, await engine_for(ctx), rel, offset)


async def read_code(
    ctx: Context[Any],
    path: RelPath,
    start_line: Line = 1,
    end_line: Annotated[
        int | None, Field(ge=1, le=10_000_000, description="1-based last line (inclusive).")
    ] = None,
) -> CodeSlice:
    """Read lines of a file in the workspace (secret values masked). A long range is cut to keep the answer
    short: continue from `next_start_line`."""
    workspace = workspace_of(ctx)
    rel = relative(workspace, path)
    engine = await engine_for(ctx)
    (wanted, total), language = await workspace.query(
        lambda: (lookup.code_lines(engine, rel, start_line, end_line), engine.language(rel))
    )
    shown = fit_lines(wanted, _budget(workspace))
    end = start_line - 1 + shown
    return CodeSlice(
        path=rel,
        language=language,
        start_line=start_line,
        end_line=end,
        total_lines=total,
        text="\n".join(wanted[:shown]),
        next_start_line=end + 1 if shown < len(wanted) else None,
    )


async def build_context(
    ctx: Context[Any],
    task: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=20_000,
            description="The task in words, e.g. `add retries to the client`.",
        ),
    ] = None,
    path: RelPath | None = None,
    line: Line | None = None,
    budget_tokens: Budget = 8192,
) -> BuiltContext:
    """The engine's ranked repository context for a task in words and/or a cursor (`path`, `line`): the
    relevant files, definitions and signatures, in Markdown ready to paste into a prompt."""
    workspace = workspace_of(ctx)
    if task is None and path is None:
        raise ToolError(
            "Give `task` (what you want to do), or `path` (and `line`) of the code you are working on."
        )
    rel = relative(workspace, path) if path is not None else None
    budget = min(budget_tokens, _budget(workspace))
    engine = await engine_for(ctx)
    prompt = await workspace.assemble(lambda: lookup.task_context(engine, task, rel, line, budget))
    return BuiltContext(
        text=prompt.text, tokens=prompt.tokens, budget_tokens=budget, sections=convert.sections(prompt.sections)
    )


async def review_changes(
    ctx: Context[Any],
    rev: Revision | None = None,
    diff: Annotated[
        str | None,
        Field(min_length=1, max_length=8_000_000, description="A unified diff to review instead of `rev`."),
    ] = None,
    budget: Budget = 16_384,
) -> ReviewContext:
    """The context to review a change: its diff, where the changed definitions are used (old callers of removed
    or renamed ones first), the changed definitions as they are now, their tests and the signatures they call."""
    workspace = workspace_of(ctx)
    if rev is not None and diff is not None:
        raise ToolError("Give `rev` or `diff`, not both.")
    return await review_context(workspace, await engine_for(ctx), rev, diff, budget)


async def review_context(
    workspace: Workspace, engine: Engine, rev: str | None, diff: str | None, budget: int
) -> ReviewContext:
    """The review of ``rev`` or ``diff`` (see `context.review.change_of`) within ``budget`` and the output cap,
    assembled on the prompt thread; shared by the `review_changes` tool and the `review_diff` prompt."""
    limit = min(budget, _budget(workspace))
    result = await workspace.assemble(lambda: review(engine, rev, diff, budget=limit))
    text = result.messages[-1]["content"]
    return ReviewContext(
        instruction=result.messages[0]["content"],
        text=text,
        tokens=tokens.count(text),
        budget_tokens=limit,
        changed=[ChangedFile(path=file.path, symbols=file.symbols) for file in result.changed],
        sections=convert.sections(result.sections),
    )


async def complete_code(
    ctx: Context[Any],
    path: RelPath,
    line: Line,
    column: Column,
    buffer: Annotated[
        str | None,
        Field(
            max_length=8_000_000, description="The file's current text when it differs from the saved file."
        ),
    ] = None,
) -> Completion:
    """Qwen3-Coder's fill-in-the-middle completion at a position, with repository-level context (the file, its
    imports and related definitions). Returns the text to insert at the cursor."""
    workspace = workspace_of(ctx)
    rel = relative(workspace, path)
    engine = await engine_for(ctx)
    prompt = await workspace.assemble(lambda: engine.fim_prompt(rel, line - 1, column - 1, buffer=buffer))
    text = await workspace.model().fim_text(prompt)
    text, _ = fit_text(text, _budget(workspace))
    return Completion(path=rel, line=line, column=column, text=text, context_tokens=prompt.tokens)


async def ask_qwen(
    ctx: Context[Any],
    question: Annotated[
        str, Field(min_length=1, max_length=50_000, description="The question or small task.")
    ],
    paths: Annotated[
        list[RelPath] | None,
        Field(max_length=100, description="Files the question is about; they are favoured in the context."),
    ] = None,
    budget_tokens: Annotated[
        int, Field(ge=1024, le=262_144, description="Tokens of repository context to send with the question.")
    ] = 16_384,
    tools: Annotated[
        bool,
        Field(
            description="Let Qwen3-Coder look things up with the engine's read-only tools (search, definitions, "
            "references, code, outlines) before answering; false: answer in one shot from the context."
        ),
    ] = True,
    max_rounds: Annotated[
        int, Field(ge=1, le=32, description="Rounds of tool calls before Qwen3-Coder must answer.")
    ] = 8,
) -> Answer:
    """Delegate a question or a small coding task to Qwen3-Coder together with this repository's ranked
    context; it looks up what else it needs with the engine's read-only tools (each call is reported as a
    progress notification) and answers citing path:line."""
    workspace = workspace_of(ctx)
    focus = tuple(relative(workspace, path) for path in paths or ())
    engine = await engine_for(ctx)
    reporter = _Reporter(ctx)
    answer = await ask(
        engine,
        workspace.model(),
        question,
        focus=focus,
        budget=budget_tokens,
        limits=AgentLimits(max_rounds=max_rounds),
        tools=tools,
        on_text=reporter.text,
        on_event=reporter.event,
        run=workspace.assemble,
    )
    text, truncated = fit_text(answer.text, _budget(workspace))
    return Answer(
        answer=text,
        truncated=truncated,
        context_tokens=answer.context.tokens,
        context_files=sorted({section.path for section in answer.context.sections}),
        tool_calls=[call.describe() for call in answer.calls],
        stopped=answer.stopped,
    )


class _Reporter:
    """Tells the client how an answer is coming along, in progress notifications: each tool call as it happens
    (MCP's log messages are deprecated, SEP-2577), and the answer's size at most every
    `PROGRESS_INTERVAL_SECONDS` while it streams (clients that reset their timeout on progress then wait for
    long answers)."""

    def __init__(self, ctx: Context[Any]) -> None:
        self.ctx = ctx
        self.size = 0
        self.steps = 0
        self.reported = time.monotonic()

    async def text(self, piece: str) -> None:
        self.size += len(piece)
        if time.monotonic() - self.reported >= PROGRESS_INTERVAL_SECONDS:
            await self._progress(f"Qwen3-Coder is answering ({self.size:,} characters so far).")

    async def event(self, event: AgentEvent) -> None:
        message = f"Qwen3-Coder {'called ' if isinstance(event, ToolCalled) else ''}{event.describe()}"
        await self._progress(message)

    async def _progress(self, message: str) -> None:
        self.reported = time.monotonic()
        self.steps += 1
        await self.ctx.report_progress(self.steps, None, message)


async def index_status(ctx: Context[Any]) -> IndexStatus:
    """Files, symbols and languages in the index, how fresh it is, and which files were skipped and why.
    Answers at once, also while the first index is being built."""
    workspace = workspace_of(ctx)
    engine = workspace.engine
    stats = None
    if engine is not None:
        try:
            stats = await workspace.query(engine.stats)
        except IndexUnavailable as exc:
            workspace.index_damaged(str(exc))
    status = IndexStatus(
        state=workspace.state,
        message=scrub(workspace.describe_state(), workspace.root),
        root=workspace.root.name,
        files_done=workspace.files_done,
        files_total=workspace.files_total,
        files=0,
        symbols=0,
        references=0,
        languages={},
        skipped={},
        last_indexed=None,
        watching=workspace.watching,
        error=scrub(workspace.error, workspace.root) if workspace.error else None,
    )
    if stats is None:
        return status
    health = engine.health() if engine is not None else None
    if health is not None and health.state == "disk_full":
        status = status.model_copy(update={"state": "disk_full", "message": scrub(health.detail, workspace.root)})
    last = (
        datetime.fromtimestamp(stats.last_indexed, UTC).isoformat(timespec="seconds")
        if stats.last_indexed
        else None
    )
    return status.model_copy(
        update={
            "files": stats.files,
            "symbols": stats.symbols,
            "references": stats.references,
            "languages": dict(stats.languages),
            "skipped": dict(stats.skipped),
            "ignored": [IgnoredRule.model_validate(by.to_json()) for by in stats.ignored],
            "last_indexed": last,
            "message": _with_why_empty(status.message, stats),
        }
    )


def _with_why_empty(message: str, stats: IndexStats) -> str:
    """The status message, saying why nothing is indexed when a finished index holds no file."""
    if stats.files or not stats.last_indexed:
        return message
    why = stats.ignored_summary or "the workspace holds no source file of a supported language"
    return f"{message} Nothing was indexed: {why}."


READ_ONLY_TOOLS = (
    repo_map,
    search_symbols,
    get_definition,
    find_references,
    file_outline,
    read_code,
    build_context,
    review_changes,
    index_status,
)
MODEL_TOOLS = (complete_code, ask_qwen)
