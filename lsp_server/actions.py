"""The code actions: what each one asks the model, and how its reply becomes an edit.

Actions are listed instantly (no model call) and carry their request in ``data``; the model is asked only when
the client resolves one (``codeAction/resolve``) or runs its command. The repository context for every
question comes from ``Engine.chat_context``; this module only phrases the task and turns the reply into text
for a WorkspaceEdit.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from lsprotocol import types

from context.symbols import Definition

#: Code action kind of the test generator (a ``source`` action: it writes another file).
SOURCE_TESTS = "source.qwen.generateTests"
#: Code action kind of the explanation (no edit; LSP has no kind for it).
EXPLAIN_KIND = "qwen.explain"

#: Refactoring instructions offered when the client runs ``qwen.refactor`` without one.
REFACTOR_CHOICES = (
    "Simplify this code without changing its behaviour",
    "Add type annotations",
    "Improve the names of variables and functions",
    "Split this code into smaller functions",
)

_FUNCTION_KINDS = frozenset({"function", "method"})
_DOCUMENTED_KINDS = _FUNCTION_KINDS | {"class", "struct", "interface", "trait", "enum"}
_FENCE = re.compile(r"^```[^\n`]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


class Action(StrEnum):
    """The actions the server offers; the value is stored in the action's ``data``."""

    EXPLAIN = "explain"
    DOCSTRING = "docstring"
    REFACTOR = "refactor"
    FIX = "fix"
    TESTS = "tests"


@dataclass(frozen=True)
class Target:
    """The code an action works on: whole lines ``first..last`` of ``path``, and the definition there."""

    path: str
    language: str
    first: int
    last: int
    code: str
    definition: Definition | None = None


def innermost(definitions: Iterable[Definition], line: int, kinds: frozenset[str]) -> Definition | None:
    """The most deeply nested definition of one of ``kinds`` whose lines contain ``line``."""
    around = [d for d in definitions if d.kind in kinds and d.line <= line <= d.end_line]
    return min(around, key=lambda d: d.end_line - d.line, default=None)


def function_at(definitions: Iterable[Definition], line: int) -> Definition | None:
    """The function or method around ``line``."""
    return innermost(definitions, line, _FUNCTION_KINDS)


def documented_at(definitions: Iterable[Definition], line: int) -> Definition | None:
    """The function, method or type around ``line`` whose docstring the docstring action writes."""
    return innermost(definitions, line, _DOCUMENTED_KINDS)


def question(action: Action, target: Target, detail: str = "") -> str:
    """The task for the model; ``detail`` is the refactoring instruction or the diagnostics to fix."""
    name = f"`{target.definition.qualname}`" if target.definition else "the code"
    code = f"```{target.language}\n{target.code}\n```"
    reply = (f"Reply with the complete rewritten {target.language} code in one fenced code block, keeping "
             "its indentation, and nothing else.")
    match action:
        case Action.EXPLAIN:
            return (f"Explain what this code from `{target.path}` does and how it fits the repository:"
                    f"\n\n{code}")
        case Action.DOCSTRING:
            return (f"Add a docstring (the usual doc comment of {target.language}) to {name} from "
                    f"`{target.path}`, or fix its existing one so it says what the code does and why. "
                    f"Change nothing else.\n\n{code}\n\n{reply}")
        case Action.REFACTOR:
            return f"{detail}. The code is from `{target.path}`:\n\n{code}\n\n{reply}"
        case Action.FIX:
            return (f"Fix these problems the editor reports in `{target.path}`:\n{detail}\n\n"
                    f"The code:\n\n{code}\n\n{reply}")
        case Action.TESTS:
            return (f"Write unit tests for {name} from `{target.path}`, in the style and framework the "
                    f"repository already uses, for a test file at `{detail}`. Include the imports they need."
                    f"\n\n{code}\n\nReply with the test code in one fenced code block and nothing else.")


def code_from_reply(reply: str) -> str:
    """The first fenced code block of a chat reply (else the whole reply), ending with one newline."""
    match = _FENCE.search(reply)
    code = match.group(1) if match else reply.strip("\n")
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


def test_path(path: str, language: str, files: Sequence[str]) -> str:
    """Where the tests for ``path`` go in this project's layout (a relative POSIX path).

    Go and Rust keep tests beside the code (``x_test.go``; the module itself for Rust), JavaScript and
    TypeScript beside it as ``x.test.ts``, Java under ``src/test/java`` mirroring ``src/main/java``;
    everything else in the first of ``tests/`` or ``test/`` that holds files, else next to the module as
    ``test_<module>.<ext>``.
    """
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


def listed(action: Action, title: str, kind: str, data: dict[str, object], apply_command: str | None,
           diagnostics: Sequence[types.Diagnostic] = ()) -> types.CodeAction:
    """A listed code action whose edit is computed later: when the client resolves it, or, for clients that
    cannot resolve edits, when it runs ``apply_command``."""
    data = {"action": action.value, **data}
    command = types.Command(title=title, command=apply_command, arguments=[data]) if apply_command else None
    return types.CodeAction(title=title, kind=kind, diagnostics=list(diagnostics) or None, data=data,
                            command=command)


def run_command(title: str, kind: str, command: str, data: dict[str, object]) -> types.CodeAction:
    """A code action that runs one of the server's commands (its work needs more than an edit)."""
    return types.CodeAction(title=title, kind=kind, command=types.Command(title=title, command=command,
                                                                          arguments=[data]))
