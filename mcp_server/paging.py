"""Keeping every tool result under the server's output cap: how much of a text or a list fits, and where the
next page starts.

Sizes are counted in Qwen tokens as the client receives them: the SDK sends results as indented JSON, whose
escapes and indentation add about 20% to code, and the fields around a result's text or items take the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel

from context.agent.lookup import split_lines
from context.prompt import tokens
from context.prompt.tokens import fit_lines, fit_text

M = TypeVar("M", bound=BaseModel)

#: Share of the output cap given to a result's text or items (the rest is the JSON around them).
TEXT_SHARE = 0.7
#: Indentation of a list item in the JSON the SDK sends (items sit two levels deep).
LIST_INDENT = 4


def text_budget(max_output_tokens: int) -> int:
    """Tokens a result's text or items may take under an output cap of ``max_output_tokens``."""
    return int(max_output_tokens * TEXT_SHARE)


def fit_items(items: Sequence[M], budget: int) -> int:
    """How many of ``items`` fit in ``budget`` tokens as the indented JSON the client receives (at least one)."""
    used = 0
    for n, item in enumerate(items):
        used += tokens.count(item.model_dump_json(indent=LIST_INDENT))
        if used > budget and n > 0:
            return n
    return len(items)


def next_offset(offset: int, shown: int, more: bool) -> int | None:
    """The offset of the next page, None when this page is the last."""
    return offset + shown if more else None


__all__ = ["fit_items", "fit_lines", "fit_text", "next_offset", "split_lines", "text_budget"]
