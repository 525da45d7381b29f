"""The current file of a FIM prompt: split at the cursor, trimmed around it to its share of the budget.

The prefix starts on a line snapped to a coarse grid, under the headers of the scopes enclosing the cursor, so
consecutive prompts while the user types share their leading tokens; the suffix is capped (it is the part a
prefix cache cannot reuse).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from context.prompt import tokens
from context.prompt.repomap import ELISION
from context.weights import (
    CURSOR_LINE_RESERVE,
    MAX_SCOPE_HEADERS,
    PREFIX_SHARE,
    PREFIX_SNAP_LINES,
    SUFFIX_MAX_TOKENS,
)

_INDENT_RE = re.compile(r"[ \t]*")


def _scope_headers(lines: Sequence[str], cursor_line: int, start: int) -> list[int]:
    """Lines above ``start`` that open the scopes enclosing the cursor (by indentation), outermost first."""

    def indent(line: str) -> int:
        return len(_INDENT_RE.match(line).group(0))  # type: ignore[union-attr]

    current = None
    for number in range(min(cursor_line, len(lines) - 1), -1, -1):
        if lines[number].strip():
            current = indent(lines[number])
            break
    if current is None:
        return []
    headers: list[int] = []
    for number in range(min(cursor_line, len(lines)) - 1, -1, -1):
        line = lines[number]
        if not line.strip():
            continue
        level = indent(line)
        if level < current:
            current = level
            if number < start:
                headers.append(number)
            if level == 0 or len(headers) >= MAX_SCOPE_HEADERS:
                break
    return sorted(headers)


@dataclass(frozen=True, slots=True)
class Cursor:
    """The current file split at the cursor, with the exact token counts of both sides."""

    lines: list[str]
    line: int
    head: str
    tail: str
    prefix: str
    suffix: str
    prefix_tokens: int
    suffix_tokens: int

    @classmethod
    def at(cls, lines: list[str], line: int, character: int) -> Cursor:
        head, tail = lines[line][:character], lines[line][character:]
        prefix = "\n".join([*lines[:line], head])
        suffix = "\n".join([tail, *lines[line + 1 :]])
        return cls(lines, line, head, tail, prefix, suffix, tokens.count(prefix), tokens.count(suffix))


def current_parts(cursor: Cursor, budget: int) -> tuple[str, str]:
    """The current file's prefix and suffix, trimmed around the cursor to ``budget`` tokens together."""
    if cursor.prefix_tokens + cursor.suffix_tokens <= budget and cursor.suffix_tokens <= SUFFIX_MAX_TOKENS:
        return cursor.prefix, cursor.suffix
    suffix_budget = min(
        max(budget - int(budget * PREFIX_SHARE), budget - cursor.prefix_tokens), SUFFIX_MAX_TOKENS
    )
    suffix = cursor.suffix
    if cursor.suffix_tokens > suffix_budget:
        suffix = _trim_suffix(cursor.tail, cursor.lines[cursor.line + 1 :], suffix_budget)
    prefix_budget = budget - tokens.count(suffix)
    prefix = cursor.prefix
    if cursor.prefix_tokens > prefix_budget:
        prefix = _trim_prefix(cursor.lines, cursor.line, cursor.head, prefix_budget)
    return prefix, suffix


def _trim_suffix(tail: str, after: Sequence[str], budget: int) -> str:
    kept = [tail]
    used = tokens.count(tail)
    if used > budget:
        return ""
    for line in after:
        cost = tokens.count(line) + 1
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    return "\n".join(kept)


def _trim_prefix(lines: Sequence[str], cursor_line: int, head: str, budget: int) -> str:
    """Lines before the cursor, from a snapped start line, under the enclosing scopes' headers."""
    available = budget - CURSOR_LINE_RESERVE
    start = cursor_line
    used = 0
    while start > 0:
        cost = tokens.count(lines[start - 1]) + 1
        if used + cost > available:
            break
        used += cost
        start -= 1
    if start > 0:
        snapped = -(-start // PREFIX_SNAP_LINES) * PREFIX_SNAP_LINES
        start = min(snapped, cursor_line)
    while True:
        top = [lines[n] for n in _scope_headers(lines, cursor_line, start)] if start > 0 else []
        body = [*lines[start:cursor_line], head]
        prefix = "\n".join(top + ([ELISION] if top else []) + body)
        if tokens.count(prefix) <= budget or start >= cursor_line:
            break
        start = min(start + max(1, (cursor_line - start) // 8), cursor_line)
    if tokens.count(prefix) > budget:
        # The cursor's own line is longer than the budget: keep its end.
        while prefix and tokens.count(prefix) > budget:
            prefix = prefix[len(prefix) // 8 + 1 :]
    return prefix


__all__ = ["Cursor", "current_parts"]
