"""A small Emacs Lisp reader for checking the Emacs snippet without Emacs.

Debian's Emacs is large and its lsp-mode predates `lsp-inline-completion`, so the test reads qwen.el itself:
it tokenizes comments, strings, character literals, quotes and vectors the way the Lisp reader does, fails on
any unbalanced or stray bracket, and returns the top-level forms as nested lists of atoms (strings stay
`Str`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Str:
    """A string literal (kept apart from symbols)."""

    text: str


Form = str | Str | list["Form"]


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>;[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<char>\?(?:\\(?:[CMSHsA]-)*(?:\^.|.)|[^\\\s]))
  | (?P<open>[(\[])
  | (?P<close>[)\]])
  | (?P<quote>\#'|[`',]@?)
  | (?P<atom>(?:[^\s()\[\]";'`,\\]|\\.)+)
    """,
    re.VERBOSE | re.DOTALL,
)
_PAIRS = {"(": ")", "[": "]"}


def read_forms(source: str) -> list[Form]:
    """All top-level forms of ``source``; raises ValueError on unbalanced brackets or unreadable text."""
    stack: list[tuple[str, list[Form]]] = [("", [])]
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            line = source.count("\n", 0, position) + 1
            raise ValueError(f"unreadable text at line {line}: {source[position : position + 20]!r}")
        kind, text = match.lastgroup, match.group()
        position = match.end()
        if kind in ("space", "comment", "quote"):
            continue
        if kind == "open":
            stack.append((text, []))
        elif kind == "close":
            opener, items = stack.pop() if len(stack) > 1 else ("", [])
            if _PAIRS.get(opener) != text:
                line = source.count("\n", 0, position) + 1
                raise ValueError(f"unbalanced {text!r} at line {line}")
            stack[-1][1].append(items)
        elif kind == "string":
            stack[-1][1].append(Str(text[1:-1]))
        else:
            stack[-1][1].append(text)
    if len(stack) != 1:
        raise ValueError(f"{len(stack) - 1} unclosed bracket(s) at the end")
    return stack[0][1]


def find_call(forms: list[Form], head: str) -> list[Form]:
    """The first list anywhere in ``forms`` whose first element is the symbol ``head``."""
    for form in forms:
        if isinstance(form, list):
            if form and form[0] == head:
                return form
            if found := find_call(form, head):
                return found
    return []


def keywords(form: list[Form]) -> dict[str, Form]:
    """The ``:keyword value`` pairs of a call such as ``(make-lsp-client :server-id 'x ...)``."""
    return {
        item: form[index + 1]
        for index, item in enumerate(form[:-1])
        if isinstance(item, str) and item.startswith(":")
    }
