"""Keeping a long-running engine fresh from file-system events (watchfiles, in a daemon thread).

Events are batched (watchfiles debounces them), reduced to the files a scan could index — known languages and
build files, not inside ``.git`` or the usual tool folders (watchfiles' default filter) — and handed to
`Engine.update`, which applies the ignore rules per file. A change of an ignore file (``.gitignore``,
``.qwenignore``) can change which files are indexed anywhere, so it triggers a full `Engine.index` (cheap when
little changed). Changes of ``.git/info/exclude`` are not watched: the next `Engine.index` applies them.

The engine owns its watcher (`Engine.start_watching`, `Engine.stop_watching`, `Engine.close`); the watcher
knows only the `Refreshable` face of what it keeps fresh, and never calls back into its owner otherwise.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, Self

import watchfiles

from context.errors import QwenContextError
from context.index.languages import language_for
from context.index.reports import IndexReport
from context.index.resolve import BUILD_FILES

logger = logging.getLogger(__name__)

#: Milliseconds watchfiles waits for more events before reporting a batch.
DEBOUNCE_MS = 150
#: How long `Watcher.__enter__` waits for the watcher to be running before going on anyway (seconds).
START_TIMEOUT_S = 5.0
#: Files whose change re-scans the whole repository.
IGNORE_FILES = frozenset({".gitignore", ".qwenignore"})


class Refreshable(Protocol):
    """What a watcher keeps fresh: an index over ``root`` that can re-index some paths, or everything."""

    @property
    def root(self) -> Path: ...

    def index(self) -> IndexReport: ...

    def update(self, paths: list[str]) -> IndexReport: ...


class Watcher:
    """A context manager running a watchfiles loop over ``engine.root`` that calls ``engine.update`` (or
    ``engine.index`` after an ignore file changed).

    ``on_update`` (optional) is called from the watcher thread with each report, e.g. to tell clients.
    """

    def __init__(self, engine: Refreshable, on_update: Callable[[IndexReport], None] | None = None) -> None:
        self.engine = engine
        self.on_update = on_update
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"qwen-context-watch:{engine.root.name}",
                                        daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            logger.warning("the file watcher of %s is slow to start", self.engine.root)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the watcher was started and not stopped."""
        return self._thread.is_alive() and not self._stop.is_set()

    def stop(self) -> None:
        """Stop watching and wait for the thread (safe to call twice)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        root = self.engine.root
        try:
            for changes in watchfiles.watch(root, debounce=DEBOUNCE_MS, step=50, stop_event=self._stop,
                                            yield_on_timeout=True, rust_timeout=200, raise_interrupt=False):
                self._ready.set()
                if changes:
                    self._handle({Path(path) for _, path in changes})
        except Exception:  # the watcher must never take a server down; the index just goes stale
            logger.exception("the file watcher of %s stopped", root)
        finally:
            self._ready.set()

    def _handle(self, changed: set[Path]) -> None:
        root = self.engine.root
        paths: list[str] = []
        rescan = False
        for path in changed:
            try:
                rel = path.relative_to(root).as_posix()
            except ValueError:
                continue
            if path.name in IGNORE_FILES:
                rescan = True
            elif language_for(rel) is not None or path.name in BUILD_FILES or path.is_dir() or not path.exists():
                paths.append(rel)
        if not paths and not rescan:
            return
        try:
            report = self.engine.index() if rescan else self.engine.update(paths)
        except QwenContextError as exc:
            logger.warning("cannot update the index of %s: %s", root, exc)
            return
        logger.debug("watch: %d parsed, %d removed in %.1f ms", report.parsed, report.removed,
                     report.seconds * 1000)
        if self.on_update is not None:
            self.on_update(report)
