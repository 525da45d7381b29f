"""The repository map: the definitions a model needs to find its way around a repository, within a token
budget.

Like aider's map (``aider/repomap.py``), it ranks *definitions*, not only files: a definition matters as
much as the files that use its name do (PageRank of each referencing file times the square root of how often
it says the name, shared among the files defining that name), scaled by what it is (classes and functions
over constants and fields), whether it is public, and whether it lives in a test. Members inherit a share of
their class's importance, so the methods of the most used class come with it. ``focus`` files personalise the
file ranks (and their tests and fixtures stop being discounted).

Each chosen file is rendered with its chosen definitions in source order, members under their class's header,
``⋮`` where lines were left out; files most important first. The number of definitions shown is the largest
whose rendering fits the budget exactly (counted with `context.prompt.tokens`).

Cost is bounded whatever the repository's size: only the best-ranked files are read for references and
candidates, and the global ranks and reference counts are kept per engine until its version changes.
"""

from __future__ import annotations

import builtins
import logging
import math
import time
import typing
import weakref
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from context.errors import InvalidBudget, UnknownFile
from context.index.graph import MAX_DEFINERS, name_weight
from context.index.scan import resolve_inside
from context.index.snapshot import is_test_path
from context.index.symbols import Definition
from context.prompt import rank, tokens

if TYPE_CHECKING:
    from context.engine import Engine

log = logging.getLogger(__name__)

ELISION = "\u22ee"  # ⋮, as in aider's repository map

# --- ranking weights ----------------------------------------------------------------------------------------

#: Weight of a definition by kind: what a model navigates by (types, functions) over values and fields.
KIND_WEIGHTS: dict[str, float] = {
    "class": 1.0, "struct": 1.0, "interface": 1.0, "trait": 1.0, "enum": 0.8, "type": 0.7,
    "function": 1.0, "method": 0.9, "constant": 0.2, "field": 0.1, "module": 0.1,
}
#: Multiplier for names private to their file (``_helper``) and for special methods other than constructors.
PRIVATE_FACTOR = 0.1
DUNDER_FACTOR = 0.3
CONSTRUCTORS = frozenset({"__init__", "__new__", "constructor", "new"})
#: Multiplier for tests and fixtures, unless they are focus files.
TEST_FACTOR = 0.05
#: Share of a definition's file rank it gets without being referenced (a top file's public API counts even
#: when only used from outside the repository).
FILE_SHARE = 0.3
#: Share of a class's score its members inherit (divided by the square root of their number).
MEMBER_SHARE = 3.0
#: Weight of the focus-personalised ranks against the global ones when ``focus`` is given.
FOCUS_SHARE = 0.8
#: Power iterations of the global PageRank (damping 0.8 converges in a few).
PAGERANK_ITERATIONS = 8
#: Files whose references are counted (the best-ranked: the rest weigh little).
MAX_REFERRING_FILES = 250
#: Files whose definitions are candidates: one per this many budget tokens, within the bounds below.
TOKENS_PER_CANDIDATE_FILE = 10
MIN_CANDIDATE_FILES, MAX_CANDIDATE_FILES = 60, 300
#: Names whose uses say nothing about a definition of the repository that shadows them (``isinstance``,
#: ``str``, ``Any``, ``Sequence``): references to them are nearly always to the built-in.
BUILTIN_NAMES = frozenset(dir(builtins)) | frozenset(typing.__all__)
#: Header lines shown for one definition at most (decorators are left out).
MAX_HEADER_LINES = 8
MAX_MAP_HEADER_LINES = 3
#: Definitions rendered per budget token at most when sizing the map (an upper bound for the search).
MIN_TOKENS_PER_DEFINITION = 4


# --- rendering definitions ----------------------------------------------------------------------------------


def _collapsed_length(line: str) -> int:
    return len(" ".join(line.split()))


def header_range(lines: Sequence[str], definition: Definition) -> tuple[int, int]:
    """First and last line (inclusive) of a definition's header in ``lines``: decorators through the
    signature."""
    top = definition.line
    if top >= len(lines):
        return (max(len(lines) - 1, 0), max(len(lines) - 1, 0))
    signature = definition.signature
    while top > 0 and definition.line - top < MAX_HEADER_LINES:
        above = lines[top - 1].strip()
        if above.startswith(("@", "#[", "[")) and above in signature:
            top -= 1
        else:
            break
    bottom = top
    covered = _collapsed_length(lines[top]) + 1
    limit = min(len(lines) - 1, max(definition.end_line, definition.line), top + MAX_HEADER_LINES - 1)
    while covered < len(signature) and bottom < limit:
        bottom += 1
        covered += _collapsed_length(lines[bottom]) + 1
    return (top, bottom)


def is_public(definition: Definition, language: str | None) -> bool:
    """Whether a definition is part of its file's interface (no leading underscore; capitalised in Go)."""
    if language == "go":
        return definition.name[:1].isupper()
    name = definition.name
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


# --- ranking ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Ranks:
    """What the map computes once per engine version: global file ranks and the referring files' counts."""

    version: int
    files: dict[str, float]
    counts: dict[str, Mapping[str, int]]


_RANKS: weakref.WeakKeyDictionary[Engine, _Ranks] = weakref.WeakKeyDictionary()


def _global_ranks(engine: Engine, graph: dict[str, dict[str, float]]) -> _Ranks:
    found = _RANKS.get(engine)
    if found is not None and found.version == engine.version:
        return found
    files = rank.pagerank(graph, iterations=PAGERANK_ITERATIONS)
    referring = sorted(files, key=lambda p: (-files[p], p))[:MAX_REFERRING_FILES]
    counts = {path: _reference_counts(engine, path) for path in referring}
    found = _RANKS[engine] = _Ranks(engine.version, files, counts)
    return found


def _reference_counts(engine: Engine, path: str) -> Mapping[str, int]:
    try:
        return engine.reference_counts(path)
    except UnknownFile:
        return {}


def _is_test(path: str) -> bool:
    return is_test_path(path) or path.startswith("fixtures/") or "/fixtures/" in path


def _file_ranks(engine: Engine, graph: dict[str, dict[str, float]], base: dict[str, float],
                focus: Sequence[str]) -> dict[str, float]:
    """File importance: global PageRank, blended with PageRank personalised toward ``focus`` (walking both
    to what the focus files use and to what uses them); tests and fixtures discounted unless focused."""
    ranks = dict(base)
    if focus:
        wanted = set(focus)
        reverse: dict[str, dict[str, float]] = {path: {} for path in wanted}
        for source, targets in graph.items():
            for target in wanted.intersection(targets):
                reverse[target][source] = targets[target]
        personal = rank.personalized_pagerank(graph, reverse, dict.fromkeys(focus, 1.0))
        ranks = {path: (1 - FOCUS_SHARE) * ranks.get(path, 0.0) + FOCUS_SHARE * personal.get(path, 0.0)
                 for path in set(ranks) | set(personal)}
    for path in ranks:
        if path not in focus and _is_test(path):
            ranks[path] *= TEST_FACTOR
    return ranks


def _definitions(engine: Engine, path: str) -> list[Definition]:
    try:
        return engine.definitions(path)
    except UnknownFile:
        return []


def _weight(definition: Definition, language: str | None) -> float:
    """Kind times visibility: how much a definition of this shape is worth showing."""
    weight = KIND_WEIGHTS.get(definition.kind, 0.5)
    name = definition.name
    if not is_public(definition, language):
        weight *= PRIVATE_FACTOR
    elif name.startswith("__") and name not in CONSTRUCTORS:
        weight *= DUNDER_FACTOR
    return weight


def _ranked_definitions(engine: Engine, files: dict[str, float], counts: dict[str, Mapping[str, int]],
                        focus: Sequence[str], budget: int) -> list[tuple[float, Definition]]:
    """Definitions of the best-ranked files, best first (ties by path and line, so the order is stable)."""
    limit = max(MIN_CANDIDATE_FILES, min(MAX_CANDIDATE_FILES, budget // TOKENS_PER_CANDIDATE_FILE))
    chosen = sorted(files, key=lambda p: (-files[p], p))[:limit]
    chosen += [path for path in focus if path not in chosen]
    by_file = {path: _definitions(engine, path) for path in chosen}
    definers: Counter[str] = Counter()
    for definitions in by_file.values():
        definers.update({d.name for d in definitions})
    names = set(definers) - BUILTIN_NAMES
    used: dict[str, float] = dict.fromkeys(names, 0.0)  # name -> rank-weighted uses
    for referrer, names_used in counts.items():
        weight = files.get(referrer, 0.0)
        for name in names.intersection(names_used):
            used[name] += weight * math.sqrt(names_used[name])
    ranked: list[tuple[float, Definition]] = []
    for path, definitions in by_file.items():
        language = engine.language(path)
        discount = TEST_FACTOR if path not in focus and _is_test(path) else 1.0
        own = counts.get(path)
        share = files.get(path, 0.0) * FILE_SHARE / math.sqrt(max(len(definitions), 1))
        scores: dict[str, float] = {}
        members = Counter(d.parent for d in definitions if d.parent)
        private: set[str] = set()  # qualnames of private definitions: their members are private too
        local = {d.qualname for d in definitions if d.kind in ("function", "method")}
        for d in definitions:
            if d.parent in local:  # a function's local helpers are not part of any interface
                local.add(d.qualname)
                continue
            referenced = 0.0
            if definers[d.name] <= MAX_DEFINERS:  # a name defined all over says nothing about which is used
                uses = used.get(d.name, 0.0) - files.get(path, 0.0) * math.sqrt(own.get(d.name, 0) if own else 0)
                referenced = max(uses, 0.0) * name_weight(d.name) / definers[d.name]
            inherited = MEMBER_SHARE * scores[d.parent] / math.sqrt(members[d.parent]) if d.parent in scores else 0.0
            score = (share + referenced + inherited) * _weight(d, language) * discount
            if d.parent in private or not is_public(d, language):
                private.add(d.qualname)
                score *= PRIVATE_FACTOR if is_public(d, language) else 1.0
            scores.setdefault(d.qualname, score)
            ranked.append((score, d))
    ranked.sort(key=lambda item: (-item[0], item[1].path, item[1].line, item[1].column))
    return ranked


# --- rendering the map --------------------------------------------------------------------------------------


class _Renderer:
    """Lines of each file to show for a set of definitions, and the map they make."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lines: dict[str, list[str]] = {}
        self._parents: dict[str, dict[str, Definition]] = {}
        self._numbers: dict[int, list[int]] = {}

    def lines(self, path: str) -> list[str]:
        found = self._lines.get(path)
        if found is None:
            try:
                found = self.engine.text(path).removesuffix("\n").split("\n")
            except UnknownFile:
                found = []
            self._lines[path] = found
        return found

    def numbers(self, definition: Definition) -> list[int]:
        """Line numbers showing a definition: its header (no decorators), under its parents' headers."""
        found = self._numbers.get(id(definition))
        if found is None:
            found = []
            lines = self.lines(definition.path)
            for d in (*self._ancestors(definition), definition):
                if d.line < len(lines):
                    _, bottom = header_range(lines, d)
                    found.extend(range(d.line, min(bottom, d.line + MAX_MAP_HEADER_LINES - 1) + 1))
            self._numbers[id(definition)] = found
        return found

    def _ancestors(self, definition: Definition) -> list[Definition]:
        by_qualname = self._parents.get(definition.path)
        if by_qualname is None:
            by_qualname = {}
            for d in _definitions(self.engine, definition.path):
                by_qualname.setdefault(d.qualname, d)
            self._parents[definition.path] = by_qualname
        chain: list[Definition] = []
        parent = by_qualname.get(definition.parent) if definition.parent else None
        while parent is not None and parent not in chain:
            chain.insert(0, parent)
            parent = by_qualname.get(parent.parent) if parent.parent else None
        return chain

    def render(self, shown: Iterable[Definition], order: dict[str, float]) -> str:
        """The map of ``shown``: one block per file, files by ``order`` (higher first), lines in source order."""
        per_file: dict[str, set[int]] = {}
        for definition in shown:
            per_file.setdefault(definition.path, set()).update(self.numbers(definition))
        blocks = []
        for path in sorted(per_file, key=lambda p: (-order[p], p)):
            lines = self.lines(path)
            out = [f"{path}:"]
            previous = -1
            for number in sorted(per_file[path]):
                if number != previous + 1:
                    out.append(ELISION)
                out.append(lines[number])
                previous = number
            if previous < len(lines) - 1:
                out.append(ELISION)
            blocks.append("\n".join(out) + "\n")
        return "\n".join(blocks)


def build_repo_map(engine: Engine, *, focus: Sequence[str] = (), budget: int = 4096) -> str:
    """The repository map: the most important definitions' headers, grouped by file, within ``budget``
    tokens (never more); ranked toward ``focus`` files when given. Deterministic for a given index."""
    if budget < 1:
        raise InvalidBudget(f"token budget {budget!r} must be positive")
    started = time.perf_counter()
    for file in focus:
        resolve_inside(engine.root, file)
    graph = engine.file_graph()
    base = _global_ranks(engine, graph)
    files = _file_ranks(engine, graph, base.files, focus)
    ranked = _ranked_definitions(engine, files, base.counts, focus, budget)
    renderer = _Renderer(engine)
    order: dict[str, float] = {}
    for score, definition in ranked:  # a file is as important as its best definition
        order.setdefault(definition.path, score)

    def rendered(count: int) -> str:
        return renderer.render((d for _, d in ranked[:count]), order)

    # the largest prefix of the ranking whose map fits: binary search, each step counted exactly
    low, high = 0, min(len(ranked), budget // MIN_TOKENS_PER_DEFINITION + 1)
    while low < high:
        middle = (low + high + 1) // 2
        if tokens.count(rendered(middle)) <= budget:
            low = middle
        else:
            high = middle - 1
    text = rendered(low)
    log.debug("repository map: %d definitions, %d tokens in %.0f ms", low, tokens.count(text),
              (time.perf_counter() - started) * 1000)
    return text


__all__ = ["ELISION", "build_repo_map", "header_range", "is_public"]
