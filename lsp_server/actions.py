"""The code actions: listed at once, computed by the model only when resolved or run, applied only when safe.

Actions are listed instantly (no model call) and carry their request in ``data``; the model is asked only when
the client resolves one (``codeAction/resolve``) or runs its command. What each task asks is
`context.serve.tasks` (secret-masked); whether an answer may change the user's code is
`context.serve.edits` (complete, code, parses, a docstring touches nothing else). An answer that fails those
checks is shown to the user and changes nothing. Generated tests are written into the project's test file and
opened in the editor (``window/showDocument``), never left in a hidden buffer. The review of a file's uncommitted
changes (offered only where the file differs from git's ``HEAD``, its unsaved buffer included) asks with the
prompt of `context.review` (the one ``qwen-context review --ask`` sends) and is shown like an explanation:
a message, and the command's result; it never edits anything.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.exceptions import JsonRpcInvalidParams

from context.errors import QwenContextError
from context.index.languages import language_for
from context.index.parse import parse_source
from context.index.symbols import Definition
from context.model.client import ChatReply
from context.review import has_file_changes, head_text, review
from context.serve import edits, tasks
from context.serve.tasks import Target, Task
from lsp_server import convert

#: Code action kind of the test generator (a ``source`` action: it writes another file).
SOURCE_TESTS = "source.qwen.generateTests"
#: Code action kind of the explanation (no edit; LSP has no kind for it).
EXPLAIN_KIND = "qwen.explain"
#: Code action kind of the review of a file's changes (a ``source`` action: it is about the whole file).
SOURCE_REVIEW = "source.qwen.review"

EXPLAIN = "qwen.explain"
REFACTOR = "qwen.refactor"
APPLY = "qwen.apply"
TESTS = "qwen.tests"
REVIEW = "qwen.review"

#: Longest answer put into one message (the rest is elided: an editor's message box is no document).
MAX_SHOWN = 4000

_CONVERTER = get_converter()
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """What a listed action carries (its ``data``, or its command's argument), checked."""

    uri: str
    selection: types.Range
    task: Task | None = None
    instruction: str = ""
    problems: tuple[str, ...] = ()

    @classmethod
    def of(cls, data: Any) -> Request:
        """Read an action's data; malformed data is a one-line ``InvalidParams`` error, never a traceback."""
        try:
            if not isinstance(data, dict) or not isinstance(data.get("uri"), str):
                raise TypeError("no uri")
            selection = _CONVERTER.structure(data.get("range"), types.Range)
            task = Task(data["action"]) if data.get("action") is not None else None
            problems = tuple(str(problem) for problem in data.get("problems") or ())
            return cls(data["uri"], selection, task, str(data.get("instruction") or ""), problems)
        except Exception as exc:
            raise JsonRpcInvalidParams("qwen-lsp: the code action's data is malformed (it needs a uri and a "
                                       "range as listed)") from exc

    def data(self) -> dict[str, object]:
        """The JSON form of the request, as listed."""
        return {"uri": self.uri, "range": _CONVERTER.unstructure(self.selection)}


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


def _shown(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "\n…"


class CodeActions:
    """The code actions of one server: listing, asking the model, checking and applying its answers."""

    def __init__(self, server: Any) -> None:
        # `server` is the QwenLanguageServer that owns these actions; typed loosely because naming its class
        # here would make lsp_server.server and lsp_server.actions import each other.
        self._server = server

    # ---- listing ------------------------------------------------------------------------------------------

    async def offered(self, uri: str, selection: types.Range,
                   diagnostics: Sequence[types.Diagnostic]) -> list[types.CodeAction]:
        """The actions offered at ``selection``; nothing is asked of the model until one is resolved or run."""
        if not self._server.serves_actions(uri):
            return []
        definitions = await self._definitions(uri)
        data = Request(uri, selection).data()
        apply_command = None if self._server.resolves_edits else APPLY
        actions: list[types.CodeAction] = []
        if selection.start != selection.end:
            actions.append(run_command("Qwen: explain the selection", EXPLAIN_KIND, EXPLAIN, data))
            actions.append(run_command("Qwen: refactor the selection…", types.CodeActionKind.RefactorRewrite,
                                       REFACTOR, data))
        if documented := tasks.definition_around(definitions, selection.start.line, Task.DOCSTRING):
            actions.append(listed(Task.DOCSTRING, f"Qwen: add or fix the docstring of {documented.name}",
                                  types.CodeActionKind.RefactorRewrite, data, apply_command))
        if diagnostics:
            problems = {**data, "problems": [d.message for d in diagnostics]}
            actions.append(listed(Task.FIX, f"Qwen: fix {diagnostics[0].message.splitlines()[0]}",
                                  types.CodeActionKind.QuickFix, problems, apply_command, diagnostics))
        if function := tasks.definition_around(definitions, selection.start.line, Task.TESTS):
            actions.append(run_command(f"Qwen: generate tests for {function.name}", SOURCE_TESTS, TESTS,
                                       {"action": Task.TESTS.value, **data}))
        if await self._changed(uri):
            actions.append(run_command("Qwen: review the changes in this file", SOURCE_REVIEW, REVIEW, data))
        return actions

    async def _changed(self, uri: str) -> bool:
        """Whether the document differs from git's ``HEAD`` (its unsaved buffer, when open); False outside a
        workspace folder or a git work tree, or without git. Git runs off the engine's thread, so listing
        never holds up a completion."""
        if (found := self._server.folder_of(uri)) is None:
            return False
        folder, path = found
        try:
            head = await self._server.off_loop(lambda: head_text(folder.root, path))
            return bool(await self._server.workspaces.call(folder, lambda engine: has_file_changes(engine, path,
                                                                                                    head)))
        except QwenContextError as exc:
            logger.info("no review offered in %s: %s", uri, exc)
            return False

    async def _definitions(self, uri: str) -> list[Definition]:
        """The definitions of a document: from its folder's engine, else (a document outside every workspace
        folder) parsed from its own buffer."""
        found = self._server.folder_of(uri)
        try:
            if found is not None:
                folder, path = found
                await self._server.wait_for_index(folder)
                return cast(list[Definition], await self._server.workspaces.call(folder, lambda engine: engine.definitions(path)))
            name, source = self._name(uri), self._server.document(uri).source
            language = language_for(name)
            if language is None:
                return []
            return cast(list[Definition], (await self._server.off_loop(lambda: parse_source(name, source.encode(), language))).definitions)
        except (QwenContextError, OSError) as exc:  # not indexed (yet): offer only what needs no definitions
            logger.info("no definitions for %s: %s", uri, exc)
            return []

    @staticmethod
    def _name(uri: str) -> str:
        path = convert.uri_to_path(uri)
        return path.name if path is not None else uri.rsplit("/", 1)[-1]

    # ---- asking -------------------------------------------------------------------------------------------

    async def _target(self, request: Request, task: Task) -> Target:
        """The code the action works on, in whole lines (see `context.serve.tasks.target_at`)."""
        selection = request.selection
        found = self._server.folder_of(request.uri)
        path = found[1] if found is not None else self._name(request.uri)
        first, last = selection.start.line, selection.end.line
        if selection.end.character == 0 and last > first:  # the selection ends at the start of a line
            last -= 1
        return tasks.target_at(task, path, self._server.document(request.uri).source,
                               await self._definitions(request.uri), first, last,
                               cursor=selection.start == selection.end)

    async def _ask(self, task: Task, target: Target, uri: str, detail: str = "") -> ChatReply | None:
        """The model's answer about ``target`` with its repository context; None (and the failure shown)
        when the model cannot be reached."""
        found = self._server.folder_of(uri)

        async def messages() -> list[dict[str, str]]:
            context = "" if found is None else (await self._server.workspaces.call(
                found[0], lambda engine: engine.chat_context(target.query, focus=(target.path,)))).text
            return tasks.task_messages(task, target, context, detail)

        return await self._chat(messages)

    async def _chat(self, messages: Callable[[], Awaitable[list[dict[str, str]]]]) -> ChatReply | None:
        """The model's answer to ``messages`` (built only once a model is configured); None, and the failure
        shown, when they cannot be built or the model cannot be reached."""
        try:
            model = self._server.require_model()
            reply = await model.chat(await messages())
        except QwenContextError as exc:
            self._server.notice.failed(exc, always=True)
            return None
        self._server.notice.recovered()
        return cast(ChatReply, reply)

    def _refuse(self, task: str, problem: str, reply: ChatReply) -> None:
        """Show an answer that may not be applied, and why; nothing changes."""
        answer = f":\n\n{_shown(reply.content)}" if reply.content.strip() else ""
        self._server.show(f"Qwen ({task}): nothing was changed because {problem}{answer}",
                          types.MessageType.Warning)

    def _present(self, task: str, reply: ChatReply | None) -> str | None:
        """Show an answer that changes nothing (an explanation, a review) in a message; the answer, or None
        when there was none or it was incomplete (then it is shown as a warning)."""
        if reply is None:
            return None
        if problem := edits.answer_problem(reply.content, reply.finish_reason):
            self._refuse(task, problem, reply)
            return None
        self._server.show(_shown(reply.content))
        return reply.content

    # ---- the actions --------------------------------------------------------------------------------------

    async def edit(self, data: Any) -> types.WorkspaceEdit | None:
        """The checked WorkspaceEdit of a listed docstring, fix or refactor action; None when the answer
        failed a check (it is shown instead) or the model could not be reached."""
        request = Request.of(data)
        task = request.task or Task.REFACTOR
        if task in (Task.EXPLAIN, Task.TESTS):
            raise JsonRpcInvalidParams(f"qwen-lsp: the {task.value} action has no edit; run its command")
        target = await self._target(request, task)
        detail = tasks.problems_detail(request.problems) or request.instruction
        document = self._server.document(request.uri).source
        if (reply := await self._ask(task, target, request.uri, detail)) is None:
            return None
        checked = edits.checked_rewrite(task, target, document, reply.content, reply.finish_reason)
        if not checked.ok:
            self._refuse(task.value, checked.problem, reply)
            return None
        return convert.replace_lines(request.uri, convert.split_lines(document), target.first, target.last,
                                     checked.code, self._server.encoding)

    async def apply(self, data: Any) -> None:
        """Compute a listed action's edit and ask the client to apply it (clients that cannot resolve)."""
        if (edit := await self.edit(data)) is not None:
            await self._server.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label="Qwen"))

    async def refactor(self, data: Any) -> None:
        """Rewrite the selection by the request's instruction, or by one the user picks from a short list."""
        request = Request.of(data)
        instruction = request.instruction or await self._choose_instruction()
        if instruction:
            await self.apply({**request.data(), "action": Task.REFACTOR.value, "instruction": instruction})

    async def _choose_instruction(self) -> str | None:
        choice = await self._server.window_show_message_request_async(types.ShowMessageRequestParams(
            type=types.MessageType.Info, message="Qwen: how should the selection be refactored?",
            actions=[types.MessageActionItem(title=title) for title in tasks.REFACTOR_CHOICES]))
        return choice.title if choice is not None else None

    async def explain(self, data: Any) -> str | None:
        """Explain the selection in a message (also the command's result, for clients that show it)."""
        request = Request.of(data)
        target = await self._target(request, Task.EXPLAIN)
        return self._present(Task.EXPLAIN.value, await self._ask(Task.EXPLAIN, target, request.uri))

    async def review(self, data: Any) -> str | None:
        """Review the uncommitted changes of the request's file (its unsaved buffer against git's ``HEAD``) with
        their callers, tests and callees (`context.review`); shown in a message, never applied."""
        request = Request.of(data)
        if (found := self._server.folder_of(request.uri)) is None:
            self._server.show("Qwen: only files inside a workspace folder can be reviewed", types.MessageType.Warning)
            return None
        folder, path = found
        await self._server.wait_for_index(folder)

        async def messages() -> list[dict[str, str]]:
            result = await self._server.workspaces.call(folder, lambda engine: review(engine, path=path))
            return cast(list[dict[str, str]], result.messages)

        return self._present("review", await self._chat(messages))

    async def tests(self, data: Any) -> str | None:
        """Write tests for the function at the request into the project's test file and open it; the
        file's URI, or None when nothing was written (the answer is shown instead)."""
        request = Request.of(data)
        found = self._server.folder_of(request.uri)
        if found is None:
            self._server.show("Qwen: tests are generated only for files inside a workspace folder",
                              types.MessageType.Warning)
            return None
        folder = found[0]
        target = await self._target(request, Task.TESTS)
        await self._server.wait_for_index(folder)  # the project's layout is only known once its files are
        files = await self._server.workspaces.call(folder, lambda engine: engine.files())
        destination = tasks.test_path_for(files, target.path)
        if (reply := await self._ask(Task.TESTS, target, request.uri, destination)) is None:
            return None
        path = folder.root / destination
        if not path.resolve().is_relative_to(folder.root):  # a symlinked test folder leaving the workspace
            self._server.show(f"Qwen: {destination} is outside the workspace folder", types.MessageType.Warning)
            return None
        existing = self._existing(path)
        checked = edits.checked_addition(target, existing, reply.content, reply.finish_reason)
        if not checked.ok:
            self._refuse(Task.TESTS.value, checked.problem, reply)
            return None
        uri = convert.path_to_uri(path)
        last = existing.split("\n")
        position = convert.lsp_position(convert.split_lines(existing), len(last) - 1, len(last[-1]),
                                        self._server.encoding)
        if self._server.is_open(uri):  # the user's buffer may hold unsaved changes: edit it, not the disk
            await self._server.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(
                edit=convert.create_and_insert(uri, position, checked.code), label="Qwen: generated tests"))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(existing + checked.code, encoding="utf-8")
        await self._server.open_in_editor(uri, position, f"Qwen: tests written to {destination}")
        return uri

    def _existing(self, path: Path) -> str:
        """The text of the test file: the editor's buffer when it is open, else the disk's ('' when new)."""
        uri = convert.path_to_uri(path)
        if self._server.is_open(uri):
            return cast(str, self._server.document(uri).source)
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
