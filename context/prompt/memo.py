"""What prompt assembly remembers between prompts over one index: token counts, split lines, header ranges,
per-file facts and the recent context selections (the hysteresis that keeps consecutive prompts' leading tokens
identical). Owned by a `context.prompt.build.PromptBuilder`, one per index.
"""

from __future__ import annotations

import operator
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from context.errors import UnknownFile
from context.index.symbols import Definition
from context.index.view import IndexView, definitions_of
from context.prompt import rank, tokens
from context.prompt.result import Section

#: Selections remembered per index (keyed by everything they depend on).
SELECTION_CACHE_SIZE = 32
#: Definitions whose per-object values (header ranges) are remembered before the memo starts afresh.
MEMO_ITEMS = 500_000
#: Texts whose split lines are remembered (the files of the last few prompts) ...
SPLIT_TEXTS = 512
#: ... and their characters at most: an edited file is a new text after every change, so a count alone let a big
#: file fill it (the FIM prompt's own buffer never enters it: see `context.prompt.fim`).
SPLIT_CHARS = 16_000_000
#: Texts whose defused form is remembered before that memo starts afresh.
DEFUSED_TEXTS = 4_096

V = TypeVar("V")


@dataclass(slots=True)
class Selection:
    """What the packer chose for the repository context, rendered; reused while its inputs are unchanged.

    The inputs are the buffer without the cursor's line, the cursor's line number, the budget, the current
    file's imports and the texts of the files read while choosing (``texts``). The engine's version is not
    among them on purpose: it moves on every keystroke once the editor sends overlays, and reusing the
    selection then is what keeps consecutive prompts' leading tokens identical (hysteresis). A file that
    changed elsewhere is noticed through ``texts``.
    """

    sections: list[Section]
    text: str
    tokens: int
    texts: tuple[tuple[str, str | None], ...] = ()

    def still_current(self, view: IndexView, caches: PromptCaches) -> bool:
        """Whether every file this selection read still has the text it had."""
        for path, seen in self.texts:
            try:
                now: str | None = caches.defused(view.text(path))
            except UnknownFile:
                now = None
            if now is not seen and now != seen:
                return False
        return True


class IdentityMemo(Generic[V]):
    """Values computed per definition object, looked up by identity (hashing a definition's ten fields on
    every lookup was a measurable share of a prompt). The object is kept with its value, so a reused id never
    aliases."""

    def __init__(self, limit: int = MEMO_ITEMS) -> None:
        self._items: dict[int, tuple[Definition, V]] = {}
        self._limit = limit

    def get(self, definition: Definition, compute: Callable[[], V]) -> V:
        found = self._items.get(id(definition))
        if found is not None and found[0] is definition:
            return found[1]
        value = compute()
        if len(self._items) >= self._limit:
            self._items.clear()
        self._items[id(definition)] = (definition, value)
        return value


@dataclass(slots=True)
class FileFacts:
    """What prompt assembly derives from one file's definitions, computed once per version of the file."""

    definitions: list[Definition]
    #: The outermost definitions (see `top_level`), in source order.
    top_level: list[Definition]
    #: qualname -> the first definition with it (for the enclosing scopes of a definition).
    by_qualname: dict[str, Definition]
    #: parent qualname -> member definitions, in source order.
    members: dict[str, list[Definition]]
    #: BM25 terms of each definition (built on first use).
    bm25_terms: list[Counter[str]] | None = None

    def terms(self) -> list[Counter[str]]:
        """The BM25 terms of the definitions, in their order."""
        if self.bm25_terms is None:
            self.bm25_terms = [_definition_terms(definition) for definition in self.definitions]
        return self.bm25_terms

    @classmethod
    def of(cls, definitions: list[Definition]) -> FileFacts:
        containers = {d.qualname for d in definitions if d.kind == "module"}
        top_level = [d for d in definitions if d.kind != "module" and (not d.parent or d.parent in containers)]
        top_level.sort(key=lambda d: d.line)
        by_qualname: dict[str, Definition] = {}
        members: dict[str, list[Definition]] = {}
        for d in definitions:
            by_qualname.setdefault(d.qualname, d)
            if d.parent:
                members.setdefault(d.parent, []).append(d)
        return cls(definitions, top_level, by_qualname, members)


class PromptCaches:
    """Memory of one index's prompts: token counts, split lines, header ranges, per-file facts, recent selections."""

    def __init__(self) -> None:
        self.files: dict[str, FileFacts] = {}
        self.tokens = tokens.TokenCache()
        self.lines: OrderedDict[str, list[str]] = OrderedDict()
        self._split_chars = 0
        self.headers: IdentityMemo[tuple[int, int]] = IdentityMemo()
        self.selections: OrderedDict[tuple[object, ...], Selection] = OrderedDict()
        self._defused: dict[int, tuple[str, str]] = {}

    def split(self, text: str) -> list[str]:
        """``text`` split into lines without their ends (memoised for the last few hundred texts)."""
        found = self.lines.get(text)
        if found is None:
            found = text.split("\n")
            self.lines[text] = found
            self._split_chars += len(text)
            while len(self.lines) > 1 and (len(self.lines) > SPLIT_TEXTS or self._split_chars > SPLIT_CHARS):
                self._split_chars -= len(self.lines.popitem(last=False)[0])
        return found

    def defused(self, text: str) -> str:
        """``tokens.defuse(text)``, memoised by the identity of ``text`` (the index hands out cached
        strings)."""
        found = self._defused.get(id(text))
        if found is not None and found[0] is text:
            return found[1]
        value = tokens.defuse(text)
        if len(self._defused) >= DEFUSED_TEXTS:
            self._defused.clear()
        self._defused[id(text)] = (text, value)
        return value

    def facts(self, view: IndexView, path: str) -> FileFacts:
        """The `FileFacts` of ``path``, recomputed only when its definitions are other objects than last time
        (the engine's snapshot keeps the same objects while a file is unchanged)."""
        definitions = definitions_of(view, path)
        found = self.files.get(path)
        if (
            found is None
            or len(found.definitions) != len(definitions)
            or not all(map(operator.is_, found.definitions, definitions))
        ):
            found = self.files[path] = FileFacts.of(definitions)
        return found

    def remember(self, key: tuple[object, ...], selection: Selection) -> None:
        self.selections[key] = selection
        if len(self.selections) > SELECTION_CACHE_SIZE:
            self.selections.popitem(last=False)


def _definition_terms(definition: Definition) -> Counter[str]:
    """The BM25 terms of a definition: sub-words of its qualified name, signature and doc."""
    return Counter(rank.subwords(f"{definition.qualname} {definition.signature} {definition.doc}"))


__all__ = ["FileFacts", "IdentityMemo", "PromptCaches", "Selection"]
