"""The workspace one qwen-mcp process serves: an Engine indexed in the background, and the model client.

`initialize` and `tools/list` must answer at once even on a huge repository (clients give up after ~30 s), so
nothing slow happens while the server starts: the Engine is opened and indexed on the index thread, and tools
that need the index wait for it (`wait_ready`) while `state`, `files_done` and `files_total` stay readable.

No call holds up the others. Three kinds of work run on three kinds of threads, never on the event loop:

- opening, indexing, re-indexing and closing the engine: one thread (`context.serve.worker.SerialWorker`), so
  the index is written by one writer;
- queries (`query`: search, definitions, references, file text, stats): a pool of threads side by side, as
  the engine's queries are thread-safe (it serialises its in-memory state under one lock and reads SQLite in
  WAL mode), so one slow read (a huge file to mask) occupies one thread, not the server;
- prompt assembly (`assemble`: the FIM prompt, chat context, repository map): one thread, because the prompt
  builder's per-engine caches are not made for concurrent use.

A damaged index is noticed here too: when the index file is replaced under the engine (the engine moves a
damaged file aside and starts an empty one), the workspace re-indexes and says so instead of serving an empty
index as if it were complete.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from context.errors import IndexDiskFull, IndexUnavailable, QwenContextError
from context.serve.worker import SerialWorker, WorkerPool
from mcp_server.schemas import IndexState

if TYPE_CHECKING:
    from context.engine import Engine
    from context.model.client import ModelClient

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Default cap of every tool result, in Qwen tokens: well under Claude Code's 25,000-token tool-result limit.
DEFAULT_MAX_OUTPUT_TOKENS = 20_000

#: How long a tool waits for the first index before answering with the index's state instead.
DEFAULT_INDEX_WAIT_SECONDS = 20.0

#: How long any one tool call, resource read or prompt may take before it is stopped with an error. Generous:
#: model answers stream for minutes on slow endpoints, and the model client has its own timeouts.
DEFAULT_TOOL_TIMEOUT_SECONDS = 300.0

#: How often a waiting tool sends a progress notification.
PROGRESS_INTERVAL_SECONDS = 0.5

#: Threads answering queries side by side, and spares standing in for calls abandoned while they run.
QUERY_THREADS = 4
QUERY_SPARES = 4


@dataclass(frozen=True)
class ServerSettings:
    """What a qwen-mcp process was started with."""

    root: Path
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    index_wait_seconds: float = DEFAULT_INDEX_WAIT_SECONDS
    watch: bool = True
    tool_timeout_seconds: float = DEFAULT_TOOL_TIMEOUT_SECONDS


ProgressReporter = Callable[[int, int, str], Awaitable[None]]


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the index file, None when it is gone: a new pair means a new file."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _indexed_files(engine: Engine) -> int:
    """Files in the index as found on disk (0 when it cannot be read: indexing then rebuilds it)."""
    try:
        return engine.stats().files
    except IndexUnavailable:
        return 0


class Workspace:
    """The Engine of one root, its background indexing, and the lazily created model client."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.root = settings.root.resolve()
        self.state: IndexState = "starting"
        self.error: str | None = None
        self.files_done = 0
        self.files_total = 0
        #: Files of the index found on disk when the server started (0 for a new index): the likely total
        #: while the workspace is scanned, before the real one is known.
        self.files_before = 0
        self._phase_started = time.monotonic()
        self._engine: Engine | None = None
        self._index_file: tuple[int, int] | None = None
        self._ready = threading.Event()
        self._writer = SerialWorker("qwen-mcp-index")
        self._readers = WorkerPool("qwen-mcp-query", QUERY_THREADS, spares=QUERY_SPARES)
        self._assembler = SerialWorker("qwen-mcp-prompt")
        self._model: ModelClient | None = None

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Open and index the engine on the index thread; returns at once."""
        self._writer.submit(lambda: self._indexing(self._open_and_index, "indexing"))

    def _indexing(self, work: Callable[[], None], doing: str) -> None:
        """Run ``work`` (on the index thread); a failure becomes the `failed` state with a client-safe error."""
        started = time.perf_counter()
        try:
            work()
            self._set_state("ready")
        except QwenContextError as exc:
            self._failed(str(exc))
            logger.error("%s %s failed: %s", doing, self.root, exc)
        except Exception:
            self._failed(f"internal error while {doing}; the server log has the details")
            logger.exception("%s %s failed", doing, self.root)
        finally:
            self._ready.set()
            logger.debug("%s took %.2f s (state %s)", doing, time.perf_counter() - started, self.state)

    def _open_and_index(self) -> None:
        # Imported here, on the index thread: the engine's modules (parsers, pathspec) then load while the
        # event loop already answers `initialize` and `tools/list`.
        from context.engine import Engine

        engine = Engine(self.root)
        self.files_before = _indexed_files(engine)
        self._set_state("indexing")
        self._engine = engine
        self._index(engine)
        if self.settings.watch:
            engine.start_watching()

    def _index(self, engine: Engine) -> None:
        try:
            report = engine.index(progress=self._on_progress)
        except IndexDiskFull as exc:  # the index is kept and still answers; `index_status` says the disk is full
            logger.warning("indexing %s stopped on a full disk: %s", self.root, exc)
            return
        finally:
            self._index_file = _identity(engine.index_path)
        logger.info("indexed %d files (%d parsed) in %.1f s", report.files, report.parsed, report.seconds)

    def _reindex(self) -> None:
        """Index again after the index file was found damaged or replaced."""
        if self._engine is not None:
            self._index(self._engine)

    def _set_state(self, state: IndexState) -> None:
        self.state = state
        self._phase_started = time.monotonic()

    def _failed(self, error: str) -> None:
        self.state, self.error = "failed", error

    def _on_progress(self, done: int, total: int) -> None:
        self.files_done, self.files_total = done, total

    async def close(self) -> None:
        """Stop watching and close the engine (after indexing, if it still runs) without blocking the loop."""
        self._readers.stop(cancel_pending=True)
        self._assembler.stop(cancel_pending=True)
        self._writer.submit(self._close_engine)
        self._writer.stop()
        if self._model is not None:
            await self._model.aclose()

    def _close_engine(self) -> None:
        if self._engine is not None:
            self._engine.close()  # also stops the watcher

    # --- the index's health ---------------------------------------------------------------------------------

    def index_damaged(self, reason: str) -> None:
        """The index turned out damaged or replaced: re-index in the background (once) and say so meanwhile."""
        if self.state != "ready":
            return
        logger.warning("the index of %s must be rebuilt: %s", self.root, reason)
        self._ready.clear()
        self.files_done = self.files_total = 0
        self._set_state("rebuilding")
        self._writer.submit(lambda: self._indexing(self._reindex, "re-indexing"))

    def check_index(self) -> None:
        """Raise `IndexUnavailable` (and start a rebuild) when the index file is no longer the one indexed:
        the engine replaced a damaged file with an empty one, so what it just answered is not the repository."""
        engine = self._engine
        if self.state == "ready" and engine is not None and _identity(engine.index_path) != self._index_file:
            self.index_damaged("the index file was replaced")
        if self.state == "rebuilding":
            raise IndexUnavailable(f"{self.describe_state()} Try again in a few seconds, or call index_status.")

    # --- access ---------------------------------------------------------------------------------------------

    @property
    def engine(self) -> Engine | None:
        """The Engine once the first index is complete, else None."""
        return self._engine if self.state == "ready" else None

    @property
    def watching(self) -> bool:
        return self._engine is not None and self._engine.watching

    async def wait_ready(self, report: ProgressReporter | None = None) -> Engine | None:
        """The indexed Engine, after waiting up to `index_wait_seconds`; None when it is not ready by then.

        While waiting, `report(done, total, message)` is called every `PROGRESS_INTERVAL_SECONDS`.
        """
        deadline = time.monotonic() + self.settings.index_wait_seconds
        while not self._ready.is_set():
            if time.monotonic() >= deadline:
                return None
            if report is not None:
                await report(self.files_done, self.files_total or self.files_before, self.describe_state())
            await asyncio.sleep(PROGRESS_INTERVAL_SECONDS)
        return self.engine

    def describe_state(self) -> str:
        """One sentence for a model about where indexing stands, with counts and the time spent so far."""
        spent = f"{time.monotonic() - self._phase_started:.0f} s so far"
        if self.state == "failed":
            return f"Indexing the workspace failed: {self.error}"
        if self.state == "ready":
            return "The index is ready."
        if self.state == "starting":
            return f"The server is loading its parsers ({spent})."
        doing = "rebuilt after its index file was found damaged" if self.state == "rebuilding" else "indexed"
        if self.files_total:
            return (
                f"The workspace is being {doing}: {self.files_done:,} of {self.files_total:,} files parsed "
                f"({spent})."
            )
        known = f"; the last index held {self.files_before:,} files" if self.files_before else ""
        return f"The workspace is being {doing}: scanning for files ({spent}{known})."

    async def query(self, fn: Callable[[], T]) -> T:
        """Run a read-only engine query on the query threads and await it; the index's health is checked
        after it, so an answer from a replaced (empty) index is never passed on as the repository's."""
        result = await self._readers.run(fn)
        self.check_index()
        return result

    async def assemble(self, fn: Callable[[], T]) -> T:
        """Run a prompt assembly (FIM prompt, chat context, repository map) on the prompt thread."""
        result = await self._assembler.run(fn)
        self.check_index()
        return result

    def model(self) -> ModelClient:
        """The model client, created on first use from the environment (QWEN_BASE_URL, QWEN_MODEL, ...)."""
        if self._model is None:
            # Imported on first use: the openai client takes longer to import than `tools/list` may take.
            from context.model.client import ModelClient
            from context.model.settings import load_settings

            self._model = ModelClient(load_settings())
        return self._model
