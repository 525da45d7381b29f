"""The coding tasks the servers hand to a model: their wording, where their output goes, how code comes back.

One wording, two adapters: the editor's code actions (lsp_server) and the MCP prompt templates (mcp_server)
both phrase "explain this", "write tests for this", ... through `task_prompt`, so a change to how Qwen3-Coder is
asked shows up in every editor and agent at once. Everything here is pure: text and symbols in, text out; the
repository context that goes with a task comes from `Engine.chat_context`, queried with `Target.query` (or
`cursor_query` for a cursor without a task).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from context.errors import InvalidPosition
from context.index.languages import language_for
from context.index.symbols import Definition
from context.secrets import mask_secrets

#: Refactoring instructions to choose from when the user gives none.
REFACTOR_CHOICES = (
    "Simplify this code without changing its behaviour",
    "Add type annotations",
    "Improve the names of variables and functions",
    "Split this code into smaller functions",
)

#: The system message of every task a server asks the model to do on the user's code.
TASK_SYSTEM_PROMPT = (
    "You are Qwen3-Coder, working on a developer's repository. The user message holds the relevant parts of the "
    "repository (a map of its definitions and excerpts of files), then the task. Values shown as *** are secrets "
    "that were masked: keep them as *** and never invent values for them.")

#: Lines above and below a cursor whose words stand for the task when a cursor comes without one.
CURSOR_WINDOW = (20, 5)

_FUNCTION_KINDS = frozenset({"function", "method"})
_DOCUMENTED_KINDS = _FUNCTION_KINDS | {"class", "struct", "interface", "trait", "enum"}
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
#: Info strings models write on a fence besides the language's own name.
_FENCE_ALIASES = {
    "python": {"py", "python3"}, "javascript": {"js", "jsx"}, "typescript": {"ts"}, "tsx": {"typescript"},
    "rust": {"rs"}, "csharp": {"cs", "c#"}, "cpp": {"c++", "cc"}, "bash": {"sh", "shell"}, "kotlin": {"kt"},
    "ruby": {"rb"}, "go": {"golang"},
}


class Task(StrEnum):
    """A task the servers offer on a piece of code."""

    EXPLAIN = "explain"
    DOCSTRING = "docstring"
    REFACTOR = "refactor"
    FIX = "fix"
    TESTS = "tests"


@dataclass(frozen=True)
class Target:
    """The code a task works on: lines ``first..last`` (0-based, inclusive) of ``path`` and their ``code``.

    ``name`` is the qualified name of the definition there ('' for a plain selection). Without ``code`` (an
    agent that reads the code with its own tools) the task names the file and symbol only.
    """

    path: str
    code: str = ""
    name: str = ""
    first: int = 0
    last: int = 0

    @property
    def language(self) -> str:
        """The language of ``path`` (``text`` when unknown)."""
        return language_for(self.path) or "text"

    @property
    def subject(self) -> str:
        """How the task names its target: ```Class.method`` in ``path```, else ``this code from ``path```` for
        quoted code, else ```path```."""
        if self.name:
            return f"`{self.name}` in `{self.path}`"
        return f"this code from `{self.path}`" if self.code else f"`{self.path}`"

    @property
    def query(self) -> str:
        """The words the repository context is ranked against: the definition's name and its code."""
        return "\n".join(part for part in (self.name, self.code) if part) or self.path


def definition_around(definitions: Iterable[Definition], line: int, task: Task) -> Definition | None:
    """The innermost definition around ``line`` that ``task`` works on as a whole: the function or method for
    tests, the function, method or type for the other tasks."""
    kinds = _FUNCTION_KINDS if task is Task.TESTS else _DOCUMENTED_KINDS
    around = [d for d in definitions if d.kind in kinds and d.line <= line <= d.end_line]
    return min(around, key=lambda d: d.end_line - d.line, default=None)


def target_at(task: Task, path: str, text: str, definitions: Iterable[Definition], first: int, last: int, *,
              cursor: bool = False) -> Target:
    """What ``task`` works on for the selected lines ``first..last`` of ``text`` (the file ``path``, whose
    ``definitions`` these are): the whole definition around ``first`` for docstrings, fixes and tests, and for
    a bare ``cursor``; else the selected lines."""
    definition = definition_around(definitions, first, task)
    if definition is not None and (cursor or task in (Task.DOCSTRING, Task.FIX, Task.TESTS)):
        first, last = definition.line, definition.end_line
    code = "\n".join(text.split("\n")[first:last + 1]).rstrip("\n")
    return Target(path, code, definition.qualname if definition else "", first, last)


def task_prompt(task: Task, target: Target, detail: str = "") -> str:
    """What to ask the model for ``task`` on ``target``.

    ``detail`` is the refactoring instruction, the problems to fix (one per line), or the test file the tests
    go to. With ``target.code`` the code is quoted and, for the tasks that rewrite it, the reply is asked for as
    one fenced block (`code_from_reply` takes it out again).
    """
    language = target.language
    code = f"\n\n```{language}\n{mask_secrets(target.code)}\n```" if target.code else ""
    detail = mask_secrets(detail)
    rewrite = (f"\n\nReply with the complete rewritten {language} code in one fenced code block, keeping its "
               "indentation, and nothing else." if target.code else "")
    match task:
        case Task.EXPLAIN:
            return (f"Explain what {target.subject} does: its purpose, its main steps, and how it fits the rest "
                    f"of the repository.{code}")
        case Task.DOCSTRING:
            return (f"Add a docstring (the usual doc comment of {language}) to {target.subject}, or fix its "
                    f"existing one so it says what the code does and why. Change nothing else.{code}{rewrite}")
        case Task.REFACTOR:
            return f"{detail.rstrip('.')}. The code is {target.subject}:{code}{rewrite}"
        case Task.FIX:
            return f"Fix these problems the editor reports in {target.subject}:\n{detail}{code}{rewrite}"
        case Task.TESTS:
            where = f", for a test file at `{detail}`" if detail else ""
            reply = "\n\nReply with the test code in one fenced code block and nothing else." if code else ""
            return (f"Write unit tests for {target.subject} in the style and framework the repository's "
                    f"existing tests use{where}. Cover the normal case, edge cases and errors, assert behaviour "
                    f"rather than implementation details, and include the imports the tests need.{code}{reply}")


def task_messages(task: Task, target: Target, context: str, detail: str = "") -> list[dict[str, str]]:
    """The chat messages asking the model to do ``task`` on ``target`` with the repository ``context`` (from
    `Engine.chat_context`; '' without a repository). Everything sent is secret-masked, whatever its source."""
    question = task_prompt(task, target, detail)
    user = f"{context.rstrip()}\n\n## Task\n\n{question}" if context.strip() else question
    return [{"role": "system", "content": TASK_SYSTEM_PROMPT}, {"role": "user", "content": mask_secrets(user)}]


def review_prompt(diff: str) -> str:
    """What to ask for the review of a unified ``diff``."""
    return ("Review this diff. Look for bugs, callers the change breaks, missing error handling and missing "
            "tests. Answer with a list of concrete findings, most serious first, each with file and line."
            f"\n\n```diff\n{diff}\n```")


def problems_detail(messages: Iterable[str]) -> str:
    """The ``detail`` of a fix task: one problem a line."""
    return "\n".join(f"- {message}" for message in messages)


def code_from_reply(reply: str, language: str) -> str:
    """The code of a chat reply, ending with one newline: its first fenced block tagged as ``language`` (or
    one of its usual aliases), else its first fenced block, else the whole reply."""
    fences: list[tuple[str, str]] = _FENCE.findall(reply)
    names = {language} | _FENCE_ALIASES.get(language, set())
    tagged = [body for info, body in fences if info.strip().lower() in names]
    code = (tagged or [body for _, body in fences] or [reply.strip("\n")])[0]
    return code.rstrip() + "\n"


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def reindent(code: str, original: str) -> str:
    """``code`` shifted so its first line is indented like ``original``'s (models drop a method's indent)."""
    rows = code.split("\n")
    first = next((row for row in rows if row.strip()), "")
    want = _indent(next((row for row in original.split("\n") if row.strip()), ""))
    have = _indent(first)
    if want == have or not want.startswith(have):
        return code
    extra = want[len(have):]
    return "\n".join(extra + row if row.strip() else row for row in rows)


def test_path_for(files: Sequence[str], path: str) -> str:
    """Where the tests for ``path`` go in this project's layout (a relative POSIX path); ``files`` are the
    project's files (`Engine.files`).

    Go and Rust keep tests beside the code (``x_test.go``; the module itself for Rust), JavaScript and
    TypeScript beside it as ``x.test.ts``, Java under ``src/test/java`` mirroring ``src/main/java``;
    everything else in the first of ``tests/`` or ``test/`` that holds files, else next to the module as
    ``test_<module>.<ext>``.
    """
    language = language_for(path)
    folder, name = posixpath.split(path)
    stem, ext = posixpath.splitext(name)
    if language == "go":
        return posixpath.join(folder, f"{stem}_test.go")
    if language == "rust":
        return path
    if language in ("javascript", "typescript", "tsx"):
        return posixpath.join(folder, f"{stem}.test{ext}")
    if language == "java" and "/src/main/java/" in f"/{path}":
        return f"/{path}".replace("/src/main/java/", "/src/test/java/", 1)[1:-len(name)] + f"{stem}Test{ext}"
    for tests in ("tests", "test"):
        if any(file.startswith(f"{tests}/") for file in files):
            return f"{tests}/test_{stem}{ext}"
    return posixpath.join(folder, f"test_{stem}{ext}")


def cursor_query(text: str, line: int) -> str:
    """The lines around a cursor on ``line`` (0-based) of ``text``: the words the repository context is ranked
    against when a cursor comes without a task (`CURSOR_WINDOW` lines above and below).

    Raises InvalidPosition past the end of the file.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final newline does not start a line
    if line >= max(len(lines), 1):
        raise InvalidPosition(f"Line {line + 1} is past the end of the file, which has {len(lines)} lines.")
    above, below = CURSOR_WINDOW
    return "\n".join(lines[max(0, line - above) : line + 1 + below])
