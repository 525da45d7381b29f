"""The workspace one qwen-mcp process serves: an Engine indexed in the background, and the model client.

`initialize` and `tools/list` must answer at once even on a huge repository (clients give up after ~30 s), so
nothing slow happens while the server starts: the Engine is opened and indexed on the engine thread, and tools
that need the index wait for it (`wait_ready`) while `state`, `files_done` and `files_total` stay readable.

Every Engine call runs on that one engine thread (`run`, a `context.serve.worker.SerialWorker`): the engine's methods
are synchronous and may block on SQLite, so they never run on the event loop, and one thread owns the Engine
from construction to close. The thread also imports the engine's modules, so that start-up cost overlaps with
the first requests.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from context.errors import QwenContextError
from context.serve.worker import SerialWorker
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

#: How often a waiting tool sends a progress notification.
PROGRESS_INTERVAL_SECONDS = 0.5


@dataclass(frozen=True)
class ServerSettings:
    """What a qwen-mcp process was started with."""

    root: Path
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    index_wait_seconds: float = DEFAULT_INDEX_WAIT_SECONDS
    watch: bool = True


ProgressReporter = Callable[[int, int, str], Awaitable[None]]


class Workspace:
    """The Engine of one root, its background indexing, and the lazily created model client."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.root = settings.root.resolve()
        self.state: IndexState = "starting"
        self.error: str | None = None
        self.files_done = 0
        self.files_total = 0
        self._engine: Engine | None = None
        self._ready = threading.Event()
        self._thread = SerialWorker("qwen-mcp-engine")
        self._model: ModelClient | None = None

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Open and index the engine on the engine thread; returns at once."""
        self._thread.submit(self._open_and_index)

    def _open_and_index(self) -> None:
        started = time.perf_counter()
        try:
            # Imported here, on the engine thread: the engine's modules (parsers, pathspec) then load while
            # the event loop already answers `initialize` and `tools/list`.
            from context.engine import Engine

            engine = Engine(self.root)
            self._engine = engine
            self.state = "indexing"
            report = engine.index(progress=self._on_progress)
            logger.info("indexed %d files (%d parsed) in %.1f s", report.files, report.parsed, report.seconds)
            if self.settings.watch:
                engine.start_watching()
            self.state = "ready"
        except QwenContextError as exc:
            self.state, self.error = "failed", str(exc)
            logger.error("indexing %s failed: %s", self.root, exc)
        except Exception:
            self.state, self.error = "failed", "internal error while indexing; the server log has the details"
            logger.exception("indexing %s failed", self.root)
        finally:
            self._ready.set()
            logger.debug("workspace ready in %.2f s (state %s)", time.perf_counter() - started, self.state)

    def _on_progress(self, done: int, total: int) -> None:
        self.files_done, self.files_total = done, total

    async def close(self) -> None:
        """Stop watching and close the engine (after indexing, if it still runs) without blocking the loop."""
        self._thread.submit(self._close_engine)
        self._thread.stop()
        if self._model is not None:
            await self._model.aclose()

    def _close_engine(self) -> None:
        if self._engine is not None:
            self._engine.close()  # also stops the watcher

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
                await report(self.files_done, self.files_total, self.describe_state())
            await asyncio.sleep(PROGRESS_INTERVAL_SECONDS)
        return self._engine if self.state == "ready" else None

    def describe_state(self) -> str:
        """One sentence for a model about where indexing stands."""
        if self.state == "failed":
            return f"Indexing the workspace failed: {self.error}"
        if self.state == "ready":
            return "The index is ready."
        if self.files_total:
            return f"The workspace is being indexed ({self.files_done:,} of {self.files_total:,} files done)."
        return "The workspace index is being opened and scanned."

    async def run(self, fn: Callable[[], T]) -> T:
        """Run a blocking engine call on the engine thread and await its result."""
        return await self._thread.run(fn)

    def model(self) -> ModelClient:
        """The model client, created on first use from the environment (QWEN_BASE_URL, QWEN_MODEL, ...)."""
        if self._model is None:
            # Imported on first use: the openai client takes longer to import than `tools/list` may take.
            from context.model.client import ModelClient
            from context.model.settings import load_settings

            self._model = ModelClient(load_settings())
        return self._model
