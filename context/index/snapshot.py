"""The in-memory view of a repository's symbols that every query reads.

Loaded from the index in one pass, then patched file by file (an update or an editor overlay replaces one
file's entry, never the whole view). Lookups by name are dictionary reads; search keeps a sorted list of
lower-cased names that is rebuilt lazily after a change. References are the bulk of an index, so they stay
packed per file until the first query that needs them.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import re
import sys
from collections.abc import Callable, Iterable, Iterator

from context.index.store import (
    DefTuple,
    LoadedFile,
    PackedFile,
    RefTuple,
    definitions_from_tuples,
    unpack_definition_tuples,
    unpack_imports,
    unpack_names,
    unpack_reference_names,
    unpack_reference_tuples,
)
from context.index.symbols import Definition, Import
from context.weights import KIND_IMPORTANCE, UNKNOWN_KIND_IMPORTANCE

#: Search tiers, best first.
TIER_EXACT, TIER_EXACT_CASELESS, TIER_PREFIX, TIER_WORDS, TIER_PREFIX_CASELESS, TIER_HUMPS, TIER_SUBSTRING = range(7)

#: Folders and file names of tests: their definitions (fixtures named like the code they test) rank after the
#: source's own within a search tier.
_TEST_PATH = re.compile(
    r"(?:^|/)(?:tests?|testing|__tests__|specs?|test_?data)/"  # a test folder anywhere in the path
    r"|(?:^|/)(?:test_[^/]*|[^/]*_test\.[^/]+|[^/]*\.(?:test|spec)\.[^/]+|conftest\.py)$"  # a test file
)
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_SEPARATORS = re.compile(r"[\W_]+")
#: Words of a query: every capital starts one (``getUN`` is get/U/N), separators end one.
_QUERY_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]")


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector around a bulk load: building hundreds of thousands of tuples and
    lists (none of them in cycles) otherwise triggers collection after collection, doubling the load time."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


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
        "_raw",
        "_ref_counts",
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
        self._raw: list[DefTuple] | None = None
        self._names = names
        self._defs_blob = defs_blob
        self._imports = imports
        self._imports_blob = imports_blob
        self.refs_blob = refs_blob
        self._refs = references
        self._ref_counts: dict[str, int] | None = None

    @property
    def definitions(self) -> list[Definition]:
        """The file's definitions in source order (built on first use)."""
        if self._definitions is None:
            self._definitions = definitions_from_tuples(self.path, self.raw())
        return self._definitions

    def raw(self) -> list[DefTuple]:
        """The file's definitions as packed tuples (cheaper than `definitions` when only ranking them)."""
        if self._raw is None:
            if self._definitions is not None:
                self._raw = [(d.name, d.kind, d.qualname, d.line, d.column, d.end_line, d.signature, d.doc,
                              d.parent) for d in self._definitions]
            else:
                self._raw = unpack_definition_tuples(self._defs_blob) if self._defs_blob else []
                self._defs_blob = b""
        return self._raw

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

    def reference_counts(self) -> dict[str, int]:
        """How often each name is referenced in the file (names interned: files share the strings)."""
        if self._ref_counts is None:
            if self._refs is not None:
                names = [r[0] for r in self._refs]
            else:
                names = unpack_reference_names(self.refs_blob) if self.refs_blob else []
            counts: dict[str, int] = {}
            for name in names:
                counts[name] = counts.get(name, 0) + 1
            self._ref_counts = {sys.intern(name): count for name, count in counts.items()}
        return self._ref_counts


def words(name: str) -> list[str]:
    """The lower-cased words of an identifier, split at camelCase humps, underscores and digits."""
    return [w.lower() for w in _WORD.findall(name)]


def is_test_path(path: str) -> bool:
    """Whether ``path`` (relative POSIX) is a test: in a ``tests``/``test``/``spec`` folder, or named like
    ``test_x.py``, ``x_test.go``, ``x.test.ts``, ``x.spec.js`` or ``conftest.py``."""
    return _TEST_PATH.search(path) is not None


#: How a search result sorts (smaller first): band, test or not, tier, skipped words, kind, nesting, name
#: length, path, line.
RankKey = tuple[int, bool, int, int, int, int, int, str, int]


def _rank_key(tier: int, skipped: int, entry: FileSymbols, index: int) -> RankKey:
    """The sort key of a match. Exact and caseless-exact matches form one band in which the source's
    definitions come before the tests' (``class Engine`` before a test fixture ``engine``); elsewhere the tier
    decides first and tests come last within it. Then fewer skipped words, kind importance, top-level before
    nested, shorter names, path and line, so results are deterministic."""
    name, kind, qualname, line = entry.raw()[index][:4]
    band = TIER_EXACT if tier <= TIER_EXACT_CASELESS else tier
    return (band, is_test_path(entry.path), tier, skipped, KIND_IMPORTANCE.get(kind, UNKNOWN_KIND_IMPORTANCE), qualname.count("."),
            len(name), entry.path, line)


def _words_match(query_words: list[str], parts: list[str]) -> int | None:
    """How many of the name's words ``parts`` are skipped when each query word is matched, in order, as the
    prefix of a name word (``get``/``u``/``n`` in get/user/name: 0); None when they cannot all be matched."""
    if not query_words:
        return None
    position = 0
    skipped = 0
    for word in query_words:
        while position < len(parts) and not parts[position].startswith(word):
            position += 1
            skipped += 1
        if position == len(parts):
            return None
        position += 1
    return skipped + len(parts) - position


def _humps_match(query: str, parts: list[str]) -> bool:
    """Whether ``query`` (lower case, no separators) is a concatenation of prefixes of ``parts`` in order,
    skipping parts freely: ``getun`` matches get/user/name, so do ``gun`` and ``username``.

    Dynamic programming over (query position, word index), so long names cannot make it exponential.
    """
    # reachable[i]: the query's first i characters can be matched using words before the current one.
    reachable = [True] + [False] * len(query)
    for word in parts:
        for i in range(len(query) - 1, -1, -1):  # descending, so one word extends each position only once
            if reachable[i]:
                k = 0
                while i + k < len(query) and k < len(word) and word[k] == query[i + k]:
                    k += 1
                    reachable[i + k] = True
        if reachable[-1]:
            return True
    return reachable[-1]


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
        #: qualname -> slots, for qualified names that differ from the name (built on first use).
        self._by_qualname: dict[str, list[Slot]] | None = None
        self._load_references = load_references
        self._sorted_lower: tuple[list[tuple[str, str]], str, dict[str, list[str]]] | None = None
        for entry in entries:
            self._add(entry)

    # --- patching ------------------------------------------------------------------------------------------

    def put(self, entry: FileSymbols) -> None:
        """Add or replace one file's entry (the search index survives when the file's names stay the same, as
        they do for most edits of a buffer)."""
        old = self.files.get(entry.path)
        kept = self._sorted_lower
        same_names = old is not None and {n for n, _ in old.names()} == {n for n, _ in entry.names()}
        self.remove(entry.path)
        self._add(entry)
        if same_names:
            self._sorted_lower = kept

    def remove(self, path: str) -> None:
        """Forget one file (no-op when it is unknown)."""
        old = self.files.pop(path, None)
        if old is None:
            return
        for name, qualname in old.names():
            self._unlist(self.by_name, name, old)
            if qualname != name and self._by_qualname is not None:
                self._unlist(self._by_qualname, qualname, old)
        self._sorted_lower = None

    def _add(self, entry: FileSymbols) -> None:
        self.files[entry.path] = entry
        by_name = self.by_name
        for i, (name, _) in enumerate(entry.names()):
            slots = by_name.get(name)
            if slots is None:
                by_name[name] = [(entry, i)]
            else:
                slots.append((entry, i))
        if self._by_qualname is not None:
            self._index_qualnames(entry, self._by_qualname)
        self._sorted_lower = None

    @staticmethod
    def _index_qualnames(entry: FileSymbols, table: dict[str, list[Slot]]) -> None:
        for i, (name, qualname) in enumerate(entry.names()):
            if qualname != name:
                slots = table.get(qualname)
                if slots is None:
                    table[qualname] = [(entry, i)]
                else:
                    slots.append((entry, i))

    @property
    def by_qualname(self) -> dict[str, list[Slot]]:
        """qualname -> where it is defined, for qualified names that differ from the plain name."""
        if self._by_qualname is None:
            table: dict[str, list[Slot]] = {}
            for entry in self.files.values():
                self._index_qualnames(entry, table)
            self._by_qualname = table
        return self._by_qualname

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

    def references_of(self, path: str) -> list[RefTuple]:
        """``(name, kind, line, column)`` of every reference in one file (empty for an unknown file)."""
        entry = self.files.get(path)
        return self._references_of(entry) if entry is not None else []

    def reference_counts_of(self, path: str) -> dict[str, int]:
        """How often each name is referenced in one file (empty for an unknown file)."""
        entry = self.files.get(path)
        if entry is None:
            return {}
        if not entry.has_references:
            self._fill_references()
        return entry.reference_counts()

    def _references_of(self, entry: FileSymbols) -> list[RefTuple]:
        if not entry.has_references:
            self._fill_references()
        return entry.references()

    def _fill_references(self) -> None:
        """Load the references of every file that lacks them, in one pass."""
        with paused_gc():
            blobs = self._load_references() if self._load_references is not None else {}
        for path, entry in self.files.items():
            if not entry.has_references:
                entry.refs_blob = blobs.get(path, b"")

    def referrers(self, name: str) -> set[str]:
        """Files that reference ``name``: one dictionary lookup per file (a repository-wide index of referrers
        would cost more memory than all the rest of the snapshot)."""
        if any(not entry.has_references for entry in self.files.values()):
            self._fill_references()
        with paused_gc():  # the first call counts every file's references
            return {path for path, entry in self.files.items() if name in entry.reference_counts()}

    def search(self, query: str, kind: str | None, limit: int) -> list[Definition]:
        """Definitions best matching ``query``, in tiers: exact, caseless exact, prefix, caseless prefix, the
        query's own words as prefixes of the name's words (``getUN``, ``get_user`` -> ``getUserName``), the
        query as a run of word prefixes (``gun``), substring. `_rank_key` orders the matches.
        """
        query = query.strip()
        if not query or limit <= 0:
            return []
        scored: dict[str, tuple[int, int]] = {}  # name -> (tier, skipped words)
        lower = query.lower()
        sorted_lower = self._names_sorted()[0]
        start = bisect.bisect_left(sorted_lower, (lower, ""))
        for i in range(start, len(sorted_lower)):
            low, name = sorted_lower[i]
            if not low.startswith(lower):
                break
            if name == query:
                scored[name] = (TIER_EXACT, 0)
            elif low == lower:
                scored[name] = (TIER_EXACT_CASELESS, 0)
            else:
                scored[name] = (TIER_PREFIX if name.startswith(query) else TIER_PREFIX_CASELESS, 0)
        if self._count(scored, kind) < limit:
            self._fuzzy(query, scored)
        # Rank on the packed tuples; build `Definition` objects only for the results returned.
        results: list[tuple[RankKey, FileSymbols, int]] = []
        for entry, i in self.by_qualname.get(query, ()):
            if kind is None or entry.raw()[i][1] == kind:
                results.append((_rank_key(TIER_EXACT, 0, entry, i), entry, i))
        seen = {(id(entry), i) for _, entry, i in results}
        for name, (tier, skipped) in scored.items():
            for entry, i in self.by_name.get(name, ()):
                if (kind is None or entry.raw()[i][1] == kind) and (id(entry), i) not in seen:
                    results.append((_rank_key(tier, skipped, entry, i), entry, i))
        results.sort(key=lambda r: r[0])
        return [entry.definitions[i] for _, entry, i in results[:limit]]

    def _count(self, scored: dict[str, tuple[int, int]], kind: str | None) -> int:
        """Definitions of ``kind`` named by the names scored above `TIER_WORDS` (fuzzy matching cannot beat)."""
        best = [name for name, (tier, _) in scored.items() if tier < TIER_WORDS]
        if kind is None:
            return sum(len(self.by_name.get(name, ())) for name in best)
        return sum(1 for name in best for entry, i in self.by_name.get(name, ()) if entry.raw()[i][1] == kind)

    def _fuzzy(self, query: str, scored: dict[str, tuple[int, int]]) -> None:
        """Add names matching ``query`` word by word (camelCase/snake_case aware) or as a substring.

        One regular expression over all lower-cased names (one per line) finds the candidates containing the
        query's letters in order, at C speed; only those are matched word by word.
        """
        compact = _SEPARATORS.sub("", query).lower()
        if not compact:
            return
        query_words = [w.lower() for w in _QUERY_WORD.findall(query)]
        _, joined, by_lower = self._names_sorted()
        pattern = re.compile("[^\n]*?".join(map(re.escape, compact)))
        position = 0
        while (match := pattern.search(joined, position)) is not None:
            line_start = joined.rfind("\n", 0, match.start()) + 1
            line_end = joined.find("\n", match.end())
            line_end = len(joined) if line_end < 0 else line_end
            position = line_end + 1
            for name in by_lower[joined[line_start:line_end]]:
                if name in scored and scored[name][0] <= TIER_WORDS:
                    continue
                parts = words(name)
                skipped = _words_match(query_words, parts)
                if skipped is not None:
                    scored[name] = (TIER_WORDS, skipped)
                elif name in scored:
                    continue
                elif _humps_match(compact, parts):
                    scored[name] = (TIER_HUMPS, len(parts))
                elif compact in name.lower().replace("_", ""):
                    scored[name] = (TIER_SUBSTRING, len(parts))

    def _names_sorted(self) -> tuple[list[tuple[str, str]], str, dict[str, list[str]]]:
        """(lower name, name) sorted; the lower names joined by newlines; lower name -> names."""
        if self._sorted_lower is None:
            with paused_gc():
                self._sorted_lower = self._sort_names()
        return self._sorted_lower

    def _sort_names(self) -> tuple[list[tuple[str, str]], str, dict[str, list[str]]]:
        pairs = sorted((name.lower(), name) for name in self.by_name if "\n" not in name)
        by_lower: dict[str, list[str]] = {}
        for low, name in pairs:
            by_lower.setdefault(low, []).append(name)
        return pairs, "\n".join(by_lower), by_lower


def packed_entry(packed: PackedFile) -> FileSymbols:
    """A snapshot entry from a freshly parsed and packed file."""
    return FileSymbols(packed.path, packed.language, packed.hash, packed.package,
                       names=unpack_names(packed.names, packed.qualnames), defs_blob=packed.defs,
                       imports_blob=packed.imports, refs_blob=packed.refs)


def loaded_entry(f: LoadedFile) -> FileSymbols:
    """A snapshot entry from a row loaded from the index (references come later, all at once)."""
    return FileSymbols(f.path, f.language, f.hash, f.package, names=f.names, defs_blob=f.defs,
                       imports_blob=f.imports)
