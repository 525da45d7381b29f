"""The small machinery around inline completion that keeps the handlers straight-line.

- `Latest` runs one completion at a time: a new request cancels the one still in flight (as Copilot's server
  does), which closes its model stream; the superseded request answers with no items instead of an error.
- `Cursor` is where a completion is asked for, as the engine and as the client see it.
- `FailureNotice` shows each kind of model failure once, not on every keystroke.
- `SuggestionCache` remembers the suggestions last shown per document, so typing the characters of a shown
  suggestion is answered with the rest of it, without asking the model again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from context.errors import QwenContextError
from lsp_server.workspaces import Folder

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Latest:
    """Runs the newest request of its kind; starting one cancels the previous one if it is still running."""

    def __init__(self) -> None:
        self._task: asyncio.Task[Any] | None = None

    async def run(self, work: Coroutine[Any, Any, T]) -> T | None:
        """Await ``work`` unless a newer request supersedes it (then None); `$/cancelRequest` still raises."""
        if self._task is not None:
            self._task.cancel()
        task: asyncio.Task[T] = asyncio.ensure_future(work)
        self._task = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            return None
        finally:
            if self._task is task:
                self._task = None


@dataclass(frozen=True)
class _Shown:
    before: str
    after: str
    texts: tuple[str, ...]


class SuggestionCache:
    """The suggestions last shown in each of the most recently used documents."""

    def __init__(self, documents: int = 16) -> None:
        self._documents = documents
        self._shown: OrderedDict[str, _Shown] = OrderedDict()

    def lookup(self, uri: str, before: str, after: str) -> list[str]:
        """The rest of each shown suggestion that the text typed since agrees with (empty when none does).

        ``before``/``after`` are the document's text before and after the cursor: the text after must be
        unchanged, and the text before must be the shown one plus a prefix of the suggestion.
        """
        shown = self._shown.get(uri)
        if shown is None or shown.after != after or not before.startswith(shown.before):
            return []
        typed = before[len(shown.before):]
        return [text[len(typed):] for text in shown.texts
                if text.startswith(typed) and len(text) > len(typed)]

    def store(self, uri: str, before: str, after: str, texts: Sequence[str]) -> None:
        """Remember the suggestions shown at this cursor."""
        self._shown[uri] = _Shown(before, after, tuple(texts))
        self._shown.move_to_end(uri)
        while len(self._shown) > self._documents:
            self._shown.popitem(last=False)

    def forget(self, uri: str) -> None:
        """Drop a closed document's suggestions."""
        self._shown.pop(uri, None)


@dataclass(frozen=True)
class Cursor:
    """Where a completion is asked for, as the engine sees it (code points) and as the client sees it (range).

    Without a ``folder`` the prompt comes from the buffer alone. With a ``selectedCompletionInfo`` the buffer is taken with the selected text applied, ``lead`` is that
    text (every item starts with it) and ``replace`` is its range; otherwise ``replace`` is empty at the
    cursor.
    """

    uri: str
    folder: Folder | None  # None: completed from the buffer alone (outside the workspace, or too big)
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

    def failed(self, exc: QwenContextError, *, always: bool = False) -> None:
        """Log a failure; show it unless its kind was shown since the model last answered (``always``: an
        action the user asked for, which must not fail silently)."""
        kind = type(exc).__name__
        logger.warning("model request failed (%s): %s", kind, exc)
        if always or kind not in self._shown:
            self._shown.add(kind)
            self._server.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Error, message=f"qwen-lsp: {exc}"))

    def recovered(self) -> None:
        self._shown.clear()
