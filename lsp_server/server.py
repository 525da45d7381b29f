"""qwen-lsp: inline completion, a completion fallback and code actions over the context engine (pygls 2).

Every handler has one shape (jedi-language-server): convert the params (`convert`), make one engine or model
call through `QwenLanguageServer`, convert the result. The server holds no ranking or prompt logic: prompts
come from `Engine.fim_prompt` and `Engine.chat_context`, the code actions' tasks from `context.serve.tasks`,
completions from `ModelClient`. Blocking engine work
leaves the event loop in one place only (`Workspaces.call`), so `$/cancelRequest` and superseding requests can
abort a model stream at once. Model failures are shown once, not on every keystroke, and no request can bring
the server down.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from context.errors import ConfigError, ModelError, QwenContextError
from context.index.languages import language_for
from context.model.client import ModelClient
from context.model.settings import ModelSettings, load_settings
from context.serve import tasks
from context.serve.tasks import Target, Task
from lsp_server import actions, convert
from lsp_server.inline import Latest, SuggestionCache
from lsp_server.options import ModelOptions, ServerOptions, merge, parse_options
from lsp_server.workspaces import Folder, Workspaces

logger = logging.getLogger(__name__)

ACCEPTED = "qwen.accepted"
EXPLAIN = "qwen.explain"
REFACTOR = "qwen.refactor"
APPLY = "qwen.apply"

#: How much warmer each further suggestion of an invoked completion is asked than the one before (the first
#: at the configured temperature, 0 by default): at one temperature the model would repeat itself.
TEMPERATURE_STEP = 0.4
#: Files that mark a project root, for documents opened outside every workspace folder.
_ROOT_MARKERS = (".git", "pyproject.toml", "package.json", "go.mod", "Cargo.toml", "pom.xml", "build.gradle")
_CONVERTER = get_converter()


def _project_root(path: Path) -> Path | None:
    """The folder to index for a file opened outside every workspace folder: the nearest ancestor holding a
    project marker (``.git``, ``pyproject.toml``, ...) below the home folder, else the file's own folder;
    never the home folder or the filesystem root."""
    home = Path.home()
    for parent in path.parents:
        if parent in (home, Path(parent.anchor)):
            break
        if any((parent / marker).exists() for marker in _ROOT_MARKERS):
            return parent
    return path.parent if path.parent not in (home, Path(path.parent.anchor)) else None


def _temperature(n: int) -> float | None:
    """The temperature of the ``n``-th (0-based) suggestion for one cursor; None: the configured one."""
    return min(n * TEMPERATURE_STEP, 1.0) if n else None


def _version() -> str:
    try:
        return version("qwen-context")
    except PackageNotFoundError:
        return "0"


@dataclass(frozen=True)
class Cursor:
    """Where a completion is asked for, as the engine sees it (code points) and as the client sees it (range).

    With a ``selectedCompletionInfo`` the buffer is taken with the selected text applied, ``lead`` is that
    text (every item starts with it) and ``replace`` is its range; otherwise ``replace`` is empty at the
    cursor.
    """

    uri: str
    folder: Folder
    path: str
    line: int
    column: int
    buffer: str
    before: str
    after: str
    lead: str
    replace: types.Range


class FailureNotice:
    """Shows each kind of model failure once (not on every keystroke) until the model answers again."""

    def __init__(self, server: LanguageServer) -> None:
        self._server = server
        self._shown: set[str] = set()

    def failed(self, exc: QwenContextError) -> None:
        kind = type(exc).__name__
        logger.warning("model request failed (%s): %s", kind, exc)
        if kind not in self._shown:
            self._shown.add(kind)
            self._server.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Error, message=f"qwen-lsp: {exc}"))

    def recovered(self) -> None:
        self._shown.clear()


class QwenLanguageServer(LanguageServer):
    """The state the handlers share: options, engines per folder, the model client, completion caches."""

    def __init__(self) -> None:
        super().__init__("qwen-lsp", _version(),
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.options = ServerOptions()
        self.raw_options: dict[str, Any] = {}
        self.workspaces = Workspaces()
        self.model: ModelClient | None = None
        self.notice = FailureNotice(self)
        self.latest = Latest()
        self.cache = SuggestionCache()
        self.recent: deque[tuple[Path, str]] = deque(maxlen=8)
        self.accepted = 0
        self.background: set[asyncio.Task[None]] = set()

    # ---- configuration ------------------------------------------------------------------------------------

    def configure(self, raw: Any) -> None:
        """Apply settings (layered over the previous ones); tell the user about each ignored value."""
        self.raw_options = merge(self.raw_options, raw)
        options, problems = parse_options(self.raw_options)
        for problem in problems:
            self.show(problem, types.MessageType.Warning)
        if self.model is None or options.model != self.options.model:
            self.model = self._model_client(options.model)
        self.options = options

    def _model_client(self, options: ModelOptions) -> ModelClient | None:
        try:
            settings: ModelSettings = load_settings(options.model_dump(exclude_none=True))
        except ConfigError as exc:
            self.show(f"qwen-lsp: {exc}", types.MessageType.Error)
            return None
        return ModelClient(settings)

    def show(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        """A ``window/showMessage`` to the user, also logged to stderr."""
        logger.info("%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    @property
    def encoding(self) -> str:
        """The negotiated position encoding (``utf-16`` unless the client offered another)."""
        return types.PositionEncodingKind(self.workspace.position_encoding or "utf-16").value

    @property
    def completion_fallback(self) -> bool:
        """Whether ``textDocument/completion`` serves suggestions (default: for clients without inline
        completion)."""
        if self.options.completion is not None:
            return self.options.completion
        text_document = self.client_capabilities.text_document
        return text_document is None or text_document.inline_completion is None

    @property
    def snippets(self) -> bool:
        """Whether the client accepts completion items in snippet format."""
        text_document = self.client_capabilities.text_document
        completion = text_document.completion if text_document is not None else None
        item = completion.completion_item if completion is not None else None
        return item is not None and bool(item.snippet_support)

    @property
    def pulls_configuration(self) -> bool:
        """Whether the client answers ``workspace/configuration`` requests."""
        workspace = self.client_capabilities.workspace
        return workspace is not None and bool(workspace.configuration)

    @property
    def resolves_edits(self) -> bool:
        """Whether the client fills in a code action's edit through ``codeAction/resolve``."""
        text_document = self.client_capabilities.text_document
        code_action = text_document.code_action if text_document is not None else None
        support = code_action.resolve_support if code_action is not None else None
        return support is not None and "edit" in support.properties

    # ---- workspace folders and indexing -------------------------------------------------------------------

    def folder_of(self, uri: str) -> tuple[Folder, str] | None:
        """The workspace folder of a source file and its path relative to it. A file outside every folder gets
        its project's folder (see `_project_root`), indexed on first use; None for anything else."""
        path = convert.uri_to_path(uri)
        if path is None or language_for(path.name) is None:
            return None
        if (found := self.workspaces.locate(path)) is None and (root := _project_root(path)) is not None:
            self.start_indexing(self.workspaces.add(root))
            found = self.workspaces.locate(path)
        return found

    def start_indexing(self, folder: Folder) -> None:
        """Index a folder in the background, reporting ``$/progress`` when the client supports it."""
        task = asyncio.get_running_loop().create_task(self._index(folder), name=f"index {folder.root}")
        self.background.add(task)
        task.add_done_callback(self._indexing_done)

    async def refresh(self, folder: Folder, paths: list[str] | None = None) -> None:
        """Hand the folder's pending overlays to its engine, or re-index ``paths`` changed on disk.

        A failure is only logged: these run for notifications, which have no one to answer.
        """
        try:
            if paths is None:
                await self.workspaces.call(folder, lambda engine: None)
            else:
                await self.workspaces.update(folder, paths)
        except QwenContextError as exc:
            logger.warning("could not refresh %s: %s", folder.root, exc)

    async def wait_for_index(self, folder: Folder) -> None:
        """Give the folder's first index up to ``indexWaitMs`` to finish, so that the first completion or action
        after start sees the repository; past that, go on without it (and say so in the log)."""
        if not await self.workspaces.ready(folder, self.options.index_wait_ms / 1000):
            logger.info("%s is still being indexed after %d ms; going on without the repository context",
                        folder.root, self.options.index_wait_ms)

    def _indexing_done(self, task: asyncio.Task[None]) -> None:
        self.background.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("%s failed", task.get_name(), exc_info=exc)

    async def _index(self, folder: Folder) -> None:
        window = self.client_capabilities.window
        token = f"qwen-index-{uuid.uuid4().hex}" if window is not None and window.work_done_progress else None
        if token is not None:
            await self.work_done_progress.create_async(token)
            self.work_done_progress.begin(token, types.WorkDoneProgressBegin(
                title=f"Indexing {folder.root.name}", percentage=0))
        loop = asyncio.get_running_loop()
        reported = [-1]

        def progress(done: int, total: int) -> None:  # called on the indexing thread
            percent = done * 100 // max(total, 1)
            if token is not None and percent != reported[0]:
                reported[0] = percent
                loop.call_soon_threadsafe(self.work_done_progress.report, token, types.WorkDoneProgressReport(
                    message=f"{done}/{total} files", percentage=percent))

        message = "index failed"
        try:
            report = await self.workspaces.index(folder, progress)
            message = f"{report.files} files, {report.symbols} symbols in {report.seconds:.1f} s"
            logger.info("indexed %s: %s", folder.root, message)
        except QwenContextError as exc:
            self.show(f"qwen-lsp: cannot index {folder.root}: {exc}", types.MessageType.Error)
        finally:
            if token is not None:
                self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))

    # ---- completions --------------------------------------------------------------------------------------

    def document(self, uri: str) -> TextDocument:
        return self.workspace.get_text_document(uri)

    def cursor(self, uri: str, position: types.Position,
               selected: types.SelectedCompletionInfo | None = None) -> Cursor | None:
        """Where to complete, or None when this document is not served (unknown language, off, no file)."""
        found = self.folder_of(uri)
        if found is None or not self.options.serves(language_for(found[1])):
            return None
        try:
            buffer = self.document(uri).source
        except OSError:  # neither open in the editor nor readable on disk
            return None
        lines, encoding = convert.split_lines(buffer), self.encoding
        line, column = convert.engine_position(lines, position, encoding)
        lead, replace = "", types.Range(position, position)
        start = end = convert.offset_of(lines, line, column)
        if selected is not None and selected.range.start.line == selected.range.end.line == position.line:
            line, first = convert.engine_position(lines, selected.range.start, encoding)
            start = convert.offset_of(lines, line, first)
            end = convert.offset_of(lines, *convert.engine_position(lines, selected.range.end, encoding))
            lead, replace, column = selected.text, selected.range, first + len(selected.text)
        buffer = buffer[:start] + lead + buffer[end:]
        split = start + len(lead)
        return Cursor(uri, found[0], found[1], line, column, buffer, buffer[:split], buffer[split:], lead,
                      replace)

    async def suggest(self, cursor: Cursor, count: int, *, debounce: bool) -> list[str]:
        """Suggestions for the cursor: from the cache when typing follows a shown one, else from the model."""
        if cached := self.cache.lookup(cursor.uri, cursor.before, cursor.after):
            return cached[:count]
        texts = await self.latest.run(self._complete(cursor, count, debounce)) or []
        if texts:
            self.cache.store(cursor.uri, cursor.before, cursor.after, texts)
        return texts

    async def _complete(self, cursor: Cursor, count: int, debounce: bool) -> list[str]:
        if debounce and self.options.debounce_ms:
            await asyncio.sleep(self.options.debounce_ms / 1000)
        await self.wait_for_index(cursor.folder)
        started = time.perf_counter()
        try:
            prompt = await self.workspaces.call(cursor.folder, lambda engine: engine.fim_prompt(
                cursor.path, cursor.line, cursor.column, budget=self.options.budget, buffer=cursor.buffer,
                recent=self.recent_in(cursor.folder)))
            model = self._require_model()
            sent = time.perf_counter()
            texts = await asyncio.gather(*(model.fim_text(prompt, temperature=_temperature(n))
                                           for n in range(count)))
        except (ModelError, ConfigError) as exc:
            self.notice.failed(exc)
            return []
        except QwenContextError as exc:
            logger.info("no completion in %s: %s", cursor.path, exc)
            return []
        self.notice.recovered()
        logger.debug("inline completion: prompt %.1f ms (%d tokens), model %.1f ms", (sent - started) * 1000,
                     prompt.tokens, (time.perf_counter() - sent) * 1000)
        return [text for text in dict.fromkeys(texts) if text.strip()]

    def _require_model(self) -> ModelClient:
        if self.model is None:
            self.model = self._model_client(self.options.model)
        if self.model is None:
            raise ConfigError("no usable model settings; fix the `model` settings of qwen-lsp")
        return self.model

    def touch(self, uri: str) -> None:
        """Note a file the user is working in: the prompt favours recently edited files."""
        if (found := self.folder_of(uri)) is not None:
            entry = (found[0].root, found[1])
            if not self.recent or self.recent[0] != entry:
                if entry in self.recent:
                    self.recent.remove(entry)
                self.recent.appendleft(entry)

    def recent_in(self, folder: Folder) -> tuple[str, ...]:
        """The recently edited files of ``folder``, most recent first."""
        return tuple(rel for root, rel in self.recent if root == folder.root)

    def learn_acceptance(self, uri: str, text: str) -> None:
        """The user accepted a suggestion: count it and favour its file in the next prompts."""
        self.accepted += 1
        self.touch(uri)
        logger.info("suggestion accepted in %s (%d chars; %d accepted so far)", uri, len(text), self.accepted)

    # ---- code actions -------------------------------------------------------------------------------------

    async def list_actions(self, uri: str, selection: types.Range,
                           diagnostics: list[types.Diagnostic]) -> list[types.CodeAction]:
        """The actions offered at ``selection``; nothing is asked of the model until one is resolved."""
        found = self.folder_of(uri)
        if found is None or language_for(found[1]) is None:
            return []
        folder, path = found
        await self.wait_for_index(folder)
        try:
            definitions = await self.workspaces.call(folder, lambda engine: engine.definitions(path))
        except QwenContextError as exc:  # not indexed (yet): offer only what needs no definitions
            logger.info("no definitions for %s: %s", path, exc)
            definitions = []
        data: dict[str, object] = {"uri": uri, "range": _CONVERTER.unstructure(selection)}
        apply_command = None if self.resolves_edits else APPLY
        listed: list[types.CodeAction] = []
        if selection.start != selection.end:
            listed.append(actions.run_command("Qwen: explain the selection", actions.EXPLAIN_KIND, EXPLAIN,
                                              data))
            listed.append(actions.run_command("Qwen: refactor the selection…",
                                              types.CodeActionKind.RefactorRewrite, REFACTOR, data))
        if documented := tasks.definition_around(definitions, selection.start.line, Task.DOCSTRING):
            title = f"Qwen: add or fix the docstring of {documented.name}"
            listed.append(actions.listed(Task.DOCSTRING, title, types.CodeActionKind.RefactorRewrite, data,
                                         apply_command))
        if diagnostics:
            problems = {**data, "problems": [d.message for d in diagnostics]}
            listed.append(actions.listed(Task.FIX, f"Qwen: fix {diagnostics[0].message.splitlines()[0]}",
                                         types.CodeActionKind.QuickFix, problems, apply_command, diagnostics))
        if function := tasks.definition_around(definitions, selection.start.line, Task.TESTS):
            listed.append(actions.listed(Task.TESTS, f"Qwen: generate tests for {function.name}",
                                         actions.SOURCE_TESTS, data, apply_command))
        return listed

    async def target(self, task: Task, uri: str, selection: types.Range) -> Target:
        """The code an action works on, in whole lines (see `context.serve.tasks.target_at`)."""
        found = self.folder_of(uri)
        if found is None:
            raise QwenContextError(f"{uri} is not a local file in the workspace")
        folder, path = found
        await self.wait_for_index(folder)
        definitions = await self.workspaces.call(folder, lambda engine: engine.definitions(path))
        first, last = selection.start.line, selection.end.line
        if selection.end.character == 0 and last > first:  # the selection ends at the start of a line
            last -= 1
        return tasks.target_at(task, path, self.document(uri).source, definitions, first, last,
                               cursor=selection.start == selection.end)

    async def ask(self, task: Task, target: Target, uri: str, detail: str = "") -> str:
        """Ask the model about ``target`` with the repository context of the engine's chat context."""
        folder = self.folder_of(uri)
        assert folder is not None
        context = await self.workspaces.call(folder[0], lambda engine: engine.chat_context(
            target.query, focus=(target.path,)))
        try:
            answer = await self._require_model().ask(tasks.task_prompt(task, target, detail), context)
        except ModelError as exc:
            self.notice.failed(exc)
            raise
        self.notice.recovered()
        return answer

    async def action_edit(self, data: dict[str, Any]) -> types.WorkspaceEdit:
        """The WorkspaceEdit of a listed action (``data`` as listed), computed with one model question."""
        task, uri = Task(data["action"]), str(data["uri"])
        selection = _CONVERTER.structure(data["range"], types.Range)
        target = await self.target(task, uri, selection)
        lines = convert.split_lines(self.document(uri).source)
        if task is Task.TESTS:
            return await self._tests_edit(target, uri)
        detail = tasks.problems_detail(data.get("problems", ())) or str(data.get("instruction"))
        reply = await self.ask(task, target, uri, detail)
        code = tasks.reindent(tasks.code_from_reply(reply, target.language), target.code)
        return convert.replace_lines(uri, lines, target.first, target.last, code, self.encoding)

    async def apply_action(self, data: dict[str, Any]) -> None:
        """Compute a listed action's edit and ask the client to apply it."""
        edit = await self.action_edit(data)
        await self.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label="Qwen"))

    async def choose_instruction(self) -> str | None:
        """Let the user pick a refactoring from a short list (``window/showMessageRequest``)."""
        choice = await self.window_show_message_request_async(types.ShowMessageRequestParams(
            type=types.MessageType.Info, message="Qwen: how should the selection be refactored?",
            actions=[types.MessageActionItem(title=title) for title in tasks.REFACTOR_CHOICES]))
        return choice.title if choice is not None else None

    async def _tests_edit(self, target: Target, uri: str) -> types.WorkspaceEdit:
        found = self.folder_of(uri)
        assert found is not None
        folder = found[0]
        await self.wait_for_index(folder)  # the project's layout is only known once its files are
        files = await self.workspaces.call(folder, lambda engine: engine.files())
        destination = tasks.test_path_for(files, target.path)
        code = tasks.code_from_reply(await self.ask(Task.TESTS, target, uri, destination), target.language)
        existing = (folder.root / destination).read_text(errors="replace") if destination in files else ""
        end = existing.split("\n")
        position = types.Position(line=len(end) - 1, character=len(end[-1].encode("utf-16-le")) // 2)
        separator = ("\n\n" if existing.endswith("\n") else "\n\n\n") if existing.strip() else ""
        return convert.create_and_insert(convert.path_to_uri(folder.root / destination), position,
                                         separator + code)


SERVER = QwenLanguageServer()


# ---- lifecycle -------------------------------------------------------------------------------------------


@SERVER.feature(types.INITIALIZE)
def initialize(ls: QwenLanguageServer, params: types.InitializeParams) -> None:
    """Read ``initializationOptions``; open an engine per workspace folder (indexed once initialized)."""
    ls.configure(params.initialization_options)
    for folder in params.workspace_folders or []:
        if (path := convert.uri_to_path(folder.uri)) is not None:
            ls.workspaces.add(path)
    if not params.workspace_folders and params.root_uri and (root := convert.uri_to_path(params.root_uri)):
        ls.workspaces.add(root)


@SERVER.feature(types.INITIALIZED)
async def initialized(ls: QwenLanguageServer, params: types.InitializedParams) -> None:
    """Index every folder in the background and ask the client to report file changes."""
    for folder in ls.workspaces.folders():
        ls.start_indexing(folder)
    workspace = ls.client_capabilities.workspace
    watched = workspace.did_change_watched_files if workspace is not None else None
    if watched is not None and watched.dynamic_registration:
        await ls.client_register_capability_async(types.RegistrationParams(registrations=[types.Registration(
            id="qwen-watched-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                watchers=[types.FileSystemWatcher(glob_pattern="**/*")]))]))


@SERVER.feature(types.SHUTDOWN)
async def shutdown(ls: QwenLanguageServer, params: None) -> None:
    """Stop indexing and watching, close the engines and the model client's connections."""
    ls.workspaces.close()
    if ls.model is not None:
        await ls.model.aclose()


@SERVER.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: QwenLanguageServer,
                                   params: types.DidChangeConfigurationParams) -> None:
    """New settings from the editor (pulled as the ``qwen`` section when the notification carries none),
    layered over the current ones."""
    settings = params.settings
    if not settings and ls.pulls_configuration:
        (settings,) = await ls.workspace_configuration_async(types.ConfigurationParams(
            items=[types.ConfigurationItem(section="qwen")]))
    ls.configure(settings)


@SERVER.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
def did_change_workspace_folders(ls: QwenLanguageServer,
                                 params: types.DidChangeWorkspaceFoldersParams) -> None:
    """Open engines for added folders (indexed in the background), close those of removed ones."""
    for removed in params.event.removed:
        if (path := convert.uri_to_path(removed.uri)) is not None:
            ls.workspaces.remove(path)
    for added in params.event.added:
        if (path := convert.uri_to_path(added.uri)) is not None:
            ls.start_indexing(ls.workspaces.add(path))


# ---- documents -------------------------------------------------------------------------------------------


@SERVER.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: QwenLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    """Overlay the opened buffer on its engine right away, so the first completion there finds it parsed (in
    a folder still being indexed it waits for the next engine call, so as not to query the engine early)."""
    found = ls.folder_of(params.text_document.uri)
    ls.workspaces.overlay(convert.uri_to_path(params.text_document.uri) or Path(), params.text_document.text)
    ls.touch(params.text_document.uri)
    if found is not None and found[0].indexed.is_set():
        await ls.refresh(found[0])


@SERVER.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: QwenLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    """Overlay the edited buffer (pygls has already applied the incremental changes)."""
    uri = params.text_document.uri
    ls.workspaces.overlay(convert.uri_to_path(uri) or Path(), ls.document(uri).source)
    ls.touch(uri)


@SERVER.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: QwenLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    """Drop the buffer's overlay and cached suggestions; the engine reads the file from disk again."""
    ls.workspaces.overlay(convert.uri_to_path(params.text_document.uri) or Path(), None)
    ls.cache.forget(params.text_document.uri)


@SERVER.feature(types.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: QwenLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    """Re-index the saved file."""
    if (found := ls.folder_of(params.text_document.uri)) is not None:
        await ls.refresh(found[0], [found[1]])


@SERVER.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
async def did_change_watched_files(ls: QwenLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
    """Re-index files the client saw created, changed or deleted on disk."""
    by_folder: dict[Path, tuple[Folder, list[str]]] = {}
    for change in params.changes:
        if (path := convert.uri_to_path(change.uri)) and (found := ls.workspaces.locate(path)):
            by_folder.setdefault(found[0].root, (found[0], []))[1].append(found[1])
    for folder, paths in by_folder.values():
        await ls.refresh(folder, paths)


# ---- completions -----------------------------------------------------------------------------------------


@SERVER.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(ls: QwenLanguageServer,
                            params: types.InlineCompletionParams) -> types.InlineCompletionList | None:
    """Repository-level fill-in-the-middle at the cursor: one item while typing, several when invoked."""
    if not ls.options.inline:
        return None
    cursor = ls.cursor(params.text_document.uri, params.position, params.context.selected_completion_info)
    if cursor is None:
        return None
    invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
    texts = await ls.suggest(cursor, ls.options.invoked_items if invoked else 1, debounce=not invoked)
    return convert.inline_list(texts, cursor.lead, cursor.replace, ACCEPTED, cursor.uri)


@SERVER.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())
async def completion(ls: QwenLanguageServer, params: types.CompletionParams) -> types.CompletionList | None:
    """The same suggestion as a completion item, for editors without inline completion (Helix, Eglot, ...)."""
    if not ls.completion_fallback:
        return None
    cursor = ls.cursor(params.text_document.uri, params.position)
    if cursor is None:
        return None
    invoked = params.context is not None and (
        params.context.trigger_kind == types.CompletionTriggerKind.Invoked)
    texts = await ls.suggest(cursor, 1, debounce=not invoked)
    return convert.completion_list(texts, cursor.replace, ACCEPTED, cursor.uri, snippets=ls.snippets)


@SERVER.command(ACCEPTED)
def accepted(ls: QwenLanguageServer, uri: str, text: str) -> None:
    """The client accepted a suggestion (the items' command)."""
    ls.learn_acceptance(uri, text)


# ---- code actions ----------------------------------------------------------------------------------------


@SERVER.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
    code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite,
                       actions.SOURCE_TESTS, actions.EXPLAIN_KIND],
    resolve_provider=True))
async def code_action(ls: QwenLanguageServer,
                      params: types.CodeActionParams) -> list[types.CodeAction] | None:
    """Explain, docstring, refactor, fix and test actions, listed without asking the model."""
    if not ls.options.actions:
        return None
    return await ls.list_actions(params.text_document.uri, params.range, list(params.context.diagnostics))


@SERVER.feature(types.CODE_ACTION_RESOLVE)
async def resolve_code_action(ls: QwenLanguageServer, params: types.CodeAction) -> types.CodeAction:
    """Compute the listed action's WorkspaceEdit with the model."""
    if isinstance(params.data, dict):
        params.edit = await ls.action_edit(params.data)
    return params


@SERVER.command(APPLY)
async def apply(ls: QwenLanguageServer, data: dict[str, Any]) -> None:
    """Compute a listed action's edit and apply it (clients that cannot resolve code actions)."""
    await ls.apply_action(data)


@SERVER.command(EXPLAIN)
async def explain(ls: QwenLanguageServer, data: dict[str, Any]) -> str:
    """Explain the selection in a message (also the command's result, for clients that show it)."""
    target = await ls.target(Task.EXPLAIN, data["uri"], _CONVERTER.structure(data["range"], types.Range))
    answer = await ls.ask(Task.EXPLAIN, target, data["uri"])
    ls.show(answer)
    return answer


@SERVER.command(REFACTOR)
async def refactor(ls: QwenLanguageServer, data: dict[str, Any]) -> None:
    """Rewrite the selection by ``data["instruction"]``, or by one the user picks from a short list."""
    instruction = data.get("instruction") or await ls.choose_instruction()
    if instruction:
        await ls.apply_action({**data, "action": Task.REFACTOR.value, "instruction": instruction})
