"""Read-only lookups over the engine that both the MCP tools and the agent's tools answer from.

Positions here count from 1, as editors, diffs and the tools' arguments do (the engine counts from 0). Every
path comes in as the user or the model wrote it and is checked by `checked_file` (inside the root, symlinks
resolved, no secret file, not a folder); every failure is a `UsageError` whose message says what to ask instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from context.engine import Engine
from context.errors import InvalidPosition, UsageError
from context.index.scan import resolve_inside
from context.index.symbols import Definition, Reference
from context.prompt.result import Prompt
from context.serve import tasks

#: Close matches suggested when a symbol is not found.
SUGGESTIONS = 5
#: Longest source line quoted for a reference.
MAX_SOURCE_CHARS = 240


def split_lines(text: str) -> list[str]:
    """The lines of a file as the engine numbers them (a final newline does not start a line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def checked_file(root: Path, path: str) -> str:
    """The root-relative POSIX form of a user's file path, refused unless it is a file inside ``root``:
    absolute paths, ``..`` out of the root, symlinks leading out and secret files raise (see `resolve_inside`)."""
    real = resolve_inside(root, path)
    if real.is_dir():
        name = "the workspace root" if real == root else f"`{path}`"
        raise UsageError(f"{name} is a folder; give the path of a file in it, e.g. from repo_map or search_symbols.")
    return real.relative_to(root).as_posix()


def named(engine: Engine, symbol: str) -> list[Definition]:
    """The definitions named ``symbol`` (or qualified so); an error naming close matches when there are none."""
    found = engine.definitions_named(symbol)
    if not found:
        close = engine.search(symbol, limit=SUGGESTIONS)
        hint = f" Close matches: {', '.join(d.qualname for d in close)}." if close else ""
        raise UsageError(f"No definition named `{symbol}` in the index.{hint}")
    return found


def first_word_column(engine: Engine, path: str, line: int) -> int | None:
    """The 1-based column of the first word of a 1-based line; None past the end of the file."""
    lines = split_lines(engine.text(path))
    if line > len(lines):
        return None
    text = lines[line - 1]
    return len(text) - len(text.lstrip()) + 1


def definition_at(engine: Engine, rel: str, line: int, column: int | None) -> Definition:
    """The definition of the name at a 1-based position (without a column, the line's first word)."""
    at = column or first_word_column(engine, rel, line)
    if at is None:
        raise InvalidPosition(f"Line {line} is past the end of {rel}.")
    definition = engine.definition_at(rel, line - 1, at - 1)
    if definition is None:
        where = f"{rel}:{line}" + (f":{column}" if column else "")
        raise UsageError(f"No indexed definition for the name at {where}; try search_symbols with the name.")
    return definition


def definitions(engine: Engine, symbol: str | None, path: str | None, line: int | None,
                column: int | None = None) -> list[Definition]:
    """The definitions of ``symbol``, or of the name used at ``path``:``line`` (and ``column``)."""
    if symbol:
        return named(engine, symbol)
    if path is None or line is None:
        raise UsageError("Give `symbol`, or `path` and `line` (and `column`) of a place where the name is used.")
    return [definition_at(engine, checked_file(engine.root, path), line, column)]


def definition_lines(engine: Engine, definition: Definition) -> list[str]:
    """The source lines of a definition (masked, as every text the engine hands out)."""
    return split_lines(engine.text(definition.path))[definition.line : definition.end_line + 1]


def code_lines(engine: Engine, rel: str, start_line: int, end_line: int | None) -> tuple[list[str], int]:
    """Lines ``start_line``..``end_line`` (1-based, inclusive; None: to the end) of a checked file, and the
    file's number of lines; a range outside the file is an error saying why."""
    lines = split_lines(engine.text(rel))
    if start_line > max(len(lines), 1):
        raise InvalidPosition(f"start_line {start_line} is past the end of {rel} ({len(lines)} lines).")
    last = len(lines) if end_line is None else min(end_line, len(lines))
    if last < start_line - 1:
        raise UsageError(f"end_line {end_line} is before start_line {start_line}.")
    return lines[start_line - 1 : last], len(lines)


def reference_sources(engine: Engine, references: Sequence[Reference]) -> list[tuple[Reference, str]]:
    """References with their source lines, stripped and cut (each file read once)."""
    files: dict[str, list[str]] = {}
    found = []
    for reference in references:
        if reference.path not in files:
            files[reference.path] = split_lines(engine.text(reference.path))
        lines = files[reference.path]
        source = lines[reference.line].strip() if reference.line < len(lines) else ""
        found.append((reference, source[:MAX_SOURCE_CHARS]))
    return found


def task_context(engine: Engine, task: str | None, rel: str | None, line: int | None, budget: int) -> Prompt:
    """The ranked context for a task in words and/or a cursor (a checked path, a 1-based line)."""
    if not task and rel is None:
        raise UsageError("Give `task` (what you want to do), or `path` (and `line`) of the code you are working on.")
    query = task or ""
    if rel is not None and line is not None:
        query = f"{query}\n{tasks.cursor_query(engine.text(rel), line - 1)}"
    return engine.chat_context(query, focus=(rel,) if rel else (), budget=budget)


__all__ = ["MAX_SOURCE_CHARS", "SUGGESTIONS", "checked_file", "code_lines", "definition_at", "definition_lines",
           "definitions", "first_word_column", "named", "reference_sources", "split_lines", "task_context"]
