"""The prompt caches stay bounded in size, not only in count, while a user types in a big file."""

from __future__ import annotations

from context.prompt.memo import SPLIT_CHARS, PromptCaches


def test_split_lines_memo_is_bounded_by_characters() -> None:
    caches = PromptCaches()
    buffer = "x = 1\n" * 200_000  # a 1.2 MB file, one keystroke's version after another
    for keystroke in range(40):
        assert caches.split(buffer + str(keystroke))[-1] == f"{keystroke}"
    assert sum(map(len, caches.lines)) <= SPLIT_CHARS
    assert len(caches.lines) >= 1
