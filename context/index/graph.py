"""The file dependency graph: which files each file uses, and how strongly.

An edge ``a -> b`` means "a depends on b": ``a`` imports ``b`` (resolved by `context.index.resolve`) or references a
name that ``b`` defines and few other files do (a name defined in many files says little about which one is
meant — the idea of aider's repository map). Edge weights are sums of named constants (in `context.weights`); ranking (in
`context.prompt.rank`) consumes the graph, this module only builds it.

Out-edges are computed per file on demand and cached; a changed file invalidates its own edges and those of
the files referencing a name it started or stopped defining, so an edit costs a few files' work, not the
repository's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from context.index.snapshot import Snapshot
from context.weights import (
    DISTINCTIVE_LENGTH,
    DISTINCTIVE_NAME_BOOST,
    IMPORT_WEIGHT,
    MAX_DEFINERS,
    PRIVATE_NAME_FACTOR,
    REFERENCE_WEIGHT,
)

#: Languages that can use each other's definitions (references only link files of one family).
LANGUAGE_FAMILIES: dict[str, str] = {
    "javascript": "js", "typescript": "js", "tsx": "js", "c": "c", "cpp": "c", "java": "jvm", "kotlin": "jvm",
}


def language_family(language: str) -> str:
    """The family of languages whose files can use each other's definitions (``typescript`` -> ``js``)."""
    return LANGUAGE_FAMILIES.get(language, language)


def name_weight(name: str) -> float:
    """How much a reference to ``name`` says about the file that defines it."""
    weight = REFERENCE_WEIGHT
    if name.startswith("_"):
        weight *= PRIVATE_NAME_FACTOR
    elif len(name) >= DISTINCTIVE_LENGTH and ("_" in name or name.lower() != name):
        weight *= DISTINCTIVE_NAME_BOOST
    return weight


class FileGraph:
    """Weighted file -> file edges over a `Snapshot`, maintained incrementally.

    ``resolve_imports(path)`` returns the files each import of ``path`` brings in (one list per import).
    """

    def __init__(self, snapshot: Snapshot, resolve_imports: Callable[[str], list[list[str]]]) -> None:
        self.snapshot = snapshot
        self.resolve_imports = resolve_imports
        self._out: dict[str, dict[str, float]] = {}
        self._in: dict[str, dict[str, float]] | None = None
        #: name -> language family -> the files of that family defining it (None: more than MAX_DEFINERS).
        self._definers: dict[str, dict[str, frozenset[str] | None]] = {}

    def edges_from(self, path: str) -> dict[str, float]:
        """Files ``path`` depends on, with weights (empty for an unknown file)."""
        edges = self._out.get(path)
        if edges is None:
            edges = self._compute(path)
            self._out[path] = edges
            if self._in is not None:
                for target, weight in edges.items():
                    self._in.setdefault(target, {})[path] = weight
        return edges

    def edges_to(self, path: str) -> dict[str, float]:
        """Files depending on ``path``, with weights (computes the whole graph once)."""
        self.all()
        assert self._in is not None
        return self._in.get(path, {})

    def all(self) -> dict[str, dict[str, float]]:
        """The whole graph: every file's out-edges (files without edges map to ``{}``)."""
        for path in self.snapshot.files:
            if path not in self._out:
                self._out[path] = self._compute(path)
        if self._in is None:
            reverse: dict[str, dict[str, float]] = {}
            for source, edges in self._out.items():
                for target, weight in edges.items():
                    reverse.setdefault(target, {})[source] = weight
            self._in = reverse
        return self._out

    def invalidate(self, paths: Iterable[str], names: Iterable[str]) -> None:
        """Forget the edges of ``paths`` (changed files) and of the files referencing any of ``names`` (names
        whose set of defining files changed)."""
        stale = set(paths)
        for name in names:
            stale |= self.snapshot.referrers(name)
            self._definers.pop(name, None)
        for path in stale:
            edges = self._out.pop(path, None)
            if edges and self._in is not None:
                for target in edges:
                    sources = self._in.get(target)
                    if sources is not None:
                        sources.pop(path, None)
        if self._in is not None:
            for path in stale:  # recompute now so the reverse index stays whole
                if path in self.snapshot.files:
                    self.edges_from(path)

    def clear(self) -> None:
        """Forget everything (after files were created or deleted: import resolution may change anywhere)."""
        self._out.clear()
        self._in = None
        self._definers.clear()

    def _compute(self, path: str) -> dict[str, float]:
        entry = self.snapshot.files.get(path)
        if entry is None:
            return {}
        edges: dict[str, float] = {}
        for targets in self.resolve_imports(path):
            if targets:
                share = IMPORT_WEIGHT / math.sqrt(len(targets))
                for target in targets:
                    edges[target] = edges.get(target, 0.0) + share
        counts = self.snapshot.reference_counts_of(path)
        family = language_family(entry.language)
        # names defined somewhere in the repository, sorted so that weights sum up in the same order every run
        for name in sorted(counts.keys() & self.snapshot.by_name.keys()):
            definers = self._definers_of(name, family)
            if not definers or path in definers:  # none in this language, too common to tell, or a local name
                continue
            weight = name_weight(name) * math.sqrt(counts[name]) / len(definers)
            for target in definers:
                edges[target] = edges.get(target, 0.0) + weight
        return edges

    def _definers_of(self, name: str, family: str) -> frozenset[str] | None:
        """Files of one language family defining ``name``; None when more than `MAX_DEFINERS` do."""
        by_family = self._definers.get(name)
        if by_family is None:
            by_family = self._definers[name] = {}
        elif family in by_family:
            return by_family[family]
        definers: set[str] = set()
        for target, _ in self.snapshot.by_name.get(name, ()):
            if language_family(target.language) == family:
                definers.add(target.path)
                if len(definers) > MAX_DEFINERS:
                    by_family[family] = None
                    return None
        found = by_family[family] = frozenset(definers)
        return found
