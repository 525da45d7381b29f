"""Repository-level prompts for Qwen3-Coder: rank the repository for a cursor or a question, fit it to an
exact token budget, and lay it out the way the model was trained to read it.

FIM layout (QwenLM/Qwen3-Coder ``examples/Qwen2.5-Coder-repolevel-fim.py``)::

    <|repo_name|>{name}
    <|file_sep|>{path}
    {content}                      # context files, definitions before their users
    <|file_sep|>{current path}
    <|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>

Context comes at three granularities so more of what matters fits: whole files for the closest dependencies,
definitions elided to their header and doc line (``⋮`` marks what was left out), and bare names.

Counting is exact and cheap because the control markers are single tokens that split the text for the
tokenizer: the prompt's count is the sum of its marker-separated segments, each counted once and cached.

Prefix caching: the repository part is ordered by the dependency graph and file names (never by per-keystroke
scores), the selection is computed from the buffer *without the cursor's line* and reused while that input is
unchanged, and the current file's prefix starts on a line snapped to a coarse grid. Consecutive prompts while
the user types in one place therefore share almost all their leading tokens.
"""

from __future__ import annotations

import logging
import operator
import posixpath
import re
import time
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING, Generic, TypeVar

from context.errors import InvalidBudget, InvalidPosition, UnknownFile
from context.index.scan import resolve_inside
from context.index.symbols import Definition, Import
from context.prompt import rank, tokens
from context.prompt.repomap import ELISION, build_repo_map, header_range
from context.secrets import mask_secrets

if TYPE_CHECKING:
    from context.engine import Engine

log = logging.getLogger(__name__)

# --- budgets and packing policy -----------------------------------------------------------------------------

MIN_BUDGET = 1_024
MAX_BUDGET = 262_144
MAX_LONG_CONTEXT_BUDGET = 1_048_576
#: The current file may take at most this share of the budget (the rest is repository context) ...
CURRENT_SHARE = 0.35
#: ... but never less than this many tokens when it has them.
CURRENT_MIN = 384
#: The current file's reservation is rounded up to this many tokens, so it does not move while the user types.
CURRENT_QUANTUM = 256
#: Share of the current file's tokens before the cursor (the rest after it).
PREFIX_SHARE = 0.75
#: The suffix never takes more than this: the code right after the cursor is what FIM needs, and everything
#: after the cursor is the part of a prompt a prefix cache cannot reuse while the user types.
SUFFIX_MAX_TOKENS = 2_048
#: A trimmed prefix starts on a line number that is a multiple of this (stable leading tokens while typing).
PREFIX_SNAP_LINES = 32
#: Tokens kept free for the cursor's line when choosing where the prefix starts.
CURSOR_LINE_RESERVE = 48
#: Enclosing-scope header lines kept above a trimmed prefix.
MAX_SCOPE_HEADERS = 6
#: Below this context budget a definition shows only the line with its name (no decorators, no continuation
#: lines, no doc line): denser, so more definitions fit where room is scarce.
DETAIL_MIN_BUDGET = 6_000
#: A name defined in more files than this (none of them imported) is not looked up at all.
AMBIGUOUS_NAME_LIMIT = 12
#: Definitions taken per name when it cannot be resolved through imports.
MAX_DEFINITIONS_PER_NAME = 3
#: Files of the graph neighbourhood considered for "neighbour" and "lexical" candidates.
NEIGHBOUR_FILES = 40
#: Definitions scored by BM25 at most (the neighbourhood's, in rank order).
LEXICAL_DOCUMENTS = 400
#: Lines around the cursor forming the BM25 query (above, below).
LEXICAL_WINDOW = (20, 5)
#: Fused candidates considered when packing.
MAX_CANDIDATES = 3_000
#: Entries taken from each candidate source before fusion: budget / this, within the bounds below.
TOKENS_PER_CANDIDATE = 16
MIN_PER_SOURCE, MAX_PER_SOURCE = 200, 3_000
#: Whole files are not tried with less room than this left.
MIN_WHOLE_FILE_ROOM = 64
#: The farther neighbourhood (beyond the ranked candidates) is visited only with this share of the budget
#: left.
FARTHER_MIN_SHARE = 0.05
#: Candidates that did not fit in a row after which packing stops looking.
MAX_PACKING_MISSES = 50
#: Languages whose files see the definitions of the other files in their folder without importing them (one
#: package per folder in Go; Java/Kotlin/C# packages and Ruby/PHP autoloaded namespaces usually; C/C++ headers
#: beside their sources).
FOLDER_IS_PACKAGE = frozenset({"go", "java", "kotlin", "csharp", "c", "cpp", "rust", "ruby", "php"})
#: Same-folder files taken as imported at most.
MAX_PACKAGE_SIBLINGS = 60
#: Per round of the "imported" interleaving, the most used imported file gives this many more definitions than
#: an unused one (usage = weights of the buffer's names that resolve into the file).
USAGE_SHARE_ITEMS = 4
#: Kinds whose members are pulled in when the type is used.
TYPE_KINDS = frozenset({"class", "struct", "interface", "trait", "enum", "type"})
#: Chat context: symbol-search hits taken per question word, and how many of the best candidates are shown
#: whole (header and body) before the rest is packed as headers.
QUERY_HITS_PER_WORD = 8
CHAT_BODIES = 12
#: A definition longer than this many lines is never shown whole on its own (its file may be).
MAX_BODY_LINES = 120
#: Selections remembered per engine (keyed by everything they depend on).
SELECTION_CACHE_SIZE = 32

V = TypeVar("V")

_INDENT_RE = re.compile(r"[ \t]*")


# --- public data --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Section:
    """One part of a prompt: a context file (``file``, ``signatures``, ``names``) or the ``current`` file."""

    path: str
    kind: str
    tokens: int
    reason: str


@dataclass(slots=True)
class Prompt:
    """An assembled prompt: its text, exact token count, the budget it fits, and what went into it."""

    text: str
    tokens: int
    budget: int
    sections: list[Section]
    elapsed_ms: float
    #: The current file's FIM prefix and suffix as they appear in the prompt (secret-masked); empty for chat.
    prefix: str = ""
    suffix: str = ""
    path: str = ""
    repo_name: str = ""

    def to_dict(self) -> dict[str, object]:
        """The CLI's JSON shape: ``prompt``, ``tokens``, ``budget``, ``sections``, ``elapsed_ms``, ..."""
        return {
            "prompt": self.text,
            "tokens": self.tokens,
            "budget": self.budget,
            "sections": [
                {"path": s.path, "kind": s.kind, "tokens": s.tokens, "reason": s.reason}
                for s in self.sections
            ],
            "elapsed_ms": round(self.elapsed_ms, 3),
            "path": self.path,
            "repo_name": self.repo_name,
        }


def check_budget(budget: int, long_context: bool = False) -> int:
    """``budget`` if it is allowed, else `InvalidBudget` saying what is."""
    ceiling = MAX_LONG_CONTEXT_BUDGET if long_context else MAX_BUDGET
    if not isinstance(budget, int) or isinstance(budget, bool) or not MIN_BUDGET <= budget <= ceiling:
        hint = "" if long_context else " (up to 1,048,576 with long context enabled, for YaRN deployments)"
        raise InvalidBudget(f"token budget {budget!r} is outside {MIN_BUDGET:,}..{ceiling:,}{hint}")
    return budget


# --- per-engine caches --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Item:
    """A candidate definition with its fused score and the reason it was chosen."""

    definition: Definition
    score: float
    reason: str


@dataclass(slots=True)
class _Selection:
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

    def still_current(self, engine: Engine, caches: _Caches) -> bool:
        """Whether every file this selection read still has the text it had."""
        for path, seen in self.texts:
            try:
                now: str | None = caches.defused(engine.text(path))
            except UnknownFile:
                now = None
            if now is not seen and now != seen:
                return False
        return True


class _IdentityMemo(Generic[V]):
    """Values computed per definition object, looked up by identity (hashing a definition's ten fields on
    every lookup was a measurable share of a prompt). The object is kept with its value, so a reused id never
    aliases."""

    def __init__(self, limit: int = 500_000) -> None:
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
class _FileFacts:
    """What prompt assembly derives from one file's definitions, computed once per version of the file."""

    definitions: list[Definition]
    #: The outermost definitions (see `_top_level`), in source order.
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
            self.bm25_terms = [_terms(definition) for definition in self.definitions]
        return self.bm25_terms

    @classmethod
    def of(cls, definitions: list[Definition]) -> _FileFacts:
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


class _Caches:
    """Per-engine memory: token counts, split lines, header ranges, per-file facts, recent selections."""

    def __init__(self) -> None:
        self.files: dict[str, _FileFacts] = {}
        self.tokens = tokens.TokenCache()
        self.lines: OrderedDict[str, list[str]] = OrderedDict()
        self.headers: _IdentityMemo[tuple[int, int]] = _IdentityMemo()
        self.selections: OrderedDict[tuple[object, ...], _Selection] = OrderedDict()
        self._defused: dict[int, tuple[str, str]] = {}

    def split(self, text: str) -> list[str]:
        """``text`` split into lines without their ends (memoised for the last few hundred texts)."""
        found = self.lines.get(text)
        if found is None:
            found = text.split("\n")
            self.lines[text] = found
            if len(self.lines) > 512:
                self.lines.popitem(last=False)
        return found

    def defused(self, text: str) -> str:
        """``tokens.defuse(text)``, memoised by the identity of ``text`` (the engine hands out cached
        strings)."""
        found = self._defused.get(id(text))
        if found is not None and found[0] is text:
            return found[1]
        value = tokens.defuse(text)
        if len(self._defused) >= 4_096:
            self._defused.clear()
        self._defused[id(text)] = (text, value)
        return value

    def facts(self, engine: Engine, path: str) -> _FileFacts:
        """The `_FileFacts` of ``path``, recomputed only when its definitions are other objects than last time
        (the engine's snapshot keeps the same objects while a file is unchanged)."""
        definitions = _definitions(engine, path)
        found = self.files.get(path)
        if (
            found is None
            or len(found.definitions) != len(definitions)
            or not all(map(operator.is_, found.definitions, definitions))
        ):
            found = self.files[path] = _FileFacts.of(definitions)
        return found

    def remember(self, key: tuple[object, ...], selection: _Selection) -> None:
        self.selections[key] = selection
        if len(self.selections) > SELECTION_CACHE_SIZE:
            self.selections.popitem(last=False)


_CACHES: weakref.WeakKeyDictionary[Engine, _Caches] = weakref.WeakKeyDictionary()


def _caches(engine: Engine) -> _Caches:
    found = _CACHES.get(engine)
    if found is None:
        found = _CACHES[engine] = _Caches()
    return found


# --- rendering definitions ----------------------------------------------------------------------------------


def _doc_line_number(lines: Sequence[str], definition: Definition, top: int, bottom: int) -> int | None:
    """The line holding the definition's doc (the line after the header, or the comment just above it)."""
    doc = definition.doc[:40]
    if not doc:
        return None
    for number in (bottom + 1, bottom + 2, top - 1, top - 2):
        if 0 <= number < len(lines) and doc in lines[number]:
            return number
    return None


@dataclass(slots=True)
class _FilePlan:
    """What one context file contributes: the whole file, or chosen definitions (as headers) and names."""

    path: str
    whole: bool = False
    #: ``id()`` of the definitions shown (the objects live in the engine's snapshot while the plan exists).
    shown: set[int] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)
    lines: set[int] = field(default_factory=set)
    best: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def note(self, reason: str, score: float) -> None:
        self.best = max(self.best, score)
        if reason not in self.reasons:
            self.reasons.append(reason)


class _Packer:
    """Fills a token budget with context files at graceful granularity, counting as it goes."""

    def __init__(self, engine: Engine, caches: _Caches, budget: int, chat: bool) -> None:
        self.engine = engine
        self.caches = caches
        self.budget = budget
        self.chat = chat
        self.used = 0
        self.plans: dict[str, _FilePlan] = {}
        self.texts: dict[str, str | None] = {}
        self.qualnames: dict[str, dict[str, Definition]] = {}
        self.elision = caches.tokens.count(ELISION + "\n")

    # -- reading
    # ------------------------------------------------------------------------------------------------

    def text(self, path: str) -> str | None:
        if path not in self.texts:
            try:
                self.texts[path] = self.caches.defused(self.engine.text(path))
            except UnknownFile:
                self.texts[path] = None
        return self.texts[path]

    def lines(self, path: str) -> list[str] | None:
        text = self.text(path)
        return None if text is None else self.caches.split(text)

    # -- costs
    # --------------------------------------------------------------------------------------------------

    def _section_overhead(self, path: str) -> int:
        """Tokens of a section's frame: marker (or Markdown heading and fences), path, final line."""
        if self.chat:
            return self.caches.tokens.count(f"`{path}`\n```\n```\n\n") + 2 + self.elision
        return 1 + self.caches.tokens.count(f"{path}\n") + self.elision

    def _header(self, lines: list[str], definition: Definition) -> tuple[int, int]:
        return self.caches.headers.get(definition, lambda: header_range(lines, definition))

    def _definition_lines(self, lines: list[str], definition: Definition) -> list[int]:
        top, bottom = self._header(lines, definition)
        if self.budget < DETAIL_MIN_BUDGET:
            return [min(max(definition.line, top), bottom)]
        numbers = list(range(top, bottom + 1))
        doc = _doc_line_number(lines, definition, top, bottom)
        if doc is not None:
            numbers.append(doc)
        return numbers

    def _lines_cost(self, lines: list[str], numbers: Iterable[int], plan: _FilePlan) -> tuple[int, list[int]]:
        fresh = sorted({n for n in numbers if n not in plan.lines})
        if not fresh:
            return 0, fresh
        text = "\n".join(lines[n] for n in fresh) + "\n"
        runs = 1 + sum(1 for a, b in pairwise(fresh) if b != a + 1)
        return self.caches.tokens.count(text) + runs * self.elision, fresh

    # -- adding
    # -------------------------------------------------------------------------------------------------

    def fits(self, cost: int) -> bool:
        return self.used + cost <= self.budget

    def _plan(self, path: str) -> tuple[_FilePlan, int]:
        plan = self.plans.get(path)
        if plan is not None:
            return plan, 0
        return _FilePlan(path), self._section_overhead(path)

    def add_definition(self, item: _Item) -> bool:
        """Show a definition's header (and its parents'), else its bare name; False if neither fits."""
        definition = item.definition
        plan, overhead = self._plan(definition.path)
        if plan.whole or id(definition) in plan.shown:
            return True
        lines = self.lines(definition.path)
        if lines is None:
            return False
        numbers = self._definition_lines(lines, definition)
        for parent in self._parents(definition):
            numbers.extend(self._definition_lines(lines, parent))
        cost, fresh = self._lines_cost(lines, numbers, plan)
        if self.fits(cost + overhead):
            self.plans[definition.path] = plan
            self.used += cost + overhead
            plan.lines.update(fresh)
            plan.shown.add(id(definition))
            plan.note(item.reason, item.score)
            return True
        if definition.name in plan.names:
            return True
        name_cost = self.caches.tokens.count(definition.name) + 1 + (self.elision if not plan.names else 0)
        if self.fits(name_cost + overhead):
            self.plans[definition.path] = plan
            self.used += name_cost + overhead
            plan.names[definition.name] = item.reason
            plan.note(item.reason, item.score)
            return True
        return False

    def _parents(self, definition: Definition) -> list[Definition]:
        """The enclosing definitions (class of a method, ...), innermost first."""
        if not definition.parent:
            return []
        by_qualname = self.qualnames.get(definition.path)
        if by_qualname is None:
            by_qualname = self.caches.facts(self.engine, definition.path).by_qualname
            self.qualnames[definition.path] = by_qualname
        parents: list[Definition] = []
        found = by_qualname.get(definition.parent)
        while found is not None and len(parents) < MAX_SCOPE_HEADERS:
            parents.append(found)
            found = by_qualname.get(found.parent) if found.parent else None
        return parents

    def add_body(self, item: _Item) -> bool:
        """Show a whole definition (header and body) when it is short enough and fits."""
        definition = item.definition
        if definition.end_line - definition.line > MAX_BODY_LINES:
            return False
        plan, overhead = self._plan(definition.path)
        lines = self.lines(definition.path)
        if plan.whole or lines is None:
            return plan.whole
        top = self._header(lines, definition)[0]
        numbers = list(range(top, min(definition.end_line, len(lines) - 1) + 1))
        for parent in self._parents(definition):
            numbers.extend(self._definition_lines(lines, parent))
        cost, fresh = self._lines_cost(lines, numbers, plan)
        if not self.fits(cost + overhead):
            return False
        self.plans[definition.path] = plan
        self.used += cost + overhead
        plan.lines.update(fresh)
        plan.shown.add(id(definition))
        plan.note(f"{item.reason} (whole definition)", item.score)
        return True

    def whole_cost(self, path: str) -> int | None:
        """Tokens a whole-file section of ``path`` costs (None when unreadable or empty: nothing to show)."""
        text = self.text(path)
        if text is None or not text.strip():
            return None
        return self._section_overhead(path) + self.caches.tokens.count(text)

    def current_cost(self, path: str) -> int:
        plan = self.plans.get(path)
        if plan is None:
            return 0
        if plan.whole:
            return self.whole_cost(path) or 0
        return self.section_tokens(path)

    def add_whole(self, path: str, reason: str, score: float) -> bool:
        """Upgrade ``path`` to a whole-file section if the budget allows."""
        plan = self.plans.get(path)
        if plan is not None and plan.whole:
            return True
        cost = self.whole_cost(path)
        if cost is None:
            return False
        freed = self.current_cost(path) if plan is not None else 0
        if not self.fits(cost - freed):
            return False
        plan = plan or _FilePlan(path)
        plan.whole = True
        plan.note(reason, score)
        self.plans[path] = plan
        self.used += cost - freed
        return True

    # -- output
    # -------------------------------------------------------------------------------------------------

    def content(self, path: str) -> str:
        """The text shown for ``path``: the whole file, or headers with elisions, then bare names."""
        plan = self.plans[path]
        text = self.text(path) or ""
        if plan.whole:
            return text.removesuffix("\n")
        lines = self.caches.split(text)
        out: list[str] = []
        previous = -1
        for number in sorted(plan.lines):
            if number != previous + 1:
                out.append(ELISION)
            out.append(lines[number])
            previous = number
        if plan.lines and previous < len(lines) - 1:
            out.append(ELISION)
        if plan.names:
            out.append(f"{ELISION} " + ", ".join(plan.names))
        return "\n".join(out)

    def kind(self, path: str) -> str:
        plan = self.plans[path]
        if plan.whole:
            return "file"
        return "signatures" if plan.lines else "names"

    def reason(self, path: str) -> str:
        reasons = self.plans[path].reasons
        more = f" (+{len(reasons) - 3} more)" if len(reasons) > 3 else ""
        return "; ".join(reasons[:3]) + more

    def section_tokens(self, path: str) -> int:
        return 1 + self.caches.tokens.count(f"{path}\n{self.content(path)}\n")


# --- candidate gathering ------------------------------------------------------------------------------------


def _definitions(engine: Engine, path: str) -> list[Definition]:
    try:
        return engine.definitions(path)
    except UnknownFile:
        return []


@lru_cache(maxsize=65_536)
def _folder(path: str) -> str:
    return posixpath.dirname(path)


def _shared_folders(a: str, b: str) -> int:
    parts_a, parts_b = _folder(a).split("/"), _folder(b).split("/")
    shared = 0
    for x, y in zip(parts_a, parts_b, strict=False):
        if x != y:
            break
        shared += 1
    return shared


def _round_robin(
    groups: Sequence[Sequence[Definition]], shares: Sequence[int] | None = None, limit: int | None = None
) -> list[Definition]:
    """Interleave ``groups``: each round takes ``shares[i]`` items (default 1) from group ``i``; at most
    ``limit``."""
    out: list[Definition] = []
    active = [(group, shares[index] if shares else 1) for index, group in enumerate(groups) if group]
    position = 0
    cap = sum(len(group) for group in groups) if limit is None else limit
    while active and len(out) < cap:
        still: list[tuple[Sequence[Definition], int]] = []
        for group, share in active:
            out.extend(group[position * share : (position + 1) * share])
            if (position + 1) * share < len(group):
                still.append((group, share))
        active = still
        position += 1
    return out[:cap]


@dataclass(slots=True)
class _Neighbourhood:
    """Files around the current one: what it imports (with the names imported) and PageRank scores."""

    imported: dict[str, set[str]]
    scores: dict[str, float]
    graph: dict[str, dict[str, float]]

    def ranked(self, exclude: Iterable[str]) -> list[str]:
        skip = set(exclude)
        return sorted((p for p in self.scores if p not in skip), key=lambda p: (-self.scores[p], p))


def _reverse_edges(
    engine: Engine, graph: dict[str, dict[str, float]], nodes: Iterable[str]
) -> dict[str, dict[str, float]]:
    """Edges into ``nodes`` (dependent -> weight): PageRank walks backwards only from these few files."""
    reverse: dict[str, dict[str, float]] = {}
    for node in nodes:
        try:
            dependents = engine.dependents(node)
        except UnknownFile:
            continue
        reverse[node] = {source: graph.get(source, {}).get(node, 0.0) for source in dependents}
    return reverse


def _import_usage(imports: Sequence[Import], weights: dict[str, float]) -> dict[str, float]:
    """How much the buffer uses each imported file: the weights of the names its import binds
    (``import a.b as m`` binds ``m``; ``from a import x, y`` binds ``x`` and ``y``)."""
    usage: dict[str, float] = {}
    for imp in imports:
        if not imp.resolved:
            continue
        bound = imp.names or (re.split(r"[./:\\]+", imp.module.strip("\"'<>"))[-1],)
        usage[imp.resolved] = usage.get(imp.resolved, 0.0) + sum(weights.get(name, 0.0) for name in bound)
    return usage


def _neighbourhood(
    engine: Engine,
    caches: _Caches,
    path: str,
    imports: Sequence[Import],
    seeds: dict[str, float],
    reverse_from: Sequence[str],
) -> _Neighbourhood:
    imported: dict[str, set[str]] = {}
    for imp in imports:
        if imp.resolved and imp.resolved != path:
            imported.setdefault(imp.resolved, set()).update(imp.names)
    try:
        dependencies = engine.dependencies(path)
    except UnknownFile:
        dependencies = []
    for dependency in dependencies:
        if dependency != path:
            imported.setdefault(dependency, set())
    if engine.language(path) in FOLDER_IS_PACKAGE:
        folder = _folder(path)
        siblings = [p for p in engine.files() if _folder(p) == folder and p != path]
        for sibling in siblings[:MAX_PACKAGE_SIBLINGS]:
            imported.setdefault(sibling, set())
    graph = engine.file_graph()
    scores = rank.personalized_pagerank(graph, _reverse_edges(engine, graph, reverse_from), seeds)
    return _Neighbourhood(imported, scores, graph)


def _resolve_name(
    definitions: list[Definition], path: str, hood: _Neighbourhood
) -> tuple[list[Definition], int]:
    """The definitions a name in ``path`` most likely means, and how sure we are (0 = through an import)."""
    others = [d for d in definitions if d.path != path]
    if not others:
        return [], 9
    through_import = [d for d in others if d.path in hood.imported]
    if through_import:
        return through_import[:MAX_DEFINITIONS_PER_NAME], 0
    folder = _folder(path)
    same_folder = [d for d in others if _folder(d.path) == folder]
    if same_folder:
        return same_folder[:MAX_DEFINITIONS_PER_NAME], 1
    defining = {d.path for d in others}
    if len(defining) == 1:
        return others[:MAX_DEFINITIONS_PER_NAME], 2
    near = [d for d in others if hood.scores.get(d.path, 0.0) > 0]
    if len(defining) <= AMBIGUOUS_NAME_LIMIT and near:
        # Several files define it and none is imported: trust the dependency graph, or nothing (a guess among
        # namesakes adds a file for nothing, and the name is likely a local or a library's).
        near.sort(key=lambda d: (-hood.scores[d.path], d.path, d.line))
        return near[:1], 3
    return [], 9


def _members(engine: Engine, definition: Definition, wanted: dict[str, float]) -> list[Definition]:
    """Members of a type: those the buffer names first, then methods, then fields, each in source order."""
    members = list(_caches(engine).facts(engine, definition.path).members.get(definition.qualname, ()))
    members.sort(
        key=lambda d: (0 if d.name in wanted else 1 if d.kind in ("method", "function") else 2, d.line)
    )
    return members


def _top_level(engine: Engine, path: str, first: set[str]) -> list[Definition]:
    """A file's outermost definitions: at top level or directly inside a module/namespace (Ruby ``module
    Rack``, C# namespaces), the containers themselves left out; names in ``first`` come first, then source
    order."""
    found = _caches(engine).facts(engine, path).top_level
    if not first:
        return list(found)
    return [d for d in found if d.name in first] + [d for d in found if d.name not in first]


def _terms(definition: Definition) -> Counter[str]:
    return Counter(rank.subwords(f"{definition.qualname} {definition.signature} {definition.doc}"))


def _fuse(rankings: dict[str, list[Definition]]) -> list[tuple[Definition, float, str]]:
    """Reciprocal-rank fusion of definition lists, keyed by object identity (cheaper than hashing fields)."""
    by_id = {id(d): d for ranking in rankings.values() for d in ranking}
    fused = rank.reciprocal_rank_fusion(
        {source: [id(d) for d in ranking] for source, ranking in rankings.items()}
    )
    return [(by_id[key], score, source) for key, score, source in fused[:MAX_CANDIDATES]]


def _lexical(engine: Engine, caches: _Caches, files: Sequence[str], query: Sequence[str]) -> list[Definition]:
    """BM25 of the definitions of ``files`` (symbol-sized chunks) against ``query`` terms."""
    documents: list[Definition] = []
    terms: list[Counter[str]] = []
    for file in files:
        facts = caches.facts(engine, file)
        documents.extend(facts.definitions)
        terms.extend(facts.terms())
        if len(documents) >= LEXICAL_DOCUMENTS:
            break
    return [documents[index] for index, _ in rank.bm25(query, terms)[:200]]


def _fim_items(
    engine: Engine,
    caches: _Caches,
    path: str,
    lines: list[str],
    cursor_line: int,
    recent: Sequence[str],
    budget: int,
) -> tuple[list[_Item], _Neighbourhood]:
    """Fused, ranked candidate definitions for a cursor, each with a reason."""
    weights = rank.identifier_weights(lines, cursor_line)
    try:
        imports = engine.imports(path)
    except UnknownFile:
        imports = []
    for imp in imports:
        for name in imp.names:
            if name in weights:
                weights[name] += rank.IMPORTED_NAME_BONUS
    local = {d.name for d in _definitions(engine, path)}
    seeds: dict[str, float] = {path: rank.SEED_CURRENT}
    recent_files = [p for p in recent if p != path]
    for file in recent_files:
        seeds[file] = seeds.get(file, 0.0) + rank.SEED_RECENT / len(recent_files)
    named = {name: found for name in weights if (found := engine.definitions_named(name))}
    near = [w for w in named if weights[w] >= rank.PROXIMITY_BUCKETS[0][1]]
    near_files = sorted({d.path for w in near for d in named[w] if d.path != path})
    if 0 < len(near_files) <= AMBIGUOUS_NAME_LIMIT * 4:
        for file in near_files:
            seeds[file] = seeds.get(file, 0.0) + rank.SEED_NEAR_IDENTIFIERS / len(near_files)
    hood = _neighbourhood(engine, caches, path, imports, seeds, [path, *recent_files])

    used: list[tuple[float, int, str, Definition]] = []
    for name, definitions in named.items():
        weight = weights[name]
        chosen, confidence = _resolve_name(definitions, path, hood)
        if name in local and confidence > 0:
            confidence += 2
        for definition in chosen:
            used.append((-weight, confidence, name, definition))
    used.sort(key=lambda entry: (entry[0], entry[1], entry[2], entry[3].path, entry[3].line))
    used_definitions = [entry[3] for entry in used]

    members = [
        member
        for definition in used_definitions
        if definition.kind in TYPE_KINDS
        for member in _members(engine, definition, weights)
    ]
    usage = _import_usage(imports, weights)
    for entry in used:
        usage[entry[3].path] = usage.get(entry[3].path, 0.0) - entry[0]
    imported_files = sorted(hood.imported, key=lambda p: (-usage.get(p, 0.0), -hood.scores.get(p, 0.0), p))
    most = max((usage.get(p, 0.0) for p in imported_files), default=0.0) or 1.0
    limit = min(max(budget // TOKENS_PER_CANDIDATE, MIN_PER_SOURCE), MAX_PER_SOURCE)
    imported = _round_robin(
        [_top_level(engine, file, hood.imported[file]) for file in imported_files],
        [1 + round(USAGE_SHARE_ITEMS * usage.get(file, 0.0) / most) for file in imported_files],
        limit,
    )
    neighbour_files = hood.ranked([path, *imported_files])[:NEIGHBOUR_FILES]
    neighbours = _round_robin([_top_level(engine, file, set()) for file in neighbour_files], limit=limit)
    low, high = LEXICAL_WINDOW
    window = "\n".join(
        line
        for number, line in enumerate(
            lines[max(cursor_line - low, 0) : cursor_line + high + 1], start=max(cursor_line - low, 0)
        )
        if number != cursor_line
    )
    lexical = _lexical(engine, caches, [*imported_files, *neighbour_files], rank.subwords(window))

    rankings = {
        "used": used_definitions[:limit],
        "member": members[:limit],
        "imported": imported[:limit],
        "neighbour": neighbours[:limit],
        "recent": _round_robin(
            [_top_level(engine, file, set(weights)) for file in recent_files], limit=limit
        ),
        "lexical": lexical,
    }
    names = {id(entry[3]): entry[2] for entry in reversed(used)}
    items = [
        _Item(definition, score, _reason(source, definition, names.get(id(definition))))
        for definition, score, source in _fuse(rankings)
    ]
    return items, hood


#: The reason given for a candidate, by the source it came from (``used`` and ``member`` name more).
_SOURCE_REASONS = {
    "imported": "imported by the current file",
    "recent": "recently edited",
    "lexical": "lexically similar to the code at the cursor",
    "query": "matches the query",
}


def _reason(source: str, definition: Definition, name: str | None) -> str:
    if source == "used":
        return f"uses {name or definition.name}"
    if source == "member":
        return f"member of {definition.parent}"
    return _SOURCE_REASONS.get(source, "near in the dependency graph")


def _pack(
    packer: _Packer,
    items: Sequence[_Item],
    closest: Sequence[str],
    farther: Callable[[], Iterable[str]],
) -> None:
    """Definitions as headers (or names) in rank order, then whole files for the closest dependencies, then
    whole files or headers of the farther neighbourhood while the budget lasts (``farther`` is only called
    when enough budget is left to make it worth listing)."""
    misses = 0
    for item in items:
        misses = 0 if packer.add_definition(item) else misses + 1
        if packer.budget - packer.used < 4 or misses > MAX_PACKING_MISSES:
            break
    file_scores: dict[str, float] = {}
    for item in items:
        file_scores[item.definition.path] = file_scores.get(item.definition.path, 0.0) + item.score
    order = sorted(set(closest) | set(packer.plans), key=lambda p: (-file_scores.get(p, 0.0), p))
    for path in order:
        if packer.budget - packer.used < MIN_WHOLE_FILE_ROOM:
            return
        packer.add_whole(path, "whole file: closest dependency", file_scores.get(path, 0.0))
    if packer.budget - packer.used < packer.budget * FARTHER_MIN_SHARE:
        return
    for path in farther():
        if path in packer.plans and packer.plans[path].whole:
            continue
        if not packer.add_whole(path, "whole file: near in the dependency graph", 0.0):
            for definition in _top_level(packer.engine, path, set()):
                packer.add_definition(_Item(definition, 0.0, "near in the dependency graph"))
        if packer.budget - packer.used < MIN_WHOLE_FILE_ROOM:
            break


def _render_context(packer: _Packer, graph: dict[str, dict[str, float]]) -> _Selection:
    """The repository part of a FIM prompt, in dependency order, with exact per-section counts."""
    sections: list[Section] = []
    parts: list[str] = []
    total = 0
    for path in rank.dependency_order(packer.plans, graph):
        content = packer.content(path)
        segment = f"{path}\n{content}\n"
        count = 1 + packer.caches.tokens.count(segment)
        parts.append(tokens.FILE_SEP + segment)
        sections.append(Section(path, packer.kind(path), count, packer.reason(path)))
        total += count
    return _Selection(sections, "".join(parts), total)


# --- the current file ---------------------------------------------------------------------------------------


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
class _Cursor:
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
    def at(cls, lines: list[str], line: int, character: int) -> _Cursor:
        head, tail = lines[line][:character], lines[line][character:]
        prefix = "\n".join([*lines[:line], head])
        suffix = "\n".join([tail, *lines[line + 1 :]])
        return cls(lines, line, head, tail, prefix, suffix, tokens.count(prefix), tokens.count(suffix))


def _current_parts(cursor: _Cursor, budget: int) -> tuple[str, str]:
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


# --- the public builders ------------------------------------------------------------------------------------


def _imports_key(engine: Engine, path: str, line: int) -> tuple[tuple[str, tuple[str, ...], str | None], ...]:
    """The imports above the cursor: part of what the context selection depends on. Those below are left out on
    purpose: opening a string or a bracket on the cursor's line makes the parser lose them until it is closed,
    and the selection should not flicker while the user types."""
    try:
        imports = engine.imports(path)
    except UnknownFile:
        return ()
    return tuple((imp.module, imp.names, imp.resolved) for imp in imports if imp.line < line)


def _long_context(engine: Engine) -> bool:
    config = getattr(engine, "config", None)
    return bool(getattr(config, "long_context", False))


def _buffer_text(engine: Engine, path: str, buffer: str | None) -> str:
    if buffer is None:
        return engine.text(path)
    resolve_inside(engine.root, path)
    return mask_secrets(buffer)


def build_fim_prompt(
    engine: Engine,
    path: str,
    line: int,
    character: int,
    *,
    budget: int = 8192,
    buffer: str | None = None,
    recent: Sequence[str] = (),
) -> Prompt:
    """The repository-level FIM prompt for a cursor at 0-based ``line``/``character`` of ``path``.

    ``buffer`` is the editor's unsaved text of ``path`` (it wins over the file on disk); ``recent`` lists
    recently edited files, which pull their neighbourhood in. The result never exceeds ``budget`` tokens.
    """
    started = time.perf_counter()
    check_budget(budget, _long_context(engine))
    caches = _caches(engine)
    text = tokens.defuse(_buffer_text(engine, path, buffer))
    lines = caches.split(text)
    if not 0 <= line < len(lines):
        raise InvalidPosition(f"line {line} is outside {path} (0..{len(lines) - 1}, 0-based)")
    if character < 0:
        raise InvalidPosition(f"character {character} is negative")
    character = min(character, len(lines[line]))
    repo_name = engine.root.name
    head = f"{tokens.REPO_NAME}{repo_name}\n"
    current_header = f"{path}\n"
    fixed = 1 + caches.tokens.count(f"{repo_name}\n") + 1 + caches.tokens.count(current_header) + 3
    cursor = _Cursor.at(lines, line, character)
    whole_current = cursor.prefix_tokens + cursor.suffix_tokens
    cap = max(int(budget * CURRENT_SHARE), CURRENT_MIN)
    reserve = min(cap, -(-(whole_current + CURSOR_LINE_RESERVE) // CURRENT_QUANTUM) * CURRENT_QUANTUM)
    context_budget = max(budget - fixed - reserve, 0)

    others = "\n".join(lines[:line] + lines[line + 1 :])
    key = (path, line, context_budget, others, tuple(recent), _imports_key(engine, path, line))
    selection = caches.selections.get(key)
    if selection is None or not selection.still_current(engine, caches):
        log.debug("choosing context for %s:%d (%s)", path, line, "new input" if selection is None else "files changed")
        items, hood = _fim_items(engine, caches, path, lines, line, recent, context_budget)
        packer = _Packer(engine, caches, context_budget, chat=False)
        closest = [p for p in hood.imported if p != path]

        def farther() -> list[str]:
            rest = sorted(
                (p for p in engine.files() if p != path and p not in hood.scores and p not in hood.imported),
                key=lambda p: (-_shared_folders(p, path), p),
            )
            return hood.ranked([path, *closest]) + rest

        _pack(packer, [i for i in items if i.definition.path != path], closest, farther)
        packer.plans.pop(path, None)
        graph = hood.graph
        selection = _render_context(packer, graph)
        log.debug(
            "context for %s: estimated %d tokens, exactly %d, budget %d",
            path,
            packer.used,
            selection.tokens,
            context_budget,
        )
        while selection.tokens > context_budget and packer.plans:
            # Rare: the estimate ran over. Drop the weakest file and render again.
            weakest = min(packer.plans.values(), key=lambda plan: (plan.best, plan.path))
            del packer.plans[weakest.path]
            selection = _render_context(packer, graph)
        selection.texts = tuple(packer.texts.items())
        caches.remember(key, selection)

    current_budget = budget - fixed - selection.tokens
    prefix, suffix = _current_parts(cursor, current_budget)
    # The body is never counted whole (a 256K-token count per keystroke): markers split it for the tokenizer,
    # so its count is the sum of its pieces' counts, ``fixed`` holding the markers, repository name and path.
    prefix_tokens = cursor.prefix_tokens if prefix is cursor.prefix else tokens.count(prefix)
    suffix_tokens = cursor.suffix_tokens if suffix is cursor.suffix else tokens.count(suffix)
    while fixed + selection.tokens + prefix_tokens + suffix_tokens > budget and prefix:
        # Cannot happen with marker-separated counting, but the budget is a promise: shorten the prefix.
        prefix = prefix[min(len(prefix), max(1, len(prefix) // 16)) :]
        prefix_tokens = tokens.count(prefix)
    total = fixed + selection.tokens + prefix_tokens + suffix_tokens
    body = (
        f"{head}{selection.text}{tokens.FILE_SEP}{current_header}"
        f"{tokens.FIM_PREFIX}{prefix}{tokens.FIM_SUFFIX}{suffix}{tokens.FIM_MIDDLE}"
    )
    current_tokens = total - 1 - caches.tokens.count(f"{repo_name}\n") - selection.tokens
    sections = [*selection.sections, Section(path, "current", current_tokens, "the file being edited")]
    elapsed = (time.perf_counter() - started) * 1000
    return Prompt(body, total, budget, sections, elapsed, prefix, suffix, path, repo_name)


def _query_items(engine: Engine, caches: _Caches, query: str, focus: Sequence[str]) -> list[_Item]:
    """Fused candidates for a question in words: symbol search per word, BM25 over the neighbourhood."""
    words = rank.query_terms(query)
    found = _round_robin([engine.search(word, limit=QUERY_HITS_PER_WORD) for word in words])
    seeds: dict[str, float] = {}
    for file in focus:
        seeds[file] = seeds.get(file, 0.0) + rank.SEED_CURRENT
    for definition in found[:50]:
        seeds[definition.path] = seeds.get(definition.path, 0.0) + rank.SEED_NEAR_IDENTIFIERS / 10
    graph = engine.file_graph()
    scores = rank.personalized_pagerank(graph, _reverse_edges(engine, graph, focus), seeds) if seeds else {}
    files = sorted(scores, key=lambda p: (-scores[p], p))[:NEIGHBOUR_FILES]
    found_files = list(dict.fromkeys(d.path for d in found))
    lexical = _lexical(engine, caches, [*found_files, *files], rank.subwords(" ".join(words)))
    focused = _round_robin([_top_level(engine, file, set(words)) for file in focus])
    neighbours = _round_robin([_top_level(engine, file, set()) for file in files if file not in focus])
    rankings = {"query": found, "lexical": lexical, "imported": focused, "neighbour": neighbours}
    return [
        _Item(definition, score, _reason(source, definition, None))
        for definition, score, source in _fuse(rankings)
    ]


def _fence(content: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", content)), default=2)
    return "`" * (longest + 1)


def build_chat_context(
    engine: Engine, query: str, *, focus: Sequence[str] = (), budget: int = 16384
) -> Prompt:
    """The repository context for a task described in words, as Markdown: one fenced block per file.

    For chat, code actions and agents. Focus files (open or mentioned files) come whole when they fit.
    """
    started = time.perf_counter()
    check_budget(budget, _long_context(engine))
    caches = _caches(engine)
    for file in focus:
        resolve_inside(engine.root, file)
    items = _query_items(engine, caches, query, focus)
    repo_name = engine.root.name
    heading = f"Repository `{repo_name}`: context for the task below.\n\n"
    packer = _Packer(engine, caches, budget - tokens.count(heading), chat=True)
    for file in focus:
        packer.add_whole(file, "focus file", 1.0)
    for item in items[:CHAT_BODIES]:
        packer.add_body(item)
    _pack(packer, items, [], list)
    graph = engine.file_graph()
    while True:
        parts = [heading]
        sections: list[Section] = []
        for path in rank.dependency_order(packer.plans, graph):
            content = packer.content(path)
            fence = _fence(content)
            language = engine.language(path) or ""
            block = f"`{path}`\n{fence}{language}\n{content}\n{fence}\n\n"
            parts.append(block)
            sections.append(Section(path, packer.kind(path), tokens.count(block), packer.reason(path)))
        text = "".join(parts)
        total = tokens.count(text)
        if total <= budget or not packer.plans:
            break
        weakest = min(packer.plans.values(), key=lambda plan: (plan.best, plan.path))
        del packer.plans[weakest.path]
    elapsed = (time.perf_counter() - started) * 1000
    return Prompt(text, total, budget, sections, elapsed, "", "", "", repo_name)


__all__ = [
    "MAX_BUDGET",
    "MAX_LONG_CONTEXT_BUDGET",
    "MIN_BUDGET",
    "Prompt",
    "Section",
    "build_chat_context",
    "build_fim_prompt",
    "build_repo_map",
    "check_budget",
    "header_range",
]
