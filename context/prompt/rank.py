"""Ranking: pure functions from identifiers, graphs and ranked lists to scores.

Everything here is deterministic and free of engine state, so it can be tested on small literals and reused by
the FIM prompt, the chat context and the repository map. Its weights live in `context.weights` with every other
ranking weight; change them there, never inline.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from itertools import chain
from typing import TypeVar

from context.weights import (
    BM25_B,
    BM25_K1,
    FAR_WEIGHT,
    PPR_ALPHA,
    PPR_EPSILON,
    PPR_MAX_PUSHES,
    PPR_REVERSE_WEIGHT,
    PROXIMITY_BUCKETS,
    REPEAT_BONUS,
    REPEAT_CAP,
    RRF_K,
    SOURCE_WEIGHTS,
)

#: Words that are never worth looking up: keywords and builtins of the supported languages, plus very short
#: names.
_STOP_WORDS_TEXT = """
    and as assert async await break case catch class const continue def default defer del delete do elif
    else enum export extends false final finally fn for from func function go if impl import in instanceof
    interface is lambda let loop match mod mut new nil none not null or package pass private protected pub
    public raise return self static struct super switch this throw throws true try type typeof use var void
    where while with yield int str float bool dict list set tuple bytes object string number boolean any
    char long short double byte uint usize isize i32 i64 u8 u32 u64 f32 f64 err error ok some len print
    println printf fmt std end then local require module begin rescue elsif unless until include namespace
    using template typename auto sizeof union extern volatile register unsigned signed val override internal
    when companion args kwargs cls
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
#: English words that carry no meaning for symbol search in a question ("how are redirects followed").
_ENGLISH_STOP_WORDS_TEXT = """
    a about after all also an any are at be been before being but by can could did do does doing done each
    for from had has have how i if in into is it its me more most my no not of on once only or other our out
    over own same should so some such than that the their them then there these they this those through to
    too under until up very was we were what when where which while who whom why will with would you your
    code file files function functions method class work works working use used using make makes change find
    show explain please need want add fix bug implement
"""
ENGLISH_STOP_WORDS = frozenset(_ENGLISH_STOP_WORDS_TEXT.split())
#: Suffixes stripped from question words to find the identifiers' stems ("redirects" -> "redirect").
STEM_SUFFIXES = ("ing", "ed", "es", "s")
MIN_IDENTIFIER_LENGTH = 2

_IDENTIFIER_RE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_SUBWORD_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

K = TypeVar("K", bound=Hashable)


def _worth_looking_up(word: str) -> bool:
    return len(word) >= MIN_IDENTIFIER_LENGTH and word.lower() not in STOP_WORDS


def identifiers(text: str) -> list[str]:
    """The identifier-shaped words of ``text``, in order, stop words and one-letter names left out."""
    return [word for word in _IDENTIFIER_RE.findall(text) if _worth_looking_up(word)]


def query_terms(question: str) -> list[str]:
    """The words of a question worth a symbol search, each followed by its stem when it has one."""
    terms: list[str] = []
    for word in identifiers(question):
        if word.lower() in ENGLISH_STOP_WORDS:
            continue
        terms.append(word)
        for suffix in STEM_SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                stem = word[: -len(suffix)]
                if suffix in ("ing", "ed") and stem[-1] == stem[-2] and stem[-1] not in "slz":
                    stem = stem[:-1]  # stripped -> strip, running -> run
                terms.append(stem)
                break
    return list(dict.fromkeys(terms))


def identifier_weights(lines: Sequence[str], cursor_line: int) -> dict[str, float]:
    """Weight of each identifier in a buffer for a cursor on ``cursor_line`` (prefix AND suffix count).

    The cursor's own line is left out: it is the part that changes on every keystroke, and ignoring it keeps
    the selection (and the prompt's leading tokens) stable while the user types there.
    """
    findall = _IDENTIFIER_RE.findall
    size = len(lines)
    bands: list[tuple[int, int, float]] = []  # (first distance, last distance, weight), farthest first
    nearer = 0
    for limit, weight in PROXIMITY_BUCKETS:
        bands.insert(0, (nearer + 1, limit, weight))
        nearer = limit
    bands.insert(0, (nearer + 1, size, FAR_WEIGHT))
    best: dict[str, float] = {}
    seen: Counter[str] = Counter()
    for first, last, weight in bands:  # nearer bands overwrite the weight of the words they share
        above = lines[max(cursor_line - last, 0) : max(cursor_line - first + 1, 0)]
        below = lines[cursor_line + first : cursor_line + last + 1]
        words = findall("\n".join(above)) + findall("\n".join(below))
        seen.update(words)
        best.update(dict.fromkeys(words, weight))
    return {
        word: weight + REPEAT_BONUS * min(seen[word] - 1, REPEAT_CAP)
        for word, weight in best.items()
        if len(word) >= MIN_IDENTIFIER_LENGTH and word.lower() not in STOP_WORDS  # `_worth_looking_up`, inlined
    }


def subwords(text: str) -> list[str]:
    """Lower-case sub-words of the identifiers in ``text`` (``parseHTTPHeader_v2`` -> parse, http, header, and
    the compound itself), for lexical matching that sees through naming conventions."""
    words = [part.lower() for part in _SUBWORD_RE.findall(text) if len(part) > 1]
    words.extend(
        identifier.lower()
        for identifier in _IDENTIFIER_RE.findall(text)
        if len(identifier) > 2
        and ("_" in identifier.strip("_") or not (identifier.islower() or identifier.isupper()))
    )
    return words


def reverse_graph(graph: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Edges of ``graph`` turned around (dependency -> dependent), same weights."""
    reverse: dict[str, dict[str, float]] = defaultdict(dict)
    for source, targets in graph.items():
        for target, weight in targets.items():
            reverse[target][source] = weight
    return dict(reverse)


def personalized_pagerank(
    graph: Mapping[str, Mapping[str, float]],
    reverse: Mapping[str, Mapping[str, float]],
    seeds: Mapping[str, float],
    *,
    alpha: float = PPR_ALPHA,
    epsilon: float = PPR_EPSILON,
) -> dict[str, float]:
    """Personalised PageRank toward ``seeds`` by local push (Andersen, Chung and Lang, 2006).

    Walks follow dependency edges forwards and, where ``reverse`` has them (dependent -> weight per file; the
    caller gives them for the current file), backwards with ``PPR_REVERSE_WEIGHT``: what imports the current
    file is related to it, while what imports a widely used file is merely a sibling, and walking into every
    user of a hub would cost thousands of steps. Local push only touches the neighbourhood that matters, so
    the cost does not grow with the repository.
    """
    total = sum(seeds.values())
    if total <= 0:
        return {}
    residual: dict[str, float] = {node: mass / total for node, mass in seeds.items() if mass > 0}
    rank: dict[str, float] = defaultdict(float)
    queue = sorted(residual)
    queued = set(queue)
    neighbours_cache: dict[str, tuple[list[tuple[str, float]], float]] = {}
    pushes = 0
    while queue and pushes < PPR_MAX_PUSHES:
        pushes += 1
        node = queue.pop()
        queued.discard(node)
        mass = residual.pop(node, 0.0)
        if mass <= 0:
            continue
        rank[node] += alpha * mass
        if node not in neighbours_cache:
            edges = [(target, weight) for target, weight in graph.get(node, {}).items() if weight > 0]
            if node in reverse:
                edges += [
                    (source, weight * PPR_REVERSE_WEIGHT)
                    for source, weight in reverse.get(node, {}).items()
                    if weight > 0
                ]
            neighbours_cache[node] = (edges, sum(weight for _, weight in edges))
        edges, out_weight = neighbours_cache[node]
        if out_weight <= 0:
            rank[node] += (1 - alpha) * mass
            continue
        spread = (1 - alpha) * mass / out_weight
        for target, weight in edges:
            value = residual.get(target, 0.0) + spread * weight
            residual[target] = value
            if value > epsilon * max(len(graph.get(target, ())), 1) and target not in queued:
                queued.add(target)
                queue.append(target)
    for node, mass in residual.items():
        rank[node] += alpha * mass
    return dict(rank)


def pagerank(graph: Mapping[str, Mapping[str, float]], *, iterations: int = 30) -> dict[str, float]:
    """Global PageRank (power iteration, uniform teleport) over a weighted directed graph."""
    nodes = sorted(set(graph) | {target for targets in graph.values() for target in targets})
    if not nodes:
        return {}
    count = len(nodes)
    rank = dict.fromkeys(nodes, 1.0 / count)
    damping = 1 - PPR_ALPHA
    for _ in range(iterations):
        following = dict.fromkeys(nodes, (1 - damping) / count)
        dangling = 0.0
        for node in nodes:
            targets = graph.get(node, {})
            total = sum(targets.values())
            if total <= 0:
                dangling += rank[node]
                continue
            share = damping * rank[node] / total
            for target, weight in targets.items():
                following[target] += share * weight
        spread = damping * dangling / count
        rank = {node: value + spread for node, value in following.items()}
    return rank


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[K]], weights: Mapping[str, float] = SOURCE_WEIGHTS
) -> list[tuple[K, float, str]]:
    """Fuse ranked lists: ``(item, score, source that contributed most)``, best first, ties in first-seen
    order.

    An item's score is the sum over sources of ``weight / (RRF_K + rank)``; duplicates within one list count
    once, at their best rank.
    """
    scores: dict[K, float] = {}
    best_source: dict[K, tuple[float, str]] = {}
    for source in sorted(rankings):
        weight = weights.get(source, 0.0)
        if weight <= 0:
            continue
        for position, item in enumerate(dict.fromkeys(rankings[source]), start=1):  # first occurrences only
            contribution = weight / (RRF_K + position)
            previous = scores.get(item)
            if previous is None:
                scores[item] = contribution
                best_source[item] = (contribution, source)
            else:
                scores[item] = previous + contribution
                if contribution > best_source[item][0]:
                    best_source[item] = (contribution, source)
    fused = sorted(scores.items(), key=lambda pair: -pair[1])  # stable: ties stay in first-seen order
    return [(item, score, best_source[item][1]) for item, score in fused]


def bm25(query: Iterable[str], documents: Sequence[Mapping[str, int]]) -> list[tuple[int, float]]:
    """Okapi BM25 scores of ``documents`` (term -> frequency) for ``query``: (index, score), best first."""
    terms = set(query)
    if not documents or not terms:
        return []
    lengths = [sum(document.values()) for document in documents]
    average = sum(lengths) / len(lengths) or 1.0
    shared = [terms.intersection(document) for document in documents]
    frequencies = Counter(chain.from_iterable(shared))
    total = len(documents)
    idf = {term: math.log(1 + (total - count + 0.5) / (count + 0.5)) for term, count in frequencies.items()}
    results: list[tuple[int, float]] = []
    k1_plus_one = BM25_K1 + 1
    for index, found in enumerate(shared):
        if not found:
            continue
        document = documents[index]
        norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[index] / average)
        score = 0.0
        for term in sorted(found) if len(found) > 1 else found:
            frequency = document[term]
            score += idf[term] * frequency * k1_plus_one / (frequency + norm)
        results.append((index, score))
    results.sort(key=lambda pair: (-pair[1], pair[0]))
    return results


def dependency_order(paths: Iterable[str], graph: Mapping[str, Mapping[str, float]]) -> list[str]:
    """``paths`` ordered so that a file's dependencies come before it (cycles broken by path order).

    Depends only on the graph and the names, never on scores, so the order of the repository context stays the
    same while the scores move: a server's prefix cache keeps hitting.
    """
    wanted = set(paths)
    order: list[str] = []
    state: dict[str, int] = {}
    for root in sorted(wanted):
        if root in state:
            continue
        stack: list[tuple[str, Iterable[str]]] = [
            (root, iter(sorted(t for t in graph.get(root, {}) if t in wanted)))
        ]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            advanced = False
            for child in children:
                if child not in state:
                    state[child] = 1
                    stack.append((child, iter(sorted(t for t in graph.get(child, {}) if t in wanted))))
                    advanced = True
                    break
            if not advanced:
                stack.pop()
                state[node] = 2
                order.append(node)
    return order


__all__ = [
    "ENGLISH_STOP_WORDS",
    "STOP_WORDS",
    "bm25",
    "dependency_order",
    "identifier_weights",
    "identifiers",
    "pagerank",
    "personalized_pagerank",
    "query_terms",
    "reciprocal_rank_fusion",
    "reverse_graph",
    "subwords",
]
