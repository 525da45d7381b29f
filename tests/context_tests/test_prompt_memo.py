"""The prompt caches stay bounded in size, not only in count, while a user types in a big file, and hold no
keystroke's buffer."""

from __future__ import annotations

from context.engine import Engine
from context.prompt.fim import build_fim_prompt
from context.prompt.memo import SPLIT_CHARS, SPLIT_TEXTS, PromptCaches


def test_split_lines_memo_is_bounded_by_characters() -> None:
    caches = PromptCaches()
    buffer = "x = 1\n" * 200_000  # a 1.2 MB file, one keystroke's version after another
    for keystroke in range(40):
        assert caches.split(buffer + str(keystroke))[-1] == f"{keystroke}"
    assert sum(map(len, caches.lines)) <= SPLIT_CHARS
    assert len(caches.lines) >= 1


def test_typing_leaves_no_buffer_in_the_prompt_caches(engine: Engine) -> None:
    """Every keystroke's buffer is a new text: the FIM prompt reads it without remembering it (a soak found the
    memo holding 512 whole buffers and their lines), while the other files' lines stay memoised."""
    caches = PromptCaches()
    path = "python/app/service.py"
    text = (engine.root / path).read_text()
    line = text.count("\n")
    for keystroke in range(SPLIT_TEXTS + 10):
        buffer = f"{text}\nvalue_{keystroke} = "
        prompt = build_fim_prompt(engine, caches, path, line + 1, len(f"value_{keystroke} = "), buffer=buffer)
        assert prompt.prefix.endswith(f"value_{keystroke} = ")
    assert caches.lines, "the other files' lines are memoised"
    assert not [key for key in caches.lines if "value_" in key]
    assert len(caches.lines) <= len(engine.files())
