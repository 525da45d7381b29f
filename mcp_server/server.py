"""The qwen-mcp tools, resources and prompts: thin protocol glue over `context.Engine` and the model client.

Each tool converts its arguments (1-based positions, workspace-relative paths checked by
`context.index.scan.resolve_inside`), makes its engine calls on the engine thread (`Workspace.run`), and converts
the result into a `mcp_server.schemas` model, capped at `ServerSettings.max_output_tokens` with an offset or a
next line to continue from. Ranking, prompt assembly and masking live in the engine, and the wording of the
prompt templates shared with the editor's code actions in `context.serve.tasks`; none of it is repeated here.

Errors: `_tool_boundary` is the one place that turns failures into tool errors a model can act on — engine
errors (`QwenContextError`: a bad path, an unknown file, an unreachable model) keep their message, anything
else becomes a short message without a traceback (the traceback goes to the server log on stderr).
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing, asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal, ParamSpec, TypeVar, cast

from mcp.server.mcpserver import Context, MCPServer, UserMessage
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from context.errors import QwenContextError
from context.index.symbols import Definition, Reference
from context.prompt import tokens
from context.serve import tasks
from mcp_server.schemas import (
    Answer,
    BuiltContext,
    CodeSlice,
    Completion,
    ContextSection,
    Definitions,
    DefinitionWithCode,
    FileOutline,
    IndexStatus,
    OutlineItem,
    ReferenceHit,
    ReferencePage,
    RepoMap,
    Symbol,
    SymbolPage,
)
from mcp_server.workspace import PROGRESS_INTERVAL_SECONDS, ProgressReporter, ServerSettings, Workspace

if TYPE_CHECKING:
    from context.engine import Engine, OutlineNode
    from context.prompt.result import Prompt

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)

INSTRUCTIONS = """\
Code intelligence for the repository at the workspace root, from a local tree-sitter index, plus Qwen3-Coder.
Paths are relative to the root; lines and columns are 1-based. Start with repo_map or search_symbols, then
get_definition / find_references / read_code; build_context gives ranked context for a task. complete_code and
ask_qwen call the configured Qwen3-Coder endpoint. Long results are paginated: pass the returned offset or
next_start_line to continue."""

#: Share of the output cap given to a result's text or items, counted as they are: the SDK sends results as
#: indented JSON, whose escapes and indentation add about 20% to code and the fields around it the rest.
TEXT_SHARE = 0.7
#: Indentation of a list item in the JSON the SDK sends (items sit two levels deep).
LIST_INDENT = 4
#: Definitions returned by one get_definition call; the rest are counted in `omitted`.
MAX_DEFINITIONS = 10
#: Longest source line quoted in a reference hit.
MAX_SOURCE_CHARS = 240
#: Close matches suggested when a symbol is not found.
SUGGESTIONS = 5
#: Token budget of the `repo://map` resource.
DEFAULT_MAP_BUDGET = 4096
#: Token budget of the repository context embedded in a prompt template.
PROMPT_CONTEXT_BUDGET = 8192
#: Characters of a diff used as the query of the review prompt's context.
MAX_PROMPT_TASK_CHARS = 20_000

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
Offset = Annotated[
    int, Field(ge=0, le=1_000_000, description="Items to skip (from a previous `next_offset`).")
]


# --- the one error boundary ---------------------------------------------------------------------------------


def _tool_boundary(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Pass ToolError on, turn engine errors into ToolError, hide anything else behind a short message."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except ToolError:
            raise
        except QwenContextError as exc:
            raise ToolError(str(exc)) from None
        except Exception:
            logger.exception("tool %s failed", fn.__name__)
            raise ToolError(
                f"{fn.__name__} failed with an internal error; the server log has the details."
            ) from None

    return wrapper


# --- conversions --------------------------------------------------------------------------------------------


def _workspace(ctx: Context) -> Workspace:
    """The workspace the lifespan created (the SDK types the lifespan state loosely)."""
    return cast(Workspace, ctx.request_context.lifespan_context)


async def _ready(workspace: Workspace, report: ProgressReporter | None = None) -> Engine:
    """The indexed engine, after waiting for the first index; a ToolError with the index's state if late."""
    engine = await workspace.wait_ready(report)
    if engine is None:
        raise ToolError(f"{workspace.describe_state()} Try again in a few seconds, or call index_status.")
    return engine


async def _engine(ctx: Context) -> Engine:
    """The indexed engine for a tool call, sending progress notifications while the first index is built."""

    async def report(done: int, total: int, message: str) -> None:
        await ctx.report_progress(done, total or None, message)

    return await _ready(_workspace(ctx), report)


def _relative(workspace: Workspace, path: str) -> str:
    """The workspace-relative POSIX form of a user path, refused unless it stays inside the root."""
    from context.index.scan import resolve_inside  # loaded by the engine thread at start-up (see Workspace)

    return resolve_inside(workspace.root, path).relative_to(workspace.root).as_posix()


def _lines(text: str) -> list[str]:
    """The lines of a file as the engine numbers them (a final newline does not start a line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _fit_lines(lines: Sequence[str], budget: int) -> int:
    """How many of `lines` fit in `budget` tokens (at least one, so a page always moves on)."""
    used = 0
    for n, line in enumerate(lines):
        used += tokens.count(line) + 1
        if used > budget and n > 0:
            return n
    return len(lines)


def _fit_items(items: Sequence[M], budget: int) -> int:
    """How many of `items` fit in `budget` tokens as the indented JSON the client receives (at least one)."""
    used = 0
    for n, item in enumerate(items):
        used += tokens.count(item.model_dump_json(indent=LIST_INDENT))
        if used > budget and n > 0:
            return n
    return len(items)


def _fit_text(text: str, budget: int) -> tuple[str, bool]:
    """`text` cut at a line boundary to fit `budget` tokens, and whether it was cut."""
    if tokens.count(text) <= budget:
        return text, False
    lines = text.split("\n")
    return "\n".join(lines[: _fit_lines(lines, budget)]), True


def _symbol(definition: Definition) -> Symbol:
    return Symbol(
        name=definition.name,
        kind=definition.kind,
        qualname=definition.qualname,
        path=definition.path,
        line=definition.line + 1,
        end_line=definition.end_line + 1,
        column=definition.column + 1,
        signature=definition.signature,
        doc=definition.doc,
    )


def _outline_item(node: OutlineNode) -> OutlineItem:
    definition = node.definition
    return OutlineItem(
        name=definition.name,
        kind=definition.kind,
        line=definition.line + 1,
        end_line=definition.end_line + 1,
        signature=definition.signature,
        children=[_outline_item(child) for child in node.children],
    )


def _sections(prompt: Prompt) -> list[ContextSection]:
    return [
        ContextSection(path=section.path, kind=section.kind, tokens=section.tokens, reason=section.reason)
        for section in prompt.sections
    ]


def _text_budget(workspace: Workspace) -> int:
    return int(workspace.settings.max_output_tokens * TEXT_SHARE)


def _definition_at(engine: Engine, path: str, line: int, column: int | None) -> Definition | None:
    """The definition of the name at a 1-based position; without a column, the line's first word."""
    if column is None:
        lines = _lines(engine.text(path))
        if line > len(lines):
            raise ToolError(f"Line {line} is past the end of {path} ({len(lines)} lines).")
        text = lines[line - 1]
        column = len(text) - len(text.lstrip()) + 1
    return engine.definition_at(path, line - 1, column - 1)


def _with_code(engine: Engine, definition: Definition, budget: int) -> DefinitionWithCode:
    lines = _lines(engine.text(definition.path))[definition.line : definition.end_line + 1]
    shown = _fit_lines(lines, budget)
    return DefinitionWithCode(
        **_symbol(definition).model_dump(), code="\n".join(lines[:shown]), code_truncated=shown < len(lines)
    )


def _hits(engine: Engine, references: Sequence[Reference]) -> list[ReferenceHit]:
    files: dict[str, list[str]] = {}
    hits: list[ReferenceHit] = []
    for reference in references:
        if reference.path not in files:
            files[reference.path] = _lines(engine.text(reference.path))
        lines = files[reference.path]
        source = lines[reference.line].strip() if reference.line < len(lines) else ""
        hits.append(
            ReferenceHit(
                path=reference.path,
                line=reference.line + 1,
                column=reference.column + 1,
                kind=reference.kind,
                source=source[:MAX_SOURCE_CHARS],
            )
        )
    return hits


async def _streamed_answer(ctx: Context, workspace: Workspace, question: str, prompt: Prompt) -> str:
    """Qwen3-Coder's whole answer, with a progress notification at most every `PROGRESS_INTERVAL_SECONDS`
    while it streams (clients that reset their timeout on progress then wait for long answers)."""
    pieces: list[str] = []
    reported = time.monotonic()
    async with aclosing(workspace.model().ask_stream(question, prompt)) as stream:
        async for piece in stream:
            pieces.append(piece)
            if time.monotonic() - reported >= PROGRESS_INTERVAL_SECONDS:
                reported = time.monotonic()
                size = sum(map(len, pieces))
                await ctx.report_progress(
                    size, None, f"Qwen3-Coder is answering ({size:,} characters so far)."
                )
    return "".join(pieces)


def _next_offset(offset: int, shown: int, more: bool) -> int | None:
    return offset + shown if more else None


async def _outline_page(workspace: Workspace, engine: Engine, rel: str, offset: int) -> FileOutline:
    """The outline of `rel` from its `offset`-th top-level definition, as much as fits the output cap."""
    nodes, language = await workspace.run(lambda: (engine.outline(rel), engine.language(rel)))
    items = [_outline_item(node) for node in nodes[offset:]]
    shown = _fit_items(items, _text_budget(workspace))
    return FileOutline(
        path=rel,
        language=language,
        items=items[:shown],
        next_offset=_next_offset(offset, shown, shown < len(items)),
    )


# --- tools --------------------------------------------------------------------------------------------------


async def repo_map(
    ctx: Context,
    focus_paths: Annotated[
        list[RelPath] | None,
        Field(max_length=100, description="Files to centre the map on, e.g. the ones you are editing."),
    ] = None,
    budget_tokens: Budget = 4096,
) -> RepoMap:
    """The ranked map of the repository: its most important files with their key definitions (signatures),
    most relevant first. Start here to find your way around an unfamiliar codebase."""
    workspace = _workspace(ctx)
    focus = tuple(_relative(workspace, path) for path in focus_paths or ())
    budget = min(budget_tokens, _text_budget(workspace))
    engine = await _engine(ctx)
    text = await workspace.run(lambda: engine.repo_map(focus=focus, budget=budget))
    return RepoMap(text=text, tokens=tokens.count(text), budget_tokens=budget)


async def search_symbols(
    ctx: Context,
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
    workspace = _workspace(ctx)
    engine = await _engine(ctx)
    found = await workspace.run(lambda: engine.search(query, kind=kind, limit=offset + limit + 1))
    page = [_symbol(definition) for definition in found[offset : offset + limit]]
    shown = _fit_items(page, _text_budget(workspace))
    more = shown < len(page) or len(found) > offset + limit
    return SymbolPage(symbols=page[:shown], next_offset=_next_offset(offset, shown, more))


async def get_definition(
    ctx: Context,
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
    workspace = _workspace(ctx)
    if symbol is None and (path is None or line is None):
        raise ToolError(
            "Give `symbol`, or `path` and `line` (and `column`) of a place where the name is used."
        )
    rel = _relative(workspace, path) if path is not None else None
    engine = await _engine(ctx)
    if symbol is not None:
        found = await workspace.run(lambda: engine.definitions_named(symbol))
        if not found:
            close = await workspace.run(lambda: engine.search(symbol, limit=SUGGESTIONS))
            hint = f" Close matches: {', '.join(d.qualname for d in close)}." if close else ""
            raise ToolError(f"No definition named `{symbol}` in the index.{hint}")
    else:
        assert rel is not None and line is not None
        definition = await workspace.run(lambda: _definition_at(engine, rel, line, column))
        if definition is None:
            where = f"{rel}:{line}" + (f":{column}" if column else "")
            raise ToolError(
                f"No indexed definition for the name at {where}; try search_symbols with the name."
            )
        found = [definition]
    shown = found[:MAX_DEFINITIONS]
    budget = _text_budget(workspace) // len(shown)
    definitions = await workspace.run(lambda: [_with_code(engine, d, budget) for d in shown])
    return Definitions(definitions=definitions, omitted=len(found) - len(shown))


async def find_references(
    ctx: Context,
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
    workspace = _workspace(ctx)
    name = symbol.rsplit(".", 1)[-1]
    engine = await _engine(ctx)
    found = await workspace.run(lambda: engine.references(name, limit=offset + limit + 1))
    page = found[offset : offset + limit]
    hits = await workspace.run(lambda: _hits(engine, page))
    shown = _fit_items(hits, _text_budget(workspace))
    more = shown < len(hits) or len(found) > offset + limit
    return ReferencePage(symbol=name, references=hits[:shown], next_offset=_next_offset(offset, shown, more))


async def file_outline(ctx: Context, path: RelPath, offset: Offset = 0) -> FileOutline:
    """The definitions of one file in source order, nested (methods inside their class), with their signatures
    and line ranges."""
    workspace = _workspace(ctx)
    rel = _relative(workspace, path)
    return await _outline_page(workspace, await _engine(ctx), rel, offset)


async def read_code(
    ctx: Context,
    path: RelPath,
    start_line: Line = 1,
    end_line: Annotated[
        int | None, Field(ge=1, le=10_000_000, description="1-based last line (inclusive).")
    ] = None,
) -> CodeSlice:
    """Read lines of a file in the workspace (secret values masked). A long range is cut to keep the answer
    short: continue from `next_start_line`."""
    workspace = _workspace(ctx)
    rel = _relative(workspace, path)
    engine = await _engine(ctx)
    text, language = await workspace.run(lambda: (engine.text(rel), engine.language(rel)))
    lines = _lines(text)
    if start_line > max(len(lines), 1):
        raise ToolError(f"start_line {start_line} is past the end of {rel} ({len(lines)} lines).")
    last = len(lines) if end_line is None else min(end_line, len(lines))
    if last < start_line - 1:
        raise ToolError(f"end_line {end_line} is before start_line {start_line}.")
    wanted = lines[start_line - 1 : last]
    shown = _fit_lines(wanted, _text_budget(workspace))
    end = start_line - 1 + shown
    return CodeSlice(
        path=rel,
        language=language,
        start_line=start_line,
        end_line=end,
        total_lines=len(lines),
        text="\n".join(wanted[:shown]),
        next_start_line=end + 1 if end < last else None,
    )


async def build_context(
    ctx: Context,
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
    workspace = _workspace(ctx)
    if task is None and path is None:
        raise ToolError(
            "Give `task` (what you want to do), or `path` (and `line`) of the code you are working on."
        )
    rel = _relative(workspace, path) if path is not None else None
    budget = min(budget_tokens, _text_budget(workspace))
    engine = await _engine(ctx)
    focus = (rel,) if rel is not None else ()

    def assemble() -> Prompt:
        query = task or ""
        if rel is not None and line is not None:
            query = f"{query}\n{tasks.cursor_query(engine.text(rel), line - 1)}"
        return engine.chat_context(query, focus=focus, budget=budget)

    prompt = await workspace.run(assemble)
    return BuiltContext(
        text=prompt.text, tokens=prompt.tokens, budget_tokens=budget, sections=_sections(prompt)
    )


async def complete_code(
    ctx: Context,
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
    workspace = _workspace(ctx)
    rel = _relative(workspace, path)
    engine = await _engine(ctx)
    prompt = await workspace.run(lambda: engine.fim_prompt(rel, line - 1, column - 1, buffer=buffer))
    text = await workspace.model().fim_text(prompt)
    text, _ = _fit_text(text, _text_budget(workspace))
    return Completion(path=rel, line=line, column=column, text=text, context_tokens=prompt.tokens)


async def ask_qwen(
    ctx: Context,
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
) -> Answer:
    """Delegate a question or a small coding task to Qwen3-Coder together with this repository's ranked
    context, and return its answer."""
    workspace = _workspace(ctx)
    focus = tuple(_relative(workspace, path) for path in paths or ())
    engine = await _engine(ctx)
    prompt = await workspace.run(lambda: engine.chat_context(question, focus=focus, budget=budget_tokens))
    answer = await _streamed_answer(ctx, workspace, question, prompt)
    text, truncated = _fit_text(answer, _text_budget(workspace))
    return Answer(
        answer=text,
        truncated=truncated,
        context_tokens=prompt.tokens,
        context_files=sorted({section.path for section in prompt.sections}),
    )


async def index_status(ctx: Context) -> IndexStatus:
    """Files, symbols and languages in the index, how fresh it is, and which files were skipped and why.
    Answers at once, also while the first index is being built."""
    workspace = _workspace(ctx)
    status = IndexStatus(
        state=workspace.state,
        root=str(workspace.root),
        files_done=workspace.files_done,
        files_total=workspace.files_total,
        files=0,
        symbols=0,
        references=0,
        languages={},
        skipped={},
        last_indexed=None,
        watching=workspace.watching,
        error=workspace.error,
    )
    engine = workspace.engine
    if engine is None:
        return status
    stats = await workspace.run(engine.stats)
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
            "last_indexed": last,
        }
    )


# --- resources and prompts ----------------------------------------------------------------------------------


class _Slot:
    """The workspace of the running lifespan, for handlers the SDK calls without a request context."""

    workspace: Workspace | None = None

    def get(self) -> Workspace:
        if self.workspace is None:
            raise ToolError("The server is not running.")
        return self.workspace


def _resource_boundary(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Resources report the errors tools report, as `ResourceError` (an error response naming the problem)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except (ToolError, QwenContextError) as exc:
            raise ResourceError(str(exc)) from None

    return wrapper


def _add_resources(server: MCPServer[Workspace], slot: _Slot) -> None:
    @server.resource(
        "repo://map",
        name="repo_map",
        title="Repository map",
        mime_type="text/markdown",
        description="The ranked map of the repository: key files and their main signatures.",
    )
    @_resource_boundary
    async def repository_map() -> str:
        workspace = slot.get()
        engine = await _ready(workspace)
        budget = min(DEFAULT_MAP_BUDGET, _text_budget(workspace))
        return await workspace.run(lambda: engine.repo_map(budget=budget))

    @server.resource(
        "repo://outline/{+path}",
        name="file_outline",
        title="File outline",
        mime_type="application/json",
        description="The definitions of one file (path relative to the root), nested, with line ranges.",
    )
    @_resource_boundary
    async def outline(path: str) -> str:
        workspace = slot.get()
        rel = _relative(workspace, path)
        page = await _outline_page(workspace, await _ready(workspace), rel, 0)
        return page.model_dump_json()


async def _prompt_context(slot: _Slot, task: str, paths: Sequence[str]) -> str:
    """The engine's context for a prompt template, or a pointer to the tools while the index is not ready."""
    workspace = slot.get()
    focus = tuple(_relative(workspace, path) for path in paths)
    try:
        engine = await _ready(workspace)
    except ToolError as exc:
        return f"({exc} Use the qwen-context tools to look at the code.)"
    budget = min(PROMPT_CONTEXT_BUDGET, _text_budget(workspace))
    prompt = await workspace.run(lambda: engine.chat_context(task, focus=focus, budget=budget))
    return f"Repository context:\n\n{prompt.text}"


async def _test_file(slot: _Slot, path: str) -> str:
    """Where tests for ``path`` go in the project's layout; '' while the index is not ready."""
    workspace = slot.get()
    rel = _relative(workspace, path)
    engine = workspace.engine
    return await workspace.run(lambda: tasks.test_path_for(engine.files(), rel)) if engine is not None else ""


def _add_prompts(server: MCPServer[Workspace], slot: _Slot) -> None:
    @server.prompt(title="Explain code")
    async def explain(path: str, symbol: str = "") -> list[UserMessage]:
        """Explain how a file, or one symbol in it, works and how the rest of the repository uses it."""
        target = tasks.Target(path, name=symbol)
        context = await _prompt_context(slot, target.query, [path])
        question = tasks.task_prompt(tasks.Task.EXPLAIN, target)
        return [UserMessage(f"{question} Find where it is used with find_references.\n\n{context}")]

    @server.prompt(title="Review a diff")
    async def review_diff(diff: str) -> list[UserMessage]:
        """Review a diff for bugs, broken callers and missing tests, with the context it touches."""
        context = await _prompt_context(slot, diff[:MAX_PROMPT_TASK_CHARS], [])
        hint = "Check the callers a change may break with find_references."
        return [UserMessage(f"{tasks.review_prompt(diff)}\n\n{hint}\n\n{context}")]

    @server.prompt(title="Write tests")
    async def write_tests(path: str, symbol: str = "") -> list[UserMessage]:
        """Write tests for a file or one symbol in it, following the repository's test conventions."""
        target = tasks.Target(path, name=symbol)
        context = await _prompt_context(slot, target.query, [path])
        question = tasks.task_prompt(tasks.Task.TESTS, target, await _test_file(slot, path))
        hint = "Find the existing tests with search_symbols or repo_map."
        return [UserMessage(f"{question} {hint}\n\n{context}")]


# --- the server ---------------------------------------------------------------------------------------------


READ_ONLY_TOOLS = (
    repo_map,
    search_symbols,
    get_definition,
    find_references,
    file_outline,
    read_code,
    build_context,
    index_status,
)
MODEL_TOOLS = (complete_code, ask_qwen)


def build_server(settings: ServerSettings) -> MCPServer[Workspace]:
    """The qwen-mcp server of one workspace root, with its tools, resources and prompts; nothing starts yet.

    The lifespan (entered once per stdio process or HTTP server) creates the `Workspace` and starts indexing
    in the background, so `initialize` and `tools/list` never wait for the index.
    """
    slot = _Slot()

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
        "qwen-context", title="Qwen repository context", instructions=INSTRUCTIONS, lifespan=lifespan
    )
    for fn in (*READ_ONLY_TOOLS, *MODEL_TOOLS):
        annotations = CALLS_MODEL if fn in MODEL_TOOLS else READ_ONLY
        description = inspect.cleandoc(fn.__doc__ or "")
        server.add_tool(_tool_boundary(fn), description=description, annotations=annotations)
    _add_resources(server, slot)
    _add_prompts(server, slot)
    return server
