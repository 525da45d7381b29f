"""What a change reaches, found through the engine: where changed names are used, and what changed code calls.

A use is found by the index's references, and every changed name is also searched for as a word in every indexed
file, since the index may not see every use (a string, a dynamic call, a setting), and for a removed or renamed
name those are the callers the change breaks. Each use is shown with the definition enclosing it: its header line, and the lines
around the use (or the whole enclosing definition when that is short).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from context.engine import Engine
from context.errors import UsageError
from context.index.snapshot import is_test_path
from context.index.symbols import Definition
from context.review.changes import ChangedFile

#: Uses looked up per changed name (a name used more than this is not a name whose every use helps).
MAX_USES_PER_NAME = 2000
#: Lines shown on each side of a use at first; a second pass shows the enclosing definition whole.
NEAR_LINES = 2
#: An enclosing definition up to this many lines is shown whole on the second pass, else a wider window.
WHOLE_ENCLOSING_LINES = 60
WIDE_LINES = 6
#: Names the changed code calls whose signatures are shown, per changed definition.
MAX_CALLEES = 30


@dataclass(frozen=True)
class Use:
    """One use of a changed name: where, and the lines to show at first and on a second look."""

    path: str
    line: int
    name: str
    first: frozenset[int]
    more: frozenset[int]
    #: The use is of a removed or renamed definition's old name (it breaks with the change).
    broken: bool

    @property
    def in_test(self) -> bool:
        return is_test_path(self.path)


def _enclosing(definitions: list[Definition], line: int) -> Definition | None:
    holding = [d for d in definitions if d.line <= line <= d.end_line]
    return min(holding, key=lambda d: d.end_line - d.line) if holding else None


def _use(path: str, line: int, name: str, definitions: list[Definition], broken: bool) -> Use:
    near = set(range(max(line - NEAR_LINES, 0), line + NEAR_LINES + 1))
    enclosing = _enclosing(definitions, line)
    if enclosing is None:
        return Use(path, line, name, frozenset(near), frozenset(range(max(line - WIDE_LINES, 0), line + WIDE_LINES + 1)),
                   broken)
    near = {n for n in near if enclosing.line <= n <= enclosing.end_line} | {enclosing.line}
    if enclosing.end_line - enclosing.line < WHOLE_ENCLOSING_LINES:
        more = set(range(enclosing.line, enclosing.end_line + 1))
    else:
        more = {n for n in range(line - WIDE_LINES, line + WIDE_LINES + 1) if enclosing.line <= n <= enclosing.end_line}
    return Use(path, line, name, frozenset(near), frozenset(more | near), broken)


def _word_uses(engine: Engine, names: list[str]) -> dict[tuple[str, int], str]:
    """Every (path, line) of an indexed file where one of ``names`` appears as a whole word, with the name."""
    if not names:
        return {}
    pattern = re.compile(r"(?<![\w$])(" + "|".join(re.escape(n) for n in names) + r")(?![\w$])")
    found: dict[tuple[str, int], str] = {}
    for path in engine.files():
        try:
            text = engine.text(path)
        except UsageError:
            continue
        if not any(name in text for name in names):
            continue
        for match in pattern.finditer(text):
            found.setdefault((path, text.count("\n", 0, match.start())), match.group(1))
    return found


def _inside_changes(changed: Iterable[ChangedFile]) -> dict[str, list[tuple[int, int]]]:
    """The line spans of the changed definitions by path: uses inside them are the change itself."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for file in changed:
        spans.setdefault(file.path, []).extend((d.line, d.end_line) for d in file.changed)
    return spans


def uses_of_changes(engine: Engine, changed: list[ChangedFile]) -> list[Use]:
    """Every use of a changed name outside the changed definitions (by the index's references, and as a word
    in any indexed file): uses of removed or renamed names first, then files with more uses first."""
    removed = {d.name for file in changed for d in file.removed}
    names = sorted({name for file in changed for name in file.symbols})
    inside = _inside_changes(changed)
    indexed = set(engine.files())
    places: dict[tuple[str, int], str] = {}
    for name in names:
        for ref in engine.references(name, limit=MAX_USES_PER_NAME):
            places.setdefault((ref.path, ref.line), name)
    for place, name in _word_uses(engine, names).items():  # uses the index does not see as references
        places.setdefault(place, name)
    definitions: dict[str, list[Definition]] = {}
    uses: list[Use] = []
    for (path, line), name in sorted(places.items()):
        if path not in indexed or any(start <= line <= end for start, end in inside.get(path, ())):
            continue
        if path not in definitions:
            definitions[path] = engine.definitions(path)
        uses.append(_use(path, line, name, definitions[path], name in removed))
    per_file = Counter(use.path for use in uses)
    uses.sort(key=lambda use: (not use.broken, -per_file[use.path], use.path, use.line))
    return uses


@dataclass(frozen=True)
class Callee:
    """A definition the changed code calls, by its signature."""

    definition: Definition
    called_from: str


def callees_of_changes(engine: Engine, changed: list[ChangedFile]) -> list[Callee]:
    """The definitions the changed definitions use (outside themselves), each once, in order of first use."""
    own = {(d.path, d.line) for file in changed for d in file.changed}
    seen: set[tuple[str, int]] = set()
    callees: list[Callee] = []
    for file in changed:
        if file.deleted_file or not file.changed:
            continue
        try:
            references = engine.references_in(file.path)
        except UsageError:
            continue
        for definition in file.changed:
            count = 0
            for ref in references:
                if not definition.line <= ref.line <= definition.end_line or count >= MAX_CALLEES:
                    continue
                target = engine.definition_at(file.path, ref.line, ref.column)
                if target is None or (target.path, target.line) in own | seen:
                    continue
                seen.add((target.path, target.line))
                callees.append(Callee(target, definition.name))
                count += 1
    return callees


__all__ = ["Callee", "Use", "callees_of_changes", "uses_of_changes"]
