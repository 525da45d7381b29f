"""The engine's read-only tools as the model calls them: their JSON schemas (OpenAI `tools`) and a `ToolBox`
that runs a call on the engine and answers with text for the model to read.

Every answer cites `path:line` (code comes with its line numbers) so that the model can cite them in turn. What
goes back to the model is what the MCP tools let out: paths checked by `context.agent.lookup.checked_file`
(nothing outside the root, no secret file, no symlink out), text secret-masked, control markers defused, and no
absolute path of this machine. A call that fails (a bad path, a missing name, wrong arguments) is answered
with the reason, as a tool result, never raised: the model reads it and asks again. All answers together stay
within the box's token budget; past it, a call is answered with a note to answer from what was read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from context.agent import lookup
from context.engine import Engine, iter_outline
from context.errors import QwenContextError, UsageError
from context.index.paths import scrub
from context.prompt import tokens
from context.secrets import mask_secrets

#: Definitions shown by one get_definition call.
MAX_DEFINITIONS = 5
#: Most definitions or uses one search_symbols or find_references call lists.
MAX_RESULTS = 500
#: Tokens of repository context build_context returns unless asked for fewer.
CONTEXT_TOKENS = 4096


def _function(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": properties, "required": required}}}


_PATH = {"type": "string", "description": "File path relative to the repository root, e.g. `src/app.py`."}
_LINE = {"type": "integer", "description": "1-based line number."}

#: The tools offered to the model, in OpenAI's format (Qwen3-Coder's chat template renders them as its own).
TOOLS: tuple[dict[str, Any], ...] = (
    _function("search_symbols", "Find definitions (functions, classes, methods, types, constants) by name or "
              "part of a name across the repository.",
              {"query": {"type": "string", "description": "A name or part of one."},
               "limit": {"type": "integer", "description": "How many results (default 20)."}}, ["query"]),
    _function("get_definition", "The code of a definition, by name (`symbol`, e.g. `Class.method`) or by the "
              "position of a use of the name (`path` and `line`, optionally `column`).",
              {"symbol": {"type": "string", "description": "A name or qualified name."}, "path": _PATH,
               "line": _LINE, "column": {"type": "integer", "description": "1-based column."}}, []),
    _function("find_references", "Where a name is used across the repository, each use with its source line.",
              {"symbol": {"type": "string", "description": "The name; for `Class.method`, `method`."},
               "limit": {"type": "integer", "description": "How many uses (default 50)."}}, ["symbol"]),
    _function("read_code", "Read lines of a file, numbered.",
              {"path": _PATH, "start_line": _LINE, "end_line": {"type": "integer",
                                                                "description": "1-based last line (inclusive)."}},
              ["path"]),
    _function("file_outline", "The definitions of one file with their signatures and line ranges.",
              {"path": _PATH}, ["path"]),
    _function("build_context", "The engine's ranked repository context for a task in words and/or a file: the "
              "relevant files, definitions and signatures.",
              {"task": {"type": "string", "description": "The task or question in words."}, "path": _PATH,
               "line": _LINE, "budget_tokens": {"type": "integer",
                                                "description": f"Tokens of context (default {CONTEXT_TOKENS})."}},
              []),
)

TOOL_NAMES = tuple(tool["function"]["name"] for tool in TOOLS)


@dataclass(frozen=True)
class ToolResult:
    """One call's answer as the model reads it, and how it went."""

    name: str
    arguments: Mapping[str, Any]
    text: str
    ok: bool  # False: refused or failed (the text says why)
    tokens: int
    cut: bool = False  # the answer was cut to fit the budget


def _numbered(lines: list[str], first: int) -> list[str]:
    """Lines with their 1-based numbers, as `read_code` shows them."""
    return [f"{first + n:>6}\t{line}" for n, line in enumerate(lines)]


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0]


def _string(arguments: Mapping[str, Any], name: str, required: bool = False) -> str | None:
    value = arguments.get(name)
    if value is None or value == "":
        if required:
            raise UsageError(f"`{name}` is required.")
        return None
    if not isinstance(value, str):
        raise UsageError(f"`{name}` must be a string, got {value!r}.")
    return value


def _integer(arguments: Mapping[str, Any], name: str, default: int | None = None) -> int | None:
    value = arguments.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UsageError(f"`{name}` must be a positive whole number, got {value!r}.")
    return value


class ToolBox:
    """The tools of one conversation on one engine, sharing a budget of ``budget`` tokens of answers; one answer
    takes at most ``result_tokens``. `call` is blocking (engine queries): run it off the event loop."""

    def __init__(self, engine: Engine, *, budget: int, result_tokens: int) -> None:
        self.engine = engine
        self.budget = budget
        self.result_tokens = result_tokens
        self.used = 0
        self._tools: dict[str, Callable[[Mapping[str, Any], int], str]] = {
            "search_symbols": self._search_symbols, "get_definition": self._get_definition,
            "find_references": self._find_references, "read_code": self._read_code,
            "file_outline": self._file_outline, "build_context": self._build_context}

    @property
    def remaining(self) -> int:
        """Tokens of answers still allowed."""
        return max(0, self.budget - self.used)

    def call(self, name: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Run one call; its answer (or the reason it was refused) as text within the budget left."""
        tool = self._tools.get(name)
        if tool is None:
            return self.refuse(name, arguments, f"Error: there is no tool `{name}`; the tools are "
                                                f"{', '.join(TOOL_NAMES)}.")
        if self.remaining <= 0:
            return self.refuse(name, arguments, f"Not run: the budget of {self.budget:,} tokens of tool results is "
                                                "spent. Answer from what you have read.")
        cap = min(self.result_tokens, self.remaining)
        try:
            text = tool(arguments, cap)
        except QwenContextError as exc:
            return self.refuse(name, arguments, f"Error: {exc}")
        return self._result(name, arguments, text, ok=True, cap=cap)

    def refuse(self, name: str, arguments: Mapping[str, Any], why: str) -> ToolResult:
        """A call answered with the reason it was not run."""
        return self._result(name, arguments, why, ok=False)

    def _result(self, name: str, arguments: Mapping[str, Any], text: str, *, ok: bool,
                cap: int | None = None) -> ToolResult:
        """The answer made safe for the model (masked, defused, no machine path), cut to ``cap``, and counted."""
        text = tokens.defuse(mask_secrets(scrub(text, self.engine.root)))
        cut = False
        if cap is not None:
            text, cut = tokens.fit_text(text, cap)
            if cut:
                text += "\n[cut to fit the tool budget: ask for a narrower range or fewer results]"
        size = tokens.count(text)
        self.used += size
        return ToolResult(name, dict(arguments), text, ok, size, cut)

    # --- the tools ---------------------------------------------------------------------------------------------

    def _search_symbols(self, arguments: Mapping[str, Any], cap: int) -> str:
        query = _string(arguments, "query", required=True)
        assert query is not None
        found = self.engine.search(query, limit=min(_integer(arguments, "limit", 20) or 20, MAX_RESULTS))
        if not found:
            return f"No definition matches `{query}`."
        return "\n".join(f"{d.path}:{d.line + 1}\t{d.kind} {d.qualname}\t{_first_line(d.signature)}" for d in found)

    def _get_definition(self, arguments: Mapping[str, Any], cap: int) -> str:
        found = lookup.definitions(self.engine, _string(arguments, "symbol"), _string(arguments, "path"),
                                   _integer(arguments, "line"), _integer(arguments, "column"))
        shown = found[:MAX_DEFINITIONS]
        share = max(1, cap // len(shown))
        blocks = []
        for d in shown:
            lines = _numbered(lookup.definition_lines(self.engine, d), d.line + 1)
            kept = tokens.fit_lines(lines, share)
            more = (f"\n[{len(lines) - kept} more lines: read_code from line {d.line + 1 + kept}]"
                    if kept < len(lines) else "")
            blocks.append(f"{d.path}:{d.line + 1}-{d.end_line + 1} ({d.kind} {d.qualname})\n"
                          + "\n".join(lines[:kept]) + more)
        if len(found) > len(shown):
            blocks.append(f"[{len(found) - len(shown)} more definitions with this name]")
        return "\n\n".join(blocks)

    def _find_references(self, arguments: Mapping[str, Any], cap: int) -> str:
        symbol = _string(arguments, "symbol", required=True)
        assert symbol is not None
        name = symbol.rsplit(".", 1)[-1]
        limit = min(_integer(arguments, "limit", 50) or 50, MAX_RESULTS)
        found = self.engine.references(name, limit=limit + 1)
        if not found:
            return f"No use of `{name}` in the index."
        lines = [f"{ref.path}:{ref.line + 1}:{ref.column + 1}\t{source}"
                 for ref, source in lookup.reference_sources(self.engine, found[:limit])]
        more = "\n[more uses not shown: ask with a larger limit]" if len(found) > limit else ""
        return f"Uses of `{name}`:\n" + "\n".join(lines) + more

    def _read_code(self, arguments: Mapping[str, Any], cap: int) -> str:
        path = _string(arguments, "path", required=True)
        assert path is not None
        rel = lookup.checked_file(self.engine.root, path)
        start = _integer(arguments, "start_line", 1) or 1
        wanted, total = lookup.code_lines(self.engine, rel, start, _integer(arguments, "end_line"))
        lines = _numbered(wanted, start)
        kept = tokens.fit_lines(lines, cap - 40)
        end = start - 1 + kept
        more = f"\n[cut at line {end}: continue with start_line={end + 1}]" if kept < len(lines) else ""
        return f"{rel} lines {start}-{end} of {total}:\n" + "\n".join(lines[:kept]) + more

    def _file_outline(self, arguments: Mapping[str, Any], cap: int) -> str:
        path = _string(arguments, "path", required=True)
        assert path is not None
        rel = lookup.checked_file(self.engine.root, path)
        rows = [f"{'  ' * depth}{d.line + 1}-{d.end_line + 1}\t{d.kind} {_first_line(d.signature) or d.name}"
                for depth, d in iter_outline(self.engine.outline(rel))]
        return f"{rel}:\n" + "\n".join(rows) if rows else f"{rel} has no indexed definitions."

    def _build_context(self, arguments: Mapping[str, Any], cap: int) -> str:
        path = _string(arguments, "path")
        rel = lookup.checked_file(self.engine.root, path) if path is not None else None
        budget = min(_integer(arguments, "budget_tokens", CONTEXT_TOKENS) or CONTEXT_TOKENS, cap)
        prompt = lookup.task_context(self.engine, _string(arguments, "task"), rel, _integer(arguments, "line"),
                                     max(budget, 1024))
        return prompt.text


__all__ = ["CONTEXT_TOKENS", "MAX_DEFINITIONS", "MAX_RESULTS", "TOOLS", "TOOL_NAMES", "ToolBox", "ToolResult"]
