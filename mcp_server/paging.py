"""Keeping every tool result under the server's output cap: how much of a text or a list fits, and where the
next page starts.

Sizes are counted in Qwen tokens as the client receives them: the SDK sends results as indented JSON, whose
escapes and indentation add about 20% to code, and the fields around a result's text or items take the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel

from context.prompt import tokens

M = TypeVar("M", bound=BaseModel)

#: Share of the output cap given to a result's text or items (the rest is the JSON around them).
TEXT_SHARE = 0.7
#: Indentation of a list item in the JSON the SDK sends (items sit two levels deep).
LIST_INDENT = 4


def text_budget(max_output_tokens: int) -> int:
    """Tokens a result's text or items may take under an output cap of ``max_output_tokens``."""
    return int(max_output_tokens * TEXT_SHARE)


def split_lines(text: str) -> list[str]:
    """The lines of a file as the engine numbers them (a final newline does not start a line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def fit_lines(lines: Sequence[str], budget: int) -> int:
    """How many of ``lines`` fit in ``budget`` tokens (at least one, so a page always moves on)."""
    used = 0
    for n, line in enumerate(lines):
        used += tokens.count(line) + 1
        if used > budget and n > 0:
            return n
    return len(lines)


def fit_items(items: Sequence[M], budget: int) -> int:
    """How many of ``items`` fit in ``budget`` tokens as the indented JSON the client receives (at least one)."""
    used = 0
    for n, item in enumerate(items):
        used += tokens.count(item.model_dump_json(indent=LIST_INDENT))
        if used > budget and n > 0:
            return n
    return len(items)


def fit_text(text: str, budget: int) -> tuple[str, bool]:
    """``text`` cut to fit ``budget`` tokens, and whether it was cut: at a line boundary when whole lines fit,
    else inside the first line (an answer without newlines is cut too, never passed on whole)."""
    if tokens.count(text) <= budget:
        return text, False
    lines = text.split("\n")
    kept = fit_lines(lines, budget)
    if kept > 1 or tokens.count(lines[0]) <= budget:
        return "\n".join(lines[:kept]), True
    return tokens.decode(tokens.encode(lines[0])[:budget]), True


def next_offset(offset: int, shown: int, more: bool) -> int | None:
    """The offset of the next page, None when this page is the last."""
    return offset + shown if more else None
