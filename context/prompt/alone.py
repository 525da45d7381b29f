"""A fill-in-the-middle prompt from one buffer alone, with no repository around it.

The language server uses it for a document it must not index: one outside every workspace folder the editor
named (nothing beside it may be read), or one too big to index. Only a window of the buffer around the cursor
is read, so a 50 MB buffer costs what a small one does; the window is secret-masked like everything sent.
"""

from __future__ import annotations

import re
import time

from context.prompt import tokens
from context.prompt.result import Prompt, Section
from context.secrets import mask_secrets

#: Characters read around the cursor per token of budget, before the exact count trims the window.
CHARS_PER_TOKEN = 4
#: Share of the window before the cursor (the rest is after it).
PREFIX_SHARE = 0.75


def line_start(text: str, line: int) -> int:
    """The offset of the first character of ``line`` (0-based) in ``text``; the end of ``text`` past its last
    line. One regular-expression match skips the lines before it: a huge buffer is never split into lines."""
    if line <= 0:
        return 0
    if line > text.count("\n"):
        return len(text)
    skipped = re.match(f"(?:[^\n]*\n){{{line}}}", text)
    return skipped.end() if skipped is not None else len(text)


def _cursor_offset(text: str, line: int, character: int) -> int:
    start = line_start(text, line)
    end = text.find("\n", start)
    return min(start + max(character, 0), len(text) if end < 0 else end)


def buffer_fim_prompt(path: str, text: str, line: int, character: int, *, budget: int = 8192) -> Prompt:
    """The FIM prompt for a cursor at 0-based ``line``/``character`` (code points) of ``text``, the buffer of
    ``path`` (a name for the prompt only: nothing is read from disk), within ``budget`` tokens."""
    started = time.perf_counter()
    cursor = _cursor_offset(text, line, character)
    window = budget * CHARS_PER_TOKEN
    before = text[max(0, cursor - int(window * PREFIX_SHARE)) : cursor]
    after = text[cursor : cursor + window - len(before)]
    if cursor - len(before) > 0 and "\n" in before:  # start on a whole line
        before = before[before.index("\n") + 1 :]
    if cursor + len(after) < len(text) and "\n" in after:  # end on a whole line
        after = after[: after.rindex("\n") + 1]
    prefix, suffix = tokens.defuse(mask_secrets(before)), tokens.defuse(mask_secrets(after))
    header = f"{tokens.FILE_SEP}{path}\n"
    fixed = tokens.count(header) + 3
    while prefix and fixed + tokens.count(prefix) + tokens.count(suffix) > budget:
        prefix = prefix[len(prefix) // 4 + 1 :]  # drop the oldest quarter until it fits
    while suffix and fixed + tokens.count(prefix) + tokens.count(suffix) > budget:
        suffix = suffix[: len(suffix) * 3 // 4]
    body = f"{header}{tokens.FIM_PREFIX}{prefix}{tokens.FIM_SUFFIX}{suffix}{tokens.FIM_MIDDLE}"
    total = fixed + tokens.count(prefix) + tokens.count(suffix)
    section = Section(path, "current", total, "the file being edited (no repository context)")
    return Prompt(body, total, budget, [section], (time.perf_counter() - started) * 1000, prefix, suffix, path, "")
