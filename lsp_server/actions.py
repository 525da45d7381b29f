"""Code actions as LSP sees them: the listed action, its kind and the data it carries until it is resolved.

Actions are listed instantly (no model call) and carry their request in ``data``; the model is asked only when
the client resolves one (``codeAction/resolve``) or runs its command. What each task asks and how the reply
becomes code is `context.serve.tasks`; this module only builds the protocol objects.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types

from context.serve.tasks import Task

#: Code action kind of the test generator (a ``source`` action: it writes another file).
SOURCE_TESTS = "source.qwen.generateTests"
#: Code action kind of the explanation (no edit; LSP has no kind for it).
EXPLAIN_KIND = "qwen.explain"


def listed(task: Task, title: str, kind: str, data: dict[str, object], apply_command: str | None,
           diagnostics: Sequence[types.Diagnostic] = ()) -> types.CodeAction:
    """A listed code action whose edit is computed later: when the client resolves it, or, for clients that
    cannot resolve edits, when it runs ``apply_command``."""
    data = {"action": task.value, **data}
    command = types.Command(title=title, command=apply_command, arguments=[data]) if apply_command else None
    return types.CodeAction(title=title, kind=kind, diagnostics=list(diagnostics) or None, data=data,
                            command=command)


def run_command(title: str, kind: str, command: str, data: dict[str, object]) -> types.CodeAction:
    """A code action that runs one of the server's commands (its work needs more than an edit)."""
    return types.CodeAction(title=title, kind=kind, command=types.Command(title=title, command=command,
                                                                          arguments=[data]))
