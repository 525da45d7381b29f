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
candidates, and the global ranks and reference counts are kept by the `RepoMap` of an index until the index's
version changes. The weights are in `context.weights`.
"""

from __future__ import annotations

import builtins
import logging
import math
import time
import typing
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from context.errors import InvalidBudget, UnknownFile
from context.index.graph import name_weight
from context.index.scan import resolve_inside
from context.index.snapshot import is_test_path
from context.index.symbols import Definition
from context.index.view import IndexView, definitions_of
from context.prompt import rank, tokens
from context.weights import (
    CONSTRUCTORS,
    DUNDER_FACTOR,
    FILE_SHARE,
    FOCUS_SHARE,
    KIND_WEIGHTS,
    MAX_CANDIDATE_FILES,
    MAX_DEFINERS,
    MAX_HEADER_LINES,
    MAX_MAP_HEADER_LINES,
    MAX_REFERRING_FILES,
    MEMBER_SHARE,
    MIN_CANDIDATE_FILES,
    MIN_TOKENS_PER_DEFINITION,
    PAGERANK_ITERATIONS,
    PRIVATE_FACTOR,
    TEST_FACTOR,
    TOKENS_PER_CANDIDATE_FILE,
    UNKNOWN_KIND_WEIGHT,
)

log = logging.getLogger(__name__)

ELISION = "\u22ee"  # ⋮, as in aider's repository map

#: Names whose uses say nothing about a definition of the repository that shadows them (``isinstance``,
#: ``str``, ``Any``, ``Sequence``): references to them are nearly always to the built-in.
BUILTIN_NAMES = frozenset(dir(builtins)) | frozenset(typing.__all__)


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
    """What the map computes once per index version: global file ranks and the referring files' counts."""

    version: int
    files: dict[str, float]
    counts: dict[str, Mapping[str, int]]


def _global_ranks(view: IndexView, graph: dict[str, dict[str, float]]) -> _Ranks:
    files = rank.pagerank(graph, iterations=PAGERANK_ITERATIONS)
    referring = sorted(files, key=lambda p: (-files[p], p))[:MAX_REFERRING_FILES]
    counts = {path: _reference_counts(view, path) for path in referring}
    return _Ranks(view.version, files, counts)


def _reference_counts(view: IndexView, path: str) -> Mapping[str, int]:
    try:
        return view.reference_counts(path)
    except UnknownFile:
        return {}


def _is_test(path: str) -> bool:
    return is_test_path(path) or path.startswith("fixtures/") or "/fixtures/" in path


def _file_ranks(graph: dict[str, dict[str, float]], base: dict[str, float],
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


def _weight(definition: Definition, language: str | None) -> float:
    """Kind times visibility: how much a definition of this shape is worth showing."""
    weight = KIND_WEIGHTS.get(definition.kind, UNKNOWN_KIND_WEIGHT)
    name = definition.name
    if not is_public(definition, language):
        weight *= PRIVATE_FACTOR
    elif name.startswith("__") and name not in CONSTRUCTORS:
        weight *= DUNDER_FACTOR
    return weight


def _ranked_definitions(view: IndexView, files: dict[str, float], counts: dict[str, Mapping[str, int]],
                        focus: Sequence[str], budget: int) -> list[tuple[float, Definition]]:
    """Definitions of the best-ranked files, best first (ties by path and line, so the order is stable)."""
    limit = max(MIN_CANDIDATE_FILES, min(MAX_CANDIDATE_FILES, budget // TOKENS_PER_CANDIDATE_FILE))
    chosen = sorted(files, key=lambda p: (-files[p], p))[:limit]
    chosen += [path for path in focus if path not in chosen]
    by_file = {path: definitions_of(view, path) for path in chosen}
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
        language = view.language(path)
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

    def __init__(self, view: IndexView) -> None:
        self.view = view
        self._lines: dict[str, list[str]] = {}
        self._parents: dict[str, dict[str, Definition]] = {}
        self._numbers: dict[int, list[int]] = {}

    def lines(self, path: str) -> list[str]:
        found = self._lines.get(path)
        if found is None:
            try:
                found = self.view.text(path).removesuffix("\n").split("\n")
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
            for d in definitions_of(self.view, definition.path):
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


class RepoMap:
    """The repository map of one index, with the global ranks it keeps until the index's version changes."""

    def __init__(self, view: IndexView) -> None:
        self._view = view
        self._ranks: _Ranks | None = None

    def render(self, *, focus: Sequence[str] = (), budget: int = 4096) -> str:
        """The most important definitions' headers, grouped by file, within ``budget`` tokens (never more);
        ranked toward ``focus`` files when given. Deterministic for a given index."""
        if budget < 1:
            raise InvalidBudget(f"token budget {budget!r} must be positive")
        started = time.perf_counter()
        view = self._view
        for file in focus:
            resolve_inside(view.root, file)
        graph = view.file_graph()
        base = self._ranks
        if base is None or base.version != view.version:
            base = self._ranks = _global_ranks(view, graph)
        files = _file_ranks(graph, base.files, focus)
        ranked = _ranked_definitions(view, files, base.counts, focus, budget)
        renderer = _Renderer(view)
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


__all__ = ["ELISION", "RepoMap", "header_range", "is_public"]
