"""Exact Qwen3-Coder token counts, offline.

Qwen2.5, Qwen3 and Qwen3-Coder share one byte-level BPE (151,643 ranks) plus added tokens; quicktok ships it
as the ``qwen3`` encoding, so nothing is downloaded. The prompt markers (``<|fim_prefix|>``, ``<|file_sep|>``,
...) are single tokens: ``count`` and ``encode`` treat them as such, exactly as a serving engine does when it
tokenises a raw prompt. Because a file's text could contain those strings too, and a server would read them as
markers, ``defuse`` breaks them apart before any file text goes into a prompt.

Counting is the hot path of prompt assembly (a 256K-token prompt per keystroke), so ``count`` splits at the
markers and counts each ordinary segment with quicktok's fastest routine (no id list is built), and
``TokenCache`` remembers the counts of the pieces a prompt is built from.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache

import quicktok  # type: ignore[import-untyped]  # ships no type information

#: The Qwen2.5/Qwen3/Qwen3-Coder control tokens a prompt may contain (ids 151643-151664).
SPECIAL_TOKENS: dict[str, int] = {
    "<|endoftext|>": 151643,
    "<|im_start|>": 151644,
    "<|im_end|>": 151645,
    "<|object_ref_start|>": 151646,
    "<|object_ref_end|>": 151647,
    "<|box_start|>": 151648,
    "<|box_end|>": 151649,
    "<|quad_start|>": 151650,
    "<|quad_end|>": 151651,
    "<|vision_start|>": 151652,
    "<|vision_end|>": 151653,
    "<|vision_pad|>": 151654,
    "<|image_pad|>": 151655,
    "<|video_pad|>": 151656,
    "<tool_call>": 151657,
    "</tool_call>": 151658,
    "<|fim_prefix|>": 151659,
    "<|fim_middle|>": 151660,
    "<|fim_suffix|>": 151661,
    "<|fim_pad|>": 151662,
    "<|repo_name|>": 151663,
    "<|file_sep|>": 151664,
}

REPO_NAME = "<|repo_name|>"
FILE_SEP = "<|file_sep|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_SUFFIX = "<|fim_suffix|>"
FIM_MIDDLE = "<|fim_middle|>"

#: Strings a serving tokenizer reads as added tokens: the table above plus the later Qwen3 ones.
_ADDED_TOKEN_STRINGS = (*SPECIAL_TOKENS, "<tool_response>", "</tool_response>", "<think>", "</think>")
_ADDED_RE = re.compile("|".join(re.escape(s) for s in sorted(_ADDED_TOKEN_STRINGS, key=len, reverse=True)))
_SPECIAL_RE = re.compile("|".join(re.escape(s) for s in sorted(SPECIAL_TOKENS, key=len, reverse=True)))
_ALLOWED = frozenset(SPECIAL_TOKENS)


@lru_cache(maxsize=1)
def _encoding() -> quicktok.Tokenizer:
    return quicktok.get_encoding("qwen3")


def _may_hold_special(text: str) -> bool:
    return "<|" in text or "tool_call>" in text


def count(text: str) -> int:
    """The exact number of tokens ``text`` becomes, each control marker counting as one token."""
    encoding = _encoding()
    if not _may_hold_special(text):
        return int(encoding.count(text))
    total = 0
    start = 0
    for match in _SPECIAL_RE.finditer(text):
        if match.start() > start:
            total += encoding.count(text[start : match.start()])
        total += 1
        start = match.end()
    if start < len(text):
        total += encoding.count(text[start:])
    return total


def encode(text: str, specials: bool = True) -> list[int]:
    """Token ids of ``text``; with ``specials`` the control markers become their ids, else they are plain
    text."""
    encoding = _encoding()
    if specials:
        return list(encoding.encode(text, allowed_special=_ALLOWED, disallowed_special=()))
    return list(encoding.encode_ordinary(text))


def decode(ids: list[int]) -> str:
    """The text of token ids (the inverse of ``encode``)."""
    return str(_encoding().decode(ids))


def defuse(text: str) -> str:
    """``text`` with every control-marker string broken by a zero-width joiner, so it stays ordinary text.

    A file that mentions ``<|file_sep|>`` (a tokenizer test, this project's own sources) must not end the file
    early or open a new one in the model's eyes. The change is invisible to a reader and keeps lines intact.
    """
    if not _may_hold_special(text) and "<think>" not in text and "</think>" not in text:
        return text
    return _ADDED_RE.sub(lambda m: m.group(0)[0] + "\u2060" + m.group(0)[1:], text)


def fit_lines(lines: Sequence[str], budget: int) -> int:
    """How many of ``lines`` fit in ``budget`` tokens (at least one, so a page always moves on)."""
    used = 0
    for n, line in enumerate(lines):
        used += count(line) + 1
        if used > budget and n > 0:
            return n
    return len(lines)


def fit_text(text: str, budget: int) -> tuple[str, bool]:
    """``text`` cut to fit ``budget`` tokens, and whether it was cut: at a line boundary when whole lines fit,
    else inside the first line (a text without newlines is cut too, never passed on whole)."""
    if count(text) <= budget:
        return text, False
    lines = text.split("\n")
    kept = fit_lines(lines, budget)
    if kept > 1 or count(lines[0]) <= budget:
        return "\n".join(lines[:kept]), True
    return decode(encode(lines[0])[:budget]), True


class TokenCache:
    """Token counts of prompt pieces, remembered by their text (bounded, least recently used goes first).

    Keying by the string itself is cheap: Python caches a string's hash in the object, and the engine hands
    out the same string objects for unchanged files, so a hit costs a dictionary lookup.
    """

    def __init__(self, max_chars: int = 64_000_000) -> None:
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._chars = 0
        self._max_chars = max_chars

    def count(self, text: str) -> int:
        """``count(text)``, computed once per distinct text."""
        found = self._counts.get(text)
        if found is not None:
            self._counts.move_to_end(text)
            return found
        value = count(text)
        self._counts[text] = value
        self._chars += len(text)
        while self._chars > self._max_chars and self._counts:
            old, _ = self._counts.popitem(last=False)
            self._chars -= len(old)
        return value


__all__ = [
    "FILE_SEP",
    "FIM_MIDDLE",
    "FIM_PREFIX",
    "FIM_SUFFIX",
    "REPO_NAME",
    "SPECIAL_TOKENS",
    "TokenCache",
    "count",
    "decode",
    "defuse",
    "encode",
    "fit_lines",
    "fit_text",
]
