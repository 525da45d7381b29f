"""The engine's memory of masked file texts: least recently used first out, bounded by total characters."""

from __future__ import annotations

from collections import OrderedDict

#: Characters of masked text kept in memory for `Engine.text`. Bounded by size, not by file count: one 8K prompt
#: reads ~80 files, and re-reading and re-masking evicted files doubled its assembly time on a 5,000-file repo.
TEXT_CACHE_CHARS = 128 * 1024 * 1024


class TextCache:
    """Least-recently-used masked file texts, bounded by their total size in characters."""

    def __init__(self, max_chars: int = TEXT_CACHE_CHARS) -> None:
        self._max_chars = max_chars
        self._chars = 0
        self._entries: OrderedDict[str, tuple[tuple[int, int], str]] = OrderedDict()

    def get(self, path: str, key: tuple[int, int]) -> str | None:
        """The cached text of ``path`` if it was read when the file had this (mtime, size) ``key``."""
        entry = self._entries.get(path)
        if entry is None or entry[0] != key:
            return None
        self._entries.move_to_end(path)
        return entry[1]

    def put(self, path: str, key: tuple[int, int], text: str) -> None:
        """Remember ``text`` for ``path`` at ``key``, evicting the least recently used texts beyond the bound (the
        newest always stays, however big)."""
        self.discard(path)
        self._entries[path] = (key, text)
        self._chars += len(text)
        while self._chars > self._max_chars and len(self._entries) > 1:
            self._chars -= len(self._entries.popitem(last=False)[1][1])

    def discard(self, path: str) -> None:
        """Forget the text of ``path`` (no-op when none is cached)."""
        entry = self._entries.pop(path, None)
        if entry is not None:
            self._chars -= len(entry[1])


__all__ = ["TEXT_CACHE_CHARS", "TextCache"]
