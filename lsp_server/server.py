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
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from context.errors import ConfigError, ModelError, QwenContextError
from context.index.languages import language_for
from context.model.client import ModelClient
from context.model.settings import ModelSettings, load_settings
from context.prompt.alone import buffer_fim_prompt
from context.prompt.result import Prompt
from context.version import package_version
from lsp_server import actions, convert
from lsp_server.actions import APPLY, EXPLAIN, REFACTOR, REVIEW, TESTS, CodeActions
from lsp_server.inline import Cursor, FailureNotice, Latest, SuggestionCache
from lsp_server.options import ModelOptions, ServerOptions, merge, parse_options
from lsp_server.protocol import QwenProtocol, read_messages
from lsp_server.workspaces import Folder, Workspaces, max_document_chars

logger = logging.getLogger(__name__)

T = TypeVar("T")

ACCEPTED = "qwen.accepted"
#: Characters after which an editor without inline completion (Helix) asks for completions by itself.
TRIGGER_CHARACTERS = [".", "(", "[", ",", "=", ":"]

#: How much warmer each further suggestion of an invoked completion is asked than the one before (the first
#: at the configured temperature, 0 by default): at one temperature the model would repeat itself.
TEMPERATURE_STEP = 0.4
_CONVERTER = get_converter()



def _temperature(n: int) -> float | None:
    """The temperature of the ``n``-th (0-based) suggestion for one cursor; None: the configured one."""
    return min(n * TEMPERATURE_STEP, 1.0) if n else None


class QwenLanguageServer(LanguageServer):
    """The state the handlers share: options, engines per folder, the model client, completion caches."""

    def __init__(self) -> None:
        super().__init__("qwen-lsp", package_version(), text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
                         protocol_cls=QwenProtocol)
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
        self.actions = CodeActions(self)
        self.max_document = max_document_chars()

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve over stdio through `lsp_server.protocol.read_messages` (the lifecycle and size limits)."""
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        try:
            asyncio.run(read_messages(stdin or sys.stdin.buffer, self.lsp, self._stop_event))
        except BrokenPipeError:
            logger.error("the client closed the connection")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]

    @property
    def lsp(self) -> QwenProtocol:
        """The protocol, as its own type."""
        assert isinstance(self.protocol, QwenProtocol)
        return self.protocol

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Errors outside a request (a failing notification handler) go to stderr only: the client waits for
        no answer, and a message box per keystroke helps nobody."""
        logger.error("%s: %s", getattr(source, "__name__", source), error)

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
        """The workspace folder of a source file and its path relative to it; None outside every folder the
        client named (such a document is served from its own buffer, and nothing beside it is read)."""
        path = convert.uri_to_path(uri)
        if path is None or language_for(path.name) is None:
            return None
        return self.workspaces.locate(path)

    def is_open(self, uri: str) -> bool:
        """Whether the editor has ``uri`` open (its buffer, not the disk, is the truth)."""
        return uri in self.workspace.text_documents

    def serves_actions(self, uri: str) -> bool:
        """Whether code actions are offered in ``uri``: on, a known language, and not too big to index."""
        path = convert.uri_to_path(uri)
        if not self.options.actions or path is None or language_for(path.name) is None:
            return False
        try:
            return len(self.document(uri).source) <= self.max_document
        except OSError:
            return False

    async def off_loop(self, work: Callable[[], T]) -> T:
        """Run blocking work that needs no engine (parsing a buffer alone) off the event loop."""
        return await asyncio.to_thread(work)

    async def open_in_editor(self, uri: str, position: types.Position, message: str) -> None:
        """Show ``uri`` to the user at ``position`` (``window/showDocument``), else say ``message``."""
        window = self.client_capabilities.window
        if window is not None and window.show_document is not None and window.show_document.support:
            result = await self.window_show_document_async(types.ShowDocumentParams(
                uri=uri, take_focus=True, selection=types.Range(position, position)))
            if result.success:
                return
        self.show(message)

    def add_folder(self, uri: str) -> Folder | None:
        """Open the engine of a workspace folder the client named; a folder that is never indexed (the home
        folder, a system folder, ...) is refused with a warning."""
        if (path := convert.uri_to_path(uri)) is None:
            return None
        try:
            return self.workspaces.add(path)
        except QwenContextError as exc:
            self.show(str(exc), types.MessageType.Warning)
            return None

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

    async def prepare(self, folder: Folder, rel: str) -> None:
        """When this server suggests completions, get the engine ready for the first one in the just-opened
        ``rel`` (`Workspaces.prepare_soon`: never ahead of a request). A failure is only logged."""
        if not (self.options.inline or self.completion_fallback):
            return
        budget, recent = self.options.budget, self.recent_in(folder)
        try:
            await self.workspaces.prepare_soon(
                folder, rel, lambda engine: engine.prepare(rel, budget=budget, recent=recent))
        except QwenContextError as exc:
            logger.warning("could not prepare %s: %s", rel, exc)

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
            if not report.files:
                self.show(f"qwen-lsp: nothing in {folder.root.name} was indexed: "
                          f"{report.ignored_summary or 'it holds no source file of a language qwen-lsp knows'}",
                          types.MessageType.Warning)
        except QwenContextError as exc:
            self.show(f"qwen-lsp: cannot index {folder.root}: {exc}", types.MessageType.Error)
            return
        finally:
            if token is not None:
                self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
        if report.files:
            try:
                await self.workspaces.prepare_repository(folder)
            except QwenContextError as exc:  # the folder was closed meanwhile, or its index is being rebuilt
                logger.info("could not prepare %s: %s", folder.root, exc)

    # ---- completions --------------------------------------------------------------------------------------

    def document(self, uri: str) -> TextDocument:
        return self.workspace.get_text_document(uri)

    def cursor(self, uri: str, position: types.Position,
               selected: types.SelectedCompletionInfo | None = None) -> Cursor | None:
        """Where to complete, or None when this document is not served (unknown language, off, no file).

        A document outside every workspace folder, or bigger than the engine indexes, gets a cursor without
        a folder: it is completed from its own buffer alone."""
        path = convert.uri_to_path(uri)
        language = language_for(path.name) if path is not None else None
        if path is None or language is None or not self.options.serves(language):
            return None
        try:
            buffer = self.document(uri).source
        except OSError:  # neither open in the editor nor readable on disk
            return None
        found = self.folder_of(uri) if len(buffer) <= self.max_document else None
        folder, rel = found if found is not None else (None, path.name)
        encoding = self.encoding
        line, column, start = convert.locate(buffer, position, encoding)
        lead, replace, end = "", types.Range(position, position), start
        if selected is not None and selected.range.start.line == selected.range.end.line == position.line:
            line, first, start = convert.locate(buffer, selected.range.start, encoding)
            end = convert.locate(buffer, selected.range.end, encoding)[2]
            lead, replace, column = selected.text, selected.range, first + len(selected.text)
        buffer = buffer[:start] + lead + buffer[end:]
        split = start + len(lead)
        return Cursor(uri, folder, rel, line, column, buffer, buffer[:split], buffer[split:], lead, replace)

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
        started = time.perf_counter()
        try:
            prompt = await self._prompt(cursor)
            model = self.require_model()
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

    async def _prompt(self, cursor: Cursor) -> Prompt:
        """The FIM prompt of a cursor: repository-level in a workspace folder, else from the buffer alone."""
        folder = cursor.folder
        if folder is None:
            return await self.off_loop(lambda: buffer_fim_prompt(
                cursor.path, cursor.buffer, cursor.line, cursor.column, budget=self.options.budget))
        await self.wait_for_index(folder)
        folder.unprepared.discard(cursor.path)
        return await self.workspaces.call(folder, lambda engine: engine.fim_prompt(
            cursor.path, cursor.line, cursor.column, budget=self.options.budget, buffer=cursor.buffer,
            recent=self.recent_in(folder)))

    def require_model(self) -> ModelClient:
        """The model client, or a ConfigError saying which settings to fix."""
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


SERVER = QwenLanguageServer()


# ---- lifecycle -------------------------------------------------------------------------------------------


@SERVER.feature(types.INITIALIZE)
def initialize(ls: QwenLanguageServer, params: types.InitializeParams) -> None:
    """Read ``initializationOptions``; open an engine per workspace folder (indexed once initialized)."""
    ls.configure(params.initialization_options)
    roots = [folder.uri for folder in params.workspace_folders or []] or [params.root_uri or ""]
    for root in roots:
        ls.add_folder(root)


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
        if (folder := ls.add_folder(added.uri)) is not None:
            ls.start_indexing(folder)


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
        await ls.prepare(*found)


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


@SERVER.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=TRIGGER_CHARACTERS))
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
    return convert.completion_list(texts, convert.typed_word(cursor.before), params.position, ACCEPTED,
                                   cursor.uri, ls.encoding, snippets=ls.snippets)


@SERVER.command(ACCEPTED)
def accepted(ls: QwenLanguageServer, uri: str, text: str) -> None:
    """The client accepted a suggestion (the items' command)."""
    ls.learn_acceptance(uri, text)


# ---- code actions (the logic is lsp_server.actions) -----------------------------------------------------


@SERVER.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
    code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite,
                       actions.SOURCE_TESTS, actions.SOURCE_REVIEW, actions.EXPLAIN_KIND],
    resolve_provider=True))
async def code_action(ls: QwenLanguageServer,
                      params: types.CodeActionParams) -> list[types.CodeAction] | None:
    """Explain, docstring, refactor, fix, test and review actions, listed without asking the model."""
    return await ls.actions.offered(params.text_document.uri, params.range, params.context.diagnostics)


@SERVER.feature(types.CODE_ACTION_RESOLVE)
async def resolve_code_action(ls: QwenLanguageServer, params: types.CodeAction) -> types.CodeAction:
    """Compute the listed action's WorkspaceEdit with the model (none when the answer fails the checks)."""
    params.edit = await ls.actions.edit(params.data)
    return params


@SERVER.command(APPLY)
async def apply(ls: QwenLanguageServer, data: Any) -> None:
    """Compute a listed action's edit and apply it (clients that cannot resolve code actions)."""
    await ls.actions.apply(data)


@SERVER.command(EXPLAIN)
async def explain(ls: QwenLanguageServer, data: Any) -> str | None:
    """Explain the selection in a message (also the command's result, for clients that show it)."""
    return await ls.actions.explain(data)


@SERVER.command(REFACTOR)
async def refactor(ls: QwenLanguageServer, data: Any) -> None:
    """Rewrite the selection by ``data["instruction"]``, or by one the user picks from a short list."""
    await ls.actions.refactor(data)


@SERVER.command(TESTS)
async def generate_tests(ls: QwenLanguageServer, data: Any) -> str | None:
    """Write tests for the function at the cursor into the project's test file and open it there."""
    return await ls.actions.tests(data)


@SERVER.command(REVIEW)
async def review_changes(ls: QwenLanguageServer, data: Any) -> str | None:
    """Review the file's uncommitted changes in a message (also the command's result); nothing is edited."""
    return await ls.actions.review(data)
