"""The engines behind the server: one per workspace folder, fed with the editor's unsaved buffers.

This module holds the ONE place where blocking engine work leaves the event loop (`Workspaces.call`). Every
engine call runs on one `context.serve.worker.SerialWorker` thread, in arrival order, so an overlay recorded for a
keystroke always reaches the engine before the prompt that should see it, and the handlers never block the
loop that reads `$/cancelRequest`. Indexing runs on a second worker so completions keep flowing (on the
previous snapshot) while a folder indexes.

A file just opened is prepared for its first completion (`Workspaces.prepare_soon`, `Engine.prepare`) a moment
later, unless a request for it came first or waits for the engine thread: preparing never delays a request.

A folder's first index is awaited (`ready`) for a bounded time by whoever needs the repository; a query that
could not wait that long makes the first index run one more pass (see `Workspaces.index`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from context.engine import Engine, IndexReport, default_scan_config
from context.errors import IndexUnavailable, QwenContextError, UsageError
from context.index.languages import language_for
from context.serve.worker import SerialWorker

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Folders never indexed whatever the client sends, with everything below them: the system's own.
SYSTEM_FOLDERS = tuple(Path(name) for name in (
    "/etc", "/usr", "/var", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/boot", "/dev", "/proc", "/sys",
    "/run", "/System", "/Library", "/private/etc", "/private/var"))

#: Seconds between opening a file and preparing it: a request sent with the open (a client asking at once)
#: goes first and does the work itself.
PREPARE_DELAY = 0.02

#: Called from the indexing thread with (files done, files in total).
ProgressCallback = Callable[[int, int], None]


def refused_root(root: Path) -> str:
    """Why ``root`` may not be a workspace folder ('' when it may): the filesystem root, the home folder or
    one above it, and the system's folders are never indexed, whatever a client names."""
    root = root.resolve()
    home = Path.home().resolve()
    if root == Path(root.anchor) or root == home or home.is_relative_to(root):
        return "it is the filesystem root or the home folder (or holds it)"
    if any(root.is_relative_to(system) for system in SYSTEM_FOLDERS):
        return "it is a system folder"
    return ""


def max_document_chars() -> int:
    """The size above which an open document is served from its buffer alone (never indexed or overlaid):
    the engine's file-size cap (``QWEN_CONTEXT_MAX_FILE_BYTES``), so the editor and the index agree."""
    return default_scan_config().max_file_bytes


@dataclass
class Folder:
    """A workspace folder: its engine, overlays not yet handed to it, files opened but neither prepared nor
    prompted in yet, whether its first index finished, and the engine jobs still running (its engine closes
    only when none is: a thread may be inside SQLite)."""

    root: Path
    engine: Engine
    pending: dict[str, str | None] = field(default_factory=dict)
    unprepared: set[str] = field(default_factory=set)
    indexed: asyncio.Event = field(default_factory=asyncio.Event)
    jobs: int = 0
    closing: bool = False


class Workspaces:
    """Engines by workspace folder; a document belongs to the innermost folder containing it."""

    def __init__(self) -> None:
        self._folders: dict[Path, Folder] = {}
        self.max_document = max_document_chars()
        self._queries = SerialWorker("qwen-engine")
        self._indexing = SerialWorker("qwen-index")

    def folders(self) -> list[Folder]:
        """The open workspace folders."""
        return list(self._folders.values())

    def add(self, root: Path) -> Folder:
        """Open (or return) the engine of ``root``; opening is cheap, indexing is started separately.

        Raises UsageError for a folder that is never indexed (`refused_root`)."""
        root = root.resolve()
        if reason := refused_root(root):
            raise UsageError(f"qwen-lsp will not index {root.name or root}: {reason}")
        if root not in self._folders:
            self._folders[root] = Folder(root, Engine(root))
        return self._folders[root]

    def remove(self, root: Path) -> None:
        """Close the engine of a folder the client removed from the workspace (once its jobs are done)."""
        folder = self._folders.pop(root.resolve(), None)
        if folder is not None:
            folder.closing = True
            folder.engine.stop_watching()
            if not folder.jobs:
                folder.engine.close()

    def locate(self, path: Path) -> tuple[Folder, str] | None:
        """The folder holding ``path`` and the path relative to it, or None outside every folder."""
        path = path.resolve()
        for root in sorted(self._folders, key=lambda root: len(root.parts), reverse=True):
            if path.is_relative_to(root):
                return self._folders[root], path.relative_to(root).as_posix()
        return None

    def overlay(self, path: Path, text: str | None) -> None:
        """Record an open source file's text (None: closed) for its engine, applied before the next call. A
        text over `max_document` is never handed to the engine (parsing it would hold every other document's
        completions up): the engine keeps the disk's view, itself skipped when as big."""
        if language_for(path.name) is not None and (found := self.locate(path)) is not None:
            folder, rel = found
            folder.pending[rel] = text if text is None or len(text) <= self.max_document else None

    async def prepare_repository(self, folder: Folder) -> None:
        """After a first index: build what the folder's first prompt would (`Engine.prepare`), unless a call
        already waits for the engine thread."""
        await self.call(folder, lambda engine: None if self._queries.waiting else engine.prepare())

    async def prepare_soon(self, folder: Folder, rel: str, prepare: Callable[[Engine], None]) -> None:
        """After `PREPARE_DELAY`, run ``prepare(engine)`` for the just-opened ``rel`` unless a prompt there
        came first (the caller of `Engine.fim_prompt` discards ``rel`` from ``folder.unprepared``) or another
        call waits for the engine thread when its turn comes."""
        folder.unprepared.add(rel)
        await asyncio.sleep(PREPARE_DELAY)
        if rel not in folder.unprepared:
            return
        folder.unprepared.discard(rel)
        await self.call(folder, lambda engine: None if self._queries.waiting else prepare(engine))

    # ---- the one place blocking engine work leaves the event loop -----------------------------------------

    async def call(self, folder: Folder, work: Callable[[Engine], T]) -> T:
        """Run ``work(engine)`` on the engine thread after the folder's pending overlays; await its result."""
        pending, folder.pending = folder.pending, {}
        engine = folder.engine

        def run() -> T:
            started = time.perf_counter()
            for rel, text in pending.items():
                try:
                    engine.set_overlay(rel, text) if text is not None else engine.clear_overlay(rel)
                except QwenContextError as exc:  # a secret or escaping path: the engine keeps the disk's view
                    logger.info("no overlay for %s: %s", rel, exc)
            if pending:
                logger.debug("%d overlays applied in %.1f ms", len(pending),
                             (time.perf_counter() - started) * 1000)
            return work(engine)

        return await self._run(self._queries, folder, run)

    async def ready(self, folder: Folder, seconds: float) -> bool:
        """Wait up to ``seconds`` for the folder's first index to finish; whether it has."""
        if not folder.indexed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(folder.indexed.wait(), seconds)
        return folder.indexed.is_set()

    async def index(self, folder: Folder, progress: ProgressCallback) -> IndexReport:
        """Index ``folder`` on the indexing thread, then start its file watcher; marks the folder indexed."""
        try:
            report = await self._run(self._indexing, folder, lambda: folder.engine.index(progress))
            if not folder.closing:
                folder.engine.start_watching()
            return report
        finally:
            folder.indexed.set()

    async def update(self, folder: Folder, paths: list[str]) -> IndexReport:
        """Re-index files the client saw change on disk."""
        return await self._run(self._indexing, folder, lambda: folder.engine.update(paths))

    async def _run(self, worker: SerialWorker, folder: Folder, job: Callable[[], T]) -> T:
        """Run ``job`` on ``worker``, counted among ``folder``'s jobs until the thread is done with it."""
        if folder.closing:
            raise IndexUnavailable(f"the workspace folder {folder.root} was closed")
        loop = asyncio.get_running_loop()
        folder.jobs += 1
        future = worker.submit(job)
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(self._finished, folder))
        return await asyncio.wrap_future(future)

    @staticmethod
    def _finished(folder: Folder) -> None:
        folder.jobs -= 1
        if folder.closing and not folder.jobs:
            folder.engine.close()

    def close(self) -> None:
        """Stop the watchers and the worker threads; each engine closes when no thread is using it."""
        self._queries.stop(cancel_pending=True)
        self._indexing.stop(cancel_pending=True)
        for root in list(self._folders):
            self.remove(root)
