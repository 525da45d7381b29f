"""The typed results of the MCP tools: each model is a tool's output schema, each field described for a model.

Lines and columns are 1-based here (as editors, diffs and `read_code` count them); the engine's 0-based
positions are converted in `mcp_server.server` and nowhere else. Paths are POSIX paths relative to the
workspace root.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

IndexState = Literal["starting", "indexing", "ready", "rebuilding", "disk_full", "failed"]


class Symbol(BaseModel):
    """A definition: where it is and what it looks like."""

    name: str
    kind: str = Field(
        description="function, method, class, struct, interface, trait, enum, type, constant, ..."
    )
    qualname: str = Field(description="Qualified name, e.g. `Class.method`.")
    path: str
    line: int = Field(description="1-based line of the definition's first line.")
    end_line: int = Field(description="1-based last line (inclusive).")
    column: int = Field(description="1-based column of the name.")
    signature: str = Field(description="The header up to the body, on one line.")
    doc: str = Field(default="", description="First line of its doc comment, if any.")


class SymbolPage(BaseModel):
    """One page of `search_symbols` results, best match first."""

    symbols: list[Symbol]
    next_offset: int | None = Field(
        description="Pass as `offset` to get the next page; null when there is none."
    )


class DefinitionWithCode(Symbol):
    """A definition with its source code."""

    code: str = Field(description="The definition's source lines (secrets masked).")
    code_truncated: bool = Field(description="True when `code` stops early; read the rest with `read_code`.")


class Definitions(BaseModel):
    """Where a symbol is defined; several entries when the name is defined in several places."""

    definitions: list[DefinitionWithCode]
    omitted: int = Field(default=0, description="Further definitions left out to keep the answer short.")


class ReferenceHit(BaseModel):
    """One use of a name."""

    path: str
    line: int = Field(description="1-based line.")
    column: int = Field(description="1-based column.")
    kind: str = Field(description="call, type, attribute or name.")
    source: str = Field(description="The source line, trimmed.")


class ReferencePage(BaseModel):
    """One page of `find_references` results."""

    symbol: str
    references: list[ReferenceHit]
    next_offset: int | None = Field(
        description="Pass as `offset` to get the next page; null when there is none."
    )


class OutlineItem(BaseModel):
    """A definition in a file outline, with the definitions nested in it."""

    name: str
    kind: str
    line: int = Field(description="1-based first line.")
    end_line: int = Field(description="1-based last line (inclusive).")
    signature: str
    children: list[OutlineItem] = Field(default_factory=list)


class FileOutline(BaseModel):
    """The definitions of one file, in source order."""

    path: str
    language: str | None
    items: list[OutlineItem]
    next_offset: int | None = Field(
        description="Pass as `offset` to get the next top-level items; null when there are none."
    )


class CodeSlice(BaseModel):
    """A range of lines of one file."""

    path: str
    language: str | None
    start_line: int = Field(description="1-based first line returned.")
    end_line: int = Field(description="1-based last line returned (inclusive); start_line - 1 when empty.")
    total_lines: int
    text: str = Field(description="The lines, secrets masked.")
    next_start_line: int | None = Field(
        description="The output was cut to stay short: pass as `start_line` to continue. Null when complete."
    )


class RepoMap(BaseModel):
    """The ranked map of the repository: the most important files with their key signatures."""

    text: str
    tokens: int
    budget_tokens: int


class ContextSection(BaseModel):
    """One part of an assembled context and why it was chosen."""

    path: str
    kind: str = Field(description="file, signatures, names or current; for a review: diff, caller, definition, "
                                  "test or callee.")
    tokens: int
    reason: str


class BuiltContext(BaseModel):
    """Repository context ranked for a task, ready to paste into a prompt."""

    text: str
    tokens: int
    budget_tokens: int
    sections: list[ContextSection]


class ChangedFile(BaseModel):
    """A file a change touched and the definitions in it that changed (removed and renamed ones by old name)."""

    path: str
    symbols: list[str]


class ReviewContext(BaseModel):
    """A change under review with the code it reaches, ready to review or to paste into a prompt."""

    instruction: str = Field(description="What a reviewer is asked to do with `text` (the system prompt).")
    text: str = Field(description="The diff, then where changed names are used, the changed definitions, the "
                                  "tests using them and the signatures they call; lines numbered, secrets masked.")
    tokens: int
    budget_tokens: int
    changed: list[ChangedFile]
    sections: list[ContextSection]


class Completion(BaseModel):
    """A fill-in-the-middle completion to insert at the cursor."""

    path: str
    line: int
    column: int
    text: str = Field(description="The text to insert at the cursor (may be empty).")
    context_tokens: int = Field(description="Tokens of repository context sent to the model.")


class Answer(BaseModel):
    """Qwen3-Coder's answer to a question asked with the repository's context."""

    answer: str
    truncated: bool = Field(description="True when the answer was cut to stay under the output cap.")
    context_tokens: int
    context_files: list[str] = Field(description="Files whose content or signatures were in the context.")
    tool_calls: list[str] = Field(
        default_factory=list, description="The engine tools Qwen3-Coder called, in order, e.g. read_code(...)."
    )
    stopped: str | None = Field(
        default=None, description="Why the tool calls were cut short (a limit reached), when they were."
    )


class IgnoredRule(BaseModel):
    """One ignore rule and what it left out of the index."""

    file: str = Field(description="The ignore file holding the rule, relative to the root (e.g. .gitignore).")
    rule: str = Field(description="The rule as written in that file, e.g. /* or node_modules/.")
    files: int = Field(description="Files it left out.")
    folders: int = Field(description="Folders it left out (not entered, so their files are not counted).")


class IndexStatus(BaseModel):
    """The state of the index: what is known, how fresh it is, what was skipped and why."""

    state: IndexState = Field(
        description="starting, indexing, ready, rebuilding (the index file was found damaged), disk_full (the "
        "index could not be updated; it answers from what it holds) or failed."
    )
    message: str = Field(default="", description="Where indexing stands, in words, with counts.")
    root: str = Field(description="Name of the workspace root folder; tool paths are relative to it.")
    files_done: int = Field(description="Files processed so far by the running or last indexing pass.")
    files_total: int = Field(description="Files the running or last indexing pass had to process.")
    files: int
    symbols: int
    references: int
    languages: dict[str, int] = Field(description="Indexed files per language.")
    skipped: dict[str, int] = Field(
        description="Files left out, per reason (binary, too_large, secret, ...)."
    )
    ignored: list[IgnoredRule] = Field(
        default_factory=list, description="What ignore rules (.gitignore, .qwenignore) left out, most first."
    )
    last_indexed: str | None = Field(description="UTC time of the last completed index update, ISO 8601.")
    watching: bool = Field(description="True when file changes are picked up automatically.")
    error: str | None = Field(default=None, description="Why indexing failed, when state is `failed`.")
