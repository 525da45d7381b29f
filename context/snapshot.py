"""The in-memory view of a repository's symbols that every query reads.

Loaded from the index in one pass, then patched file by file (an update or an editor overlay replaces one
file's entry, never the whole view). Lookups by name are dictionary reads; search keeps a sorted list of
lower-cased names that is rebuilt lazily after a change. References are the bulk of an index, so they stay
packed per file until the first query that needs them.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable

from context.index import (
    RefTuple,
    definitions_from_tuples,
    unpack_definition_tuples,
    unpack_imports,
    unpack_reference_names,
    unpack_reference_tuples,
)
from context.symbols import Definition, Import

#: Rank of each definition kind when several symbols match a query equally well (lower comes first).
KIND_IMPORTANCE: dict[str, int] = {
    "class": 0, "struct": 0, "interface": 0, "trait": 0, "enum": 0, "type": 1,
    "function": 1, "method": 2, "constant": 3, "module": 4, "field": 5,
}

#: Search tiers, best first.
TIER_EXACT, TIER_EXACT_CASELESS, TIER_PREFIX, TIER_PREFIX_CASELESS, TIER_WORDS, TIER_SUBSTRING = range(6)

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_SEPARATORS = re.compile(r"[\W_]+")


class FileSymbols:
    """One file's entry: definitions in source order, imports, and references.

    Entries loaded from the index keep definitions and imports packed until the file is first asked about
    (building objects for every definition of a big repository would dominate start-up) and references packed
    until the first query that needs them; only the definition names are unpacked at once, for the name index.
    """

    __slots__ = (
        "_definitions",
        "_defs_blob",
        "_imports",
        "_imports_blob",
        "_names",
        "_ref_names",
        "_refs",
        "hash",
        "language",
        "package",
        "path",
        "refs_blob",
    )

    def __init__(self, path: str, language: str, hash: str, package: str, *,
                 definitions: list[Definition] | None = None, imports: list[Import] | None = None,
                 references: list[RefTuple] | None = None, names: list[tuple[str, str]] | None = None,
                 defs_blob: bytes = b"", imports_blob: bytes = b"", refs_blob: bytes | None = None) -> None:
        self.path = path
        self.language = language
        self.hash = hash
        self.package = package
        self._definitions = definitions
        self._names = names
        self._defs_blob = defs_blob
        self._imports = imports
        self._imports_blob = imports_blob
        self.refs_blob = refs_blob
        self._refs = references
        self._ref_names: list[str] | None = None

    @property
    def definitions(self) -> list[Definition]:
        """The file's definitions in source order (unpacked on first use)."""
        if self._definitions is None:
            raw = unpack_definition_tuples(self._defs_blob) if self._defs_blob else []
            self._definitions = definitions_from_tuples(self.path, raw)
            self._defs_blob = b""
        return self._definitions

    @property
    def imports(self) -> list[Import]:
        """The file's imports, unresolved (unpacked on first use)."""
        if self._imports is None:
            self._imports = unpack_imports(self.path, self._imports_blob) if self._imports_blob else []
            self._imports_blob = b""
        return self._imports

    def names(self) -> list[tuple[str, str]]:
        """``(name, qualname)`` of every definition, in source order, without building definitions."""
        if self._names is None:
            self._names = [(d.name, d.qualname) for d in self.definitions]
        return self._names

    @property
    def has_references(self) -> bool:
        """Whether the references are in memory (packed or not)."""
        return self._refs is not None or self.refs_blob is not None

    def references(self) -> list[RefTuple]:
        """``(name, kind, line, column)`` of every reference in the file."""
        if self._refs is None:
            self._refs = unpack_reference_tuples(self.refs_blob) if self.refs_blob else []
        return self._refs

    def reference_names(self) -> list[str]:
        """The names of every reference in the file (cheaper than `references`)."""
        if self._ref_names is None:
            if self._refs is not None:
                self._ref_names = [r[0] for r in self._refs]
            else:
                self._ref_names = unpack_reference_names(self.refs_blob) if self.refs_blob else []
        return self._ref_names


def words(name: str) -> list[str]:
    """The lower-cased words of an identifier, split at camelCase humps, underscores and digits."""
    return [w.lower() for w in _WORD.findall(name)]


def _humps_match(query: str, parts: list[str], start: int = 0) -> bool:
    """Whether ``query`` (lower case, no separators) is a concatenation of prefixes of ``parts[start:]`` in order,
    skipping parts freely: ``getun`` matches get/user/name, so does ``gun`` and ``username``."""
    if not query:
        return True
    for j in range(start, len(parts)):
        word = parts[j]
        k = 0
        limit = min(len(word), len(query))
        while k < limit and word[k] == query[k]:
            k += 1
        for taken in range(k, 0, -1):
            if _humps_match(query[taken:], parts, j + 1):
                return True
    return False


#: Where a definition lives: its file's entry and its index in the file's definitions.
Slot = tuple[FileSymbols, int]


class Snapshot:
    """Symbols of every file, indexed by name, patched in place as files change.

    ``load_references`` returns every file's packed references (path -> blob); it is called once, the first
    time a query needs references, so start-up only reads definitions.
    """

    def __init__(self, entries: Iterable[FileSymbols] = (),
                 load_references: Callable[[], dict[str, bytes]] | None = None) -> None:
        self.files: dict[str, FileSymbols] = {}
        self.by_name: dict[str, list[Slot]] = {}
        self.by_qualname: dict[str, list[Slot]] = {}
        self._load_references = load_references
        self._sorted_lower: list[tuple[str, str]] | None = None
        self._referrers: dict[str, set[str]] | None = None
        for entry in entries:
            self._add(entry)

    # --- patching ------------------------------------------------------------------------------------------

    def put(self, entry: FileSymbols) -> None:
        """Add or replace one file's entry."""
        self.remove(entry.path)
        self._add(entry)

    def remove(self, path: str) -> None:
        """Forget one file (no-op when it is unknown)."""
        old = self.files.pop(path, None)
        if old is None:
            return
        for name, qualname in old.names():
            self._unlist(self.by_name, name, old)
            if qualname != name:
                self._unlist(self.by_qualname, qualname, old)
        self._sorted_lower = None
        if self._referrers is not None:
            for name in set(old.reference_names()):
                holders = self._referrers.get(name)
                if holders is not None:
                    holders.discard(path)
                    if not holders:
                        del self._referrers[name]

    def _add(self, entry: FileSymbols) -> None:
        self.files[entry.path] = entry
        by_name = self.by_name
        for i, (name, qualname) in enumerate(entry.names()):
            slots = by_name.get(name)
            if slots is None:
                by_name[name] = [(entry, i)]
            else:
                slots.append((entry, i))
            if qualname != name:
                self.by_qualname.setdefault(qualname, []).append((entry, i))
        self._sorted_lower = None
        if self._referrers is not None:
            for name in set(self._reference_names_of(entry)):
                self._referrers.setdefault(name, set()).add(entry.path)

    @staticmethod
    def _unlist(table: dict[str, list[Slot]], key: str, entry: FileSymbols) -> None:
        slots = table.get(key)
        if slots is None:
            return
        slots[:] = [slot for slot in slots if slot[0] is not entry]
        if not slots:
            del table[key]

    # --- queries -------------------------------------------------------------------------------------------

    def named(self, name: str) -> list[Definition]:
        """Definitions whose name or qualified name is exactly ``name``."""
        found = [entry.definitions[i] for entry, i in self.by_name.get(name, ())]
        for entry, i in self.by_qualname.get(name, ()):
            found.append(entry.definitions[i])
        return found

    def definers(self, name: str) -> set[str]:
        """Files that define ``name``."""
        return {entry.path for entry, _ in self.by_name.get(name, ())}

    def references_of(self, path: str) -> list[RefTuple]:
        """``(name, kind, line, column)`` of every reference in one file (empty for an unknown file)."""
        entry = self.files.get(path)
        return self._references_of(entry) if entry is not None else []

    def reference_names_of(self, path: str) -> list[str]:
        """The referenced names of one file (empty for an unknown file)."""
        entry = self.files.get(path)
        return self._reference_names_of(entry) if entry is not None else []

    def _references_of(self, entry: FileSymbols) -> list[RefTuple]:
        if not entry.has_references:
            self._fill_references()
        return entry.references()

    def _reference_names_of(self, entry: FileSymbols) -> list[str]:
        if not entry.has_references:
            self._fill_references()
        return entry.reference_names()

    def _fill_references(self) -> None:
        """Load the references of every file that lacks them, in one pass."""
        blobs = self._load_references() if self._load_references is not None else {}
        for path, entry in self.files.items():
            if not entry.has_references:
                entry.refs_blob = blobs.get(path, b"")

    def referrers(self, name: str) -> set[str]:
        """Files that reference ``name`` (builds the reference index on first use)."""
        return self.referrer_index().get(name, set())

    def referrer_index(self) -> dict[str, set[str]]:
        """name -> files referencing it, over the whole repository."""
        if self._referrers is None:
            index: dict[str, set[str]] = {}
            for path, entry in self.files.items():
                for name in set(self._reference_names_of(entry)):
                    holders = index.get(name)
                    if holders is None:
                        index[name] = {path}
                    else:
                        holders.add(path)
            self._referrers = index
        return self._referrers

    def search(self, query: str, kind: str | None, limit: int) -> list[Definition]:
        """Definitions best matching ``query``: exact > caseless exact > prefix > word-aware fuzzy > substring.

        Ties are broken by kind importance, then shorter names, then path and line, so results are stable.
        """
        query = query.strip()
        if not query or limit <= 0:
            return []
        scored: dict[str, int] = {}  # name -> tier
        lower = query.lower()
        sorted_lower = self._names_sorted()
        start = bisect.bisect_left(sorted_lower, (lower, ""))
        for i in range(start, len(sorted_lower)):
            low, name = sorted_lower[i]
            if not low.startswith(lower):
                break
            if name == query:
                scored[name] = TIER_EXACT
            elif low == lower:
                scored[name] = TIER_EXACT_CASELESS
            else:
                scored[name] = TIER_PREFIX if name.startswith(query) else TIER_PREFIX_CASELESS
        if self._count(scored, kind) < limit:
            self._fuzzy(query, scored)
        results: list[tuple[int, int, int, str, int, Definition]] = []
        for d in (entry.definitions[i] for entry, i in self.by_qualname.get(query, ())):
            if kind is None or d.kind == kind:
                results.append((TIER_EXACT, KIND_IMPORTANCE.get(d.kind, 9), len(d.name), d.path, d.line, d))
        seen = {id(r[-1]) for r in results}
        for name, tier in scored.items():
            for entry, i in self.by_name.get(name, ()):
                d = entry.definitions[i]
                if (kind is None or d.kind == kind) and id(d) not in seen:
                    results.append((tier, KIND_IMPORTANCE.get(d.kind, 9), len(name), d.path, d.line, d))
        results.sort(key=lambda r: r[:5])
        return [r[-1] for r in results[:limit]]

    def _count(self, scored: dict[str, int], kind: str | None) -> int:
        if kind is None:
            return sum(len(self.by_name.get(name, ())) for name in scored)
        return sum(1 for name in scored for entry, i in self.by_name.get(name, ())
                   if entry.definitions[i].kind == kind)

    def _fuzzy(self, query: str, scored: dict[str, int]) -> None:
        """Add names matching ``query`` word by word (camelCase/snake_case humps) or as a substring."""
        compact = _SEPARATORS.sub("", query).lower()
        if not compact:
            return
        subsequence = re.compile(".*?".join(map(re.escape, compact)))
        for low, name in self._names_sorted():
            if name in scored or not subsequence.search(low):
                continue
            if _humps_match(compact, words(name)):
                scored[name] = TIER_WORDS
            elif compact in low.replace("_", ""):
                scored[name] = TIER_SUBSTRING

    def _names_sorted(self) -> list[tuple[str, str]]:
        if self._sorted_lower is None:
            self._sorted_lower = sorted((name.lower(), name) for name in self.by_name)
        return self._sorted_lower
