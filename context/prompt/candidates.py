"""Candidate definitions for a prompt, ranked: what the buffer uses (resolved through imports), members of the
types it uses, the top-level definitions of the files it imports, recent files and graph neighbours, and BM25
matches of the code at the cursor (or, for chat, of the question's words), fused by reciprocal rank.

The weights are in `context.weights`; the pure ranking functions (PageRank, BM25, fusion) in
`context.prompt.rank`.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from context.errors import UnknownFile
from context.index.symbols import Definition, Import
from context.index.view import IndexView, definitions_of
from context.prompt import rank
from context.prompt.memo import PromptCaches
from context.prompt.reach import reachable
from context.weights import (
    AMBIGUOUS_NAME_LIMIT,
    FOLDER_IS_PACKAGE,
    IMPORTED_NAME_BONUS,
    LEXICAL_DOCUMENTS,
    LEXICAL_RESULTS,
    LEXICAL_WINDOW,
    LOCAL_NAME_DOUBT,
    MAX_CANDIDATES,
    MAX_DEFINITIONS_PER_NAME,
    MAX_PACKAGE_SIBLINGS,
    MAX_PER_SOURCE,
    MIN_PER_SOURCE,
    NEIGHBOUR_FILES,
    PROXIMITY_BUCKETS,
    QUERY_HIT_SEED_SHARE,
    QUERY_HITS_PER_WORD,
    QUERY_SEED_HITS,
    SEED_CURRENT,
    SEED_NEAR_IDENTIFIERS,
    SEED_RECENT,
    SURE_BY_GRAPH,
    SURE_IMPORTED,
    SURE_ONLY_DEFINER,
    SURE_SAME_FOLDER,
    TOKENS_PER_CANDIDATE,
    TYPE_KINDS,
    UNRESOLVED,
    USAGE_SHARE_ITEMS,
)


@dataclass(slots=True)
class Item:
    """A candidate definition with its fused score and the reason it was chosen."""

    definition: Definition
    score: float
    reason: str


@lru_cache(maxsize=65_536)
def _folder_of(path: str) -> str:
    """The folder of ``path`` (memoised: asked for every candidate of every prompt)."""
    return posixpath.dirname(path)


def shared_folders(a: str, b: str) -> int:
    """How many leading folders the paths ``a`` and ``b`` share."""
    parts_a, parts_b = _folder_of(a).split("/"), _folder_of(b).split("/")
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
class Neighbourhood:
    """Files around the current one: what it imports (with the names imported) and PageRank scores."""

    imported: dict[str, set[str]]
    scores: dict[str, float]
    graph: dict[str, dict[str, float]]

    def ranked(self, exclude: Iterable[str]) -> list[str]:
        skip = set(exclude)
        return sorted((p for p in self.scores if p not in skip), key=lambda p: (-self.scores[p], p))


def _reverse_edges(
    view: IndexView, graph: dict[str, dict[str, float]], nodes: Iterable[str]
) -> dict[str, dict[str, float]]:
    """Edges into ``nodes`` (dependent -> weight): PageRank walks backwards only from these few files."""
    reverse: dict[str, dict[str, float]] = {}
    for node in nodes:
        try:
            dependents = view.dependents(node)
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
    view: IndexView,
    caches: PromptCaches,
    path: str,
    imports: Sequence[Import],
    seeds: dict[str, float],
    reverse_from: Sequence[str],
) -> Neighbourhood:
    imported: dict[str, set[str]] = {}
    for imp in imports:
        if imp.resolved and imp.resolved != path:
            imported.setdefault(imp.resolved, set()).update(imp.names)
    try:
        dependencies = view.dependencies(path)
    except UnknownFile:
        dependencies = []
    for dependency in dependencies:
        if dependency != path:
            imported.setdefault(dependency, set())
    if view.language(path) in FOLDER_IS_PACKAGE:
        folder = _folder_of(path)
        siblings = [p for p in view.files() if _folder_of(p) == folder and p != path]
        for sibling in siblings[:MAX_PACKAGE_SIBLINGS]:
            imported.setdefault(sibling, set())
    graph = view.file_graph()
    scores = rank.personalized_pagerank(graph, _reverse_edges(view, graph, reverse_from), seeds)
    return Neighbourhood(imported, scores, graph)


def _resolve_name(
    definitions: list[Definition], path: str, hood: Neighbourhood
) -> tuple[list[Definition], int]:
    """The definitions a name in ``path`` most likely means, and how sure we are (see `context.weights.SURE_IMPORTED`)."""
    others = [d for d in definitions if d.path != path]
    if not others:
        return [], UNRESOLVED
    through_import = [d for d in others if d.path in hood.imported]
    if through_import:
        return through_import[:MAX_DEFINITIONS_PER_NAME], SURE_IMPORTED
    folder = _folder_of(path)
    same_folder = [d for d in others if _folder_of(d.path) == folder]
    if same_folder:
        return same_folder[:MAX_DEFINITIONS_PER_NAME], SURE_SAME_FOLDER
    defining = {d.path for d in others}
    if len(defining) == 1:
        return others[:MAX_DEFINITIONS_PER_NAME], SURE_ONLY_DEFINER
    near = [d for d in others if hood.scores.get(d.path, 0.0) > 0]
    if len(defining) <= AMBIGUOUS_NAME_LIMIT and near:
        # Several files define it and none is imported: trust the dependency graph, or nothing (a guess among
        # namesakes adds a file for nothing, and the name is likely a local or a library's).
        near.sort(key=lambda d: (-hood.scores[d.path], d.path, d.line))
        return near[:1], SURE_BY_GRAPH
    return [], UNRESOLVED


def _members_of(view: IndexView, caches: PromptCaches, definition: Definition, wanted: dict[str, float]) -> list[Definition]:
    """Members of a type: those the buffer names first, then methods, then fields, each in source order."""
    members = list(caches.facts(view, definition.path).members.get(definition.qualname, ()))
    members.sort(
        key=lambda d: (0 if d.name in wanted else 1 if d.kind in ("method", "function") else 2, d.line)
    )
    return members


def top_level(view: IndexView, caches: PromptCaches, path: str, first: set[str]) -> list[Definition]:
    """A file's outermost definitions: at top level or directly inside a module/namespace (Ruby ``module
    Rack``, C# namespaces), the containers themselves left out; names in ``first`` come first, then source
    order."""
    found = caches.facts(view, path).top_level
    if not first:
        return list(found)
    return [d for d in found if d.name in first] + [d for d in found if d.name not in first]


def _fuse(rankings: dict[str, list[Definition]]) -> list[tuple[Definition, float, str]]:
    """Reciprocal-rank fusion of definition lists, keyed by object identity (cheaper than hashing fields)."""
    by_id = {id(d): d for ranking in rankings.values() for d in ranking}
    fused = rank.reciprocal_rank_fusion(
        {source: [id(d) for d in ranking] for source, ranking in rankings.items()}
    )
    return [(by_id[key], score, source) for key, score, source in fused[:MAX_CANDIDATES]]


def _lexical(view: IndexView, caches: PromptCaches, files: Sequence[str], query: Sequence[str]) -> list[Definition]:
    """BM25 of the definitions of ``files`` (symbol-sized chunks) against ``query`` terms."""
    documents: list[Definition] = []
    terms: list[Counter[str]] = []
    for file in files:
        facts = caches.facts(view, file)
        documents.extend(facts.definitions)
        terms.extend(facts.terms())
        if len(documents) >= LEXICAL_DOCUMENTS:
            break
    return [documents[position] for position, _ in rank.bm25(query, terms)[:LEXICAL_RESULTS]]


def fim_items(
    view: IndexView,
    caches: PromptCaches,
    path: str,
    lines: list[str],
    cursor_line: int,
    recent: Sequence[str],
    budget: int,
    receiver: Sequence[str] = (),
) -> tuple[list[Item], Neighbourhood]:
    """Fused, ranked candidate definitions for a cursor, each with a reason; ``receiver`` is the identifier
    chain typed before the cursor (``self.io.``), whose type's members come first."""
    weights = rank.identifier_weights(lines, cursor_line)
    try:
        imports = view.imports(path)
    except UnknownFile:
        imports = []
    for imp in imports:
        for name in imp.names:
            if name in weights:
                weights[name] += IMPORTED_NAME_BONUS
    local = {d.name for d in definitions_of(view, path)}
    seeds: dict[str, float] = {path: SEED_CURRENT}
    recent_files = [p for p in recent if p != path]
    for file in recent_files:
        seeds[file] = seeds.get(file, 0.0) + SEED_RECENT / len(recent_files)
    named = {name: found for name in weights if (found := view.definitions_named(name))}
    near = [w for w in named if weights[w] >= PROXIMITY_BUCKETS[0][1]]
    near_files = sorted({d.path for w in near for d in named[w] if d.path != path})
    if 0 < len(near_files) <= AMBIGUOUS_NAME_LIMIT * 4:
        for file in near_files:
            seeds[file] = seeds.get(file, 0.0) + SEED_NEAR_IDENTIFIERS / len(near_files)
    hood = _neighbourhood(view, caches, path, imports, seeds, [path, *recent_files])

    used: list[tuple[float, int, str, Definition]] = []
    for name, definitions in named.items():
        weight = weights[name]
        chosen, confidence = _resolve_name(definitions, path, hood)
        if name in local and confidence > SURE_IMPORTED:
            confidence += LOCAL_NAME_DOUBT
        for definition in chosen:
            used.append((-weight, confidence, name, definition))
    used.sort(key=lambda entry: (entry[0], entry[1], entry[2], entry[3].path, entry[3].line))
    used_definitions = [entry[3] for entry in used]

    members = [
        member
        for definition in used_definitions
        if definition.kind in TYPE_KINDS
        for member in _members_of(view, caches, definition, weights)
    ]
    usage = _import_usage(imports, weights)
    for entry in used:
        usage[entry[3].path] = usage.get(entry[3].path, 0.0) - entry[0]
    imported_files = sorted(hood.imported, key=lambda p: (-usage.get(p, 0.0), -hood.scores.get(p, 0.0), p))
    most = max((usage.get(p, 0.0) for p in imported_files), default=0.0) or 1.0
    limit = min(max(budget // TOKENS_PER_CANDIDATE, MIN_PER_SOURCE), MAX_PER_SOURCE)
    imported = _round_robin(
        [top_level(view, caches, file, hood.imported[file]) for file in imported_files],
        [1 + round(USAGE_SHARE_ITEMS * usage.get(file, 0.0) / most) for file in imported_files],
        limit,
    )
    neighbour_files = hood.ranked([path, *imported_files])[:NEIGHBOUR_FILES]
    neighbours = _round_robin([top_level(view, caches, file, set()) for file in neighbour_files], limit=limit)
    low, high = LEXICAL_WINDOW
    window = "\n".join(
        line
        for number, line in enumerate(
            lines[max(cursor_line - low, 0) : cursor_line + high + 1], start=max(cursor_line - low, 0)
        )
        if number != cursor_line
    )
    lexical = _lexical(view, caches, [*imported_files, *neighbour_files], rank.subwords(window))

    others = [*lines[:cursor_line], "", *lines[cursor_line + 1 :]]
    at_receiver, around = reachable(
        view, caches, path, others, cursor_line, receiver, weights, hood.imported, lines[cursor_line]
    )
    rankings = {
        "receiver": at_receiver[:limit],
        "reach": around[:limit],
        "used": used_definitions[:limit],
        "member": members[:limit],
        "imported": imported[:limit],
        "neighbour": neighbours[:limit],
        "recent": _round_robin(
            [top_level(view, caches, file, set(weights)) for file in recent_files], limit=limit
        ),
        "lexical": lexical,
    }
    names = {id(entry[3]): entry[2] for entry in reversed(used)}
    items = [
        Item(definition, score, _reason(source, definition, names.get(id(definition))))
        for definition, score, source in _fuse(rankings)
    ]
    return items, hood


def query_items(view: IndexView, caches: PromptCaches, query: str, focus: Sequence[str]) -> list[Item]:
    """Fused candidates for a question in words: symbol search per word, BM25 over the neighbourhood."""
    words = rank.query_terms(query)
    found = _round_robin([view.search(word, limit=QUERY_HITS_PER_WORD) for word in words])
    seeds: dict[str, float] = {}
    for file in focus:
        seeds[file] = seeds.get(file, 0.0) + SEED_CURRENT
    for definition in found[:QUERY_SEED_HITS]:
        seeds[definition.path] = seeds.get(definition.path, 0.0) + SEED_NEAR_IDENTIFIERS * QUERY_HIT_SEED_SHARE
    graph = view.file_graph()
    scores = rank.personalized_pagerank(graph, _reverse_edges(view, graph, focus), seeds) if seeds else {}
    files = sorted(scores, key=lambda p: (-scores[p], p))[:NEIGHBOUR_FILES]
    found_files = list(dict.fromkeys(d.path for d in found))
    lexical = _lexical(view, caches, [*found_files, *files], rank.subwords(" ".join(words)))
    focused = _round_robin([top_level(view, caches, file, set(words)) for file in focus])
    neighbours = _round_robin([top_level(view, caches, file, set()) for file in files if file not in focus])
    rankings = {"query": found, "lexical": lexical, "imported": focused, "neighbour": neighbours}
    return [
        Item(definition, score, _reason(source, definition, None))
        for definition, score, source in _fuse(rankings)
    ]


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
    if source in ("member", "reach", "receiver"):
        return f"member of {definition.parent or posixpath.basename(definition.path)}"
    return _SOURCE_REASONS.get(source, "near in the dependency graph")


__all__ = ["Item", "Neighbourhood", "fim_items", "query_items", "shared_folders", "top_level"]
