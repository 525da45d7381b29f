"""The engine: the one API the CLI, the LSP server and the MCP server use to know a repository.

`Engine` ties the index stage together: `context.index.scan` finds the files, `context.index.pool` parses them
(in worker processes when there are many) and `context.index.store` keeps them on disk; `context.index.snapshot`
answers queries from memory, `context.index.links` links files to each other (resolved imports, the file graph),
`context.index.overlay` parses unsaved editor buffers, `context.index.goto` picks the definition a name means.
It keeps the index fresh — `update` for changed paths, a watcher (`context.index.watch`) it owns for a
long-running server, overlays for unsaved buffers — and bumps `Engine.version` on every change so callers can key
caches on it. Prompts are delegated to the `context.prompt.build.PromptBuilder` it holds, which reads the engine
only through `context.index.view.IndexView`.

Every path going in is relative to the root (absolute paths inside the root are accepted too) and checked by
`context.index.paths`; every path coming out is relative POSIX; every text coming out is secret-masked.
Queries are thread-safe (one lock), so a watcher thread can update while a server thread reads.

Long on purpose: the index's health (damage found by any query, one rebuild across processes, a full disk)
lives here beside the two locks it must hold; moving it out would hand those locks to another module.
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Self

from context.errors import IndexDiskFull, UnknownFile, UsageError
from context.index.config import EngineConfig, default_cache_dir, default_scan_config
from context.index.goto import best_definition, identifier_at
from context.index.languages import language_for
from context.index.links import Links
from context.index.overlay import overlay_entry
from context.index.paths import checked_path, relative_path
from context.index.pool import Job, job_for, parse_and_store, parser_fingerprint
from context.index.reports import (
    IndexReport,
    IndexStats,
    OutlineNode,
    ignored_from_json,
    iter_outline,
    outline,
)
from context.index.resolve import BUILD_FILES
from context.index.scan import read_text, scan, scan_one
from context.index.snapshot import FileSymbols, Snapshot, loaded_entry, packed_entry, paused_gc
from context.index.store import (
    IndexCorrupt,
    IndexHealth,
    IndexStore,
    LoadedFile,
    PackedFile,
    StoredFile,
    index_path,
)
from context.index.symbols import DEFINITION_KINDS, Definition, Import, Reference
from context.index.textcache import TEXT_CACHE_CHARS, TextCache
from context.index.watch import Watcher
from context.prompt import tokens
from context.prompt.build import PromptBuilder
from context.prompt.result import Prompt
from context.secrets import mask_secrets

logger = logging.getLogger(__name__)

#: More paths than this in one `update` call are handled as a full `index` (a branch switch, a big checkout).
UPDATE_MAX_PATHS = 2000
#: More files than this changed in one run reset the file graph once rather than patching it file by file (a
#: new file rebuilds the import resolver and rescans every file's imports: patching thousands is quadratic).
LINKS_PATCH_MAX = 100


class Engine:
    """One repository's index and every query on it. Create one per repository and share it."""

    def __init__(self, root: str | Path, config: EngineConfig | None = None) -> None:
        """Open (or create) the index of ``root``; cheap: nothing is scanned or loaded until first needed."""
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise UsageError(f"{root} is not a folder")
        self.config = config or EngineConfig()
        self._store = IndexStore(index_path(self.config.cache_dir or default_cache_dir(), self.root))
        #: Guards the snapshot, overlays and caches (queries and patches).
        self._lock = threading.RLock()
        #: Serialises index/update runs (parsing happens outside `_lock` so queries are not blocked).
        self._index_lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._overlays: dict[str, str] = {}
        self._masked_overlays: dict[str, str] = {}
        #: Disk entries hidden by an overlay (None: the file is not on disk), restored by `clear_overlay`.
        self._displaced: dict[str, FileSymbols | None] = {}
        #: Resolved imports and the file graph, derived from the snapshot.
        self._links = Links(self.root, self._snap)
        self._files_sorted: list[str] | None = None
        self._texts = TextCache(TEXT_CACHE_CHARS)
        self._version = 0
        #: Damage a query found while an index run held the lock (that run rebuilds when it ends).
        self._damaged: IndexCorrupt | None = None
        self._health = IndexHealth("ready", "")
        #: The file watcher, when watching (owned here: started and stopped only by this engine).
        self._watcher: Watcher | None = None
        #: Prompt assembly over this engine, with the caches it keeps between prompts.
        self._prompts = PromptBuilder(self, long_context=self.config.long_context)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Engine({str(self.root)!r})"

    @property
    def version(self) -> int:
        """Bumps on every change of files or overlays: key caches on it."""
        return self._version

    @property
    def index_path(self) -> Path:
        """The SQLite file holding this repository's index."""
        return self._store.path

    def close(self) -> None:
        """Stop watching and close the index (the engine is unusable afterwards)."""
        self.stop_watching()
        self._store.close()

    # --- indexing ------------------------------------------------------------------------------------------

    def index(self, progress: Callable[[int, int], None] | None = None) -> IndexReport:
        """Bring the index up to date with the disk: scan, parse what changed (every core on a cold start),
        drop what disappeared. ``progress(done, total)`` is called as files are parsed."""
        started = time.perf_counter()
        return self._rebuilding_on_damage(lambda: self._index(progress, started), progress, started)

    def _rebuilding_on_damage(self, run: Callable[[], IndexReport], progress: Callable[[int, int], None] | None,
                              started: float) -> IndexReport:
        """``run()`` under the indexing lock; when it (or a query meanwhile) finds the index damaged, rebuild it
        (a damaged index is a cache to rebuild, never an error for the caller). A full disk is an error for the
        caller (`IndexDiskFull`), and the index stays as it was."""
        with self._index_lock:
            try:
                report = run()
            except IndexCorrupt as exc:
                return self._rebuild(exc, progress, started)
            except IndexDiskFull as exc:
                self._health = IndexHealth("disk_full", str(exc))
                raise
            if self._damaged is not None:
                return self._rebuild(self._damaged, progress, started)
            if self._health.state == "disk_full":
                self._health = IndexHealth("ready", "")
            return report

    def _rebuild(self, damage: IndexCorrupt, progress: Callable[[int, int], None] | None,
                 started: float) -> IndexReport:
        """Rebuild the damaged index (under the indexing lock). Across processes one rebuilds: one that waited
        for another's rebuild only brings the rebuilt index up to date."""
        logger.warning("%s", damage)
        self._health = IndexHealth("rebuilding", str(damage))
        with self._store.rebuilding() as ours:
            if ours:
                self._store.reset()
            with self._lock:
                self._snapshot = None
                self._damaged = None
                self._reset_links()
                self._version += 1
            report = self._index(progress, started)
        self._health = IndexHealth("ready", f"rebuilt after damage: {damage}")
        return report

    def health(self) -> IndexHealth:
        """The index's state for servers to report: ``ready``, ``rebuilding`` (damage was found and the index is
        being rebuilt) or ``disk_full`` (the index is kept and answers from what it holds), with a message."""
        if self._health.state == "ready" and self._store.read_only:
            return IndexHealth("disk_full", self._store.read_only)
        return self._health

    def _index(self, progress: Callable[[int, int], None] | None, started: float) -> IndexReport:
        result = scan(self.root, self.config.scan)
        ignored = result.ignored()
        skipped = {reason: len(paths) if isinstance(paths, list | tuple | set) else int(paths)
                   for reason, paths in result.skipped.items()}
        fresh = self._store.get_meta("parser") == parser_fingerprint()
        stored = self._store.stored()
        if not stored and not fresh:  # a first index: name its parser now, so an interrupted run resumes
            self._store.write(meta={"parser": parser_fingerprint()})
        current = {f.path for f in result.files}
        removed = [path for path in stored if path not in current]
        jobs: list[Job] = []
        unchanged: list[str] = []
        for f in result.files:
            job = job_for(f, stored.get(f.path), fresh)
            if job is None:
                unchanged.append(f.path)
            else:
                jobs.append(job)
        parsed, count, gone = self._parse_and_store(jobs, progress)
        if gone:
            skipped["unreadable"] = skipped.get("unreadable", 0) + len(gone)
        self._store.write(removed=removed + gone,
                          meta={"parser": parser_fingerprint(), **self._store.scan_meta(skipped, ignored)})
        snapshot = self._snapshot
        if snapshot is not None:  # files another process deleted since our snapshot was loaded
            removed += [p for p in snapshot.files if p not in current and p not in self._overlays
                        and p not in stored]
        self._apply(parsed, removed + gone, count)
        self._sync(unchanged, stored)
        files, symbols, _ = self._store.totals()
        return IndexReport(files, symbols, time.perf_counter() - started, skipped, count,
                           len(removed) + len(gone), tuple(ignored))

    def update(self, paths: Iterable[str]) -> IndexReport:
        """Re-index only ``paths`` (files created, edited or deleted; a rename is its old and new path).

        Paths the scan would skip (ignored, secret, binary, too large) are dropped from the index; a folder
        or a very long list triggers a full `index`; a build file (``go.mod``, ``tsconfig.json``) makes every
        import resolve again.
        """
        started = time.perf_counter()
        rels: set[str] = set()
        for path in paths:
            rel = self._relpath(path)
            if rel is not None:
                rels.add(rel)
        if any(posixpath.basename(rel) in BUILD_FILES for rel in rels):
            with self._lock:  # module paths or aliases changed: resolve every import again
                self._reset_links()
                self._version += 1
        if not rels:
            files, symbols, _ = self._store.totals()
            return IndexReport(files, symbols, time.perf_counter() - started, {}, 0, 0)
        if len(rels) > UPDATE_MAX_PATHS or any((self.root / rel).is_dir() for rel in rels):
            return self.index()
        return self._rebuilding_on_damage(lambda: self._update(rels, started), None, started)

    def _update(self, rels: set[str], started: float) -> IndexReport:
        stored = self._store.stored(rels)
        jobs: list[Job] = []
        removed: list[str] = []
        unchanged: list[str] = []
        fresh = self._store.get_meta("parser") == parser_fingerprint()
        for rel in sorted(rels):
            found = scan_one(self.root, rel, self.config.scan)
            old = stored.get(rel)
            if isinstance(found, str):
                if old is not None:
                    removed.append(rel)
                elif not (self.root / rel).exists():  # a deleted folder: drop what was under it
                    removed += [p for p in self._snap().files if p.startswith(rel + "/")]
                continue
            job = job_for(found, old, fresh)
            if job is None:
                unchanged.append(found.path)
            else:
                jobs.append(job)
        parsed, count, gone = self._parse_and_store(jobs, None)
        self._store.write(removed=removed + gone)
        self._apply(parsed, removed + gone, count)
        self._sync(unchanged, stored)
        files, symbols, _ = self._store.totals()
        return IndexReport(files, symbols, time.perf_counter() - started, {}, count,
                           len(removed) + len(gone))

    def _sync(self, unchanged: list[str], stored: dict[str, StoredFile]) -> None:
        """Load from the index the unchanged files whose snapshot entry is missing or differs (another process
        indexed them since our snapshot was loaded)."""
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None:
                return
            stale = []
            for path in unchanged:
                entry = self._displaced.get(path) if path in self._overlays else snapshot.files.get(path)
                if entry is None or entry.hash != stored[path].hash:
                    stale.append(path)
            if not stale:
                return
            for f in self._store.load(stale):
                self._put(f.path, loaded_entry(f), disk=True)
            self._version += 1

    def _parse_and_store(self, jobs: list[Job], progress: Callable[[int, int], None] | None,
                         ) -> tuple[list[PackedFile], int, list[str]]:
        """Parse ``jobs`` and store them (`context.index.pool.parse_and_store`): the parsed files (kept only when a
        loaded snapshot must be patched), how many were parsed, and the paths that could not be read."""
        keep = self._snapshot is not None
        workers = max(1, self.config.workers or os.cpu_count() or 1)
        parsed, count, gone = parse_and_store(self._store, str(self.root), jobs, workers, keep, progress,
                                              self.config.scan.max_file_bytes)
        if not keep:
            self._forget_snapshot_loaded_meanwhile()
        return parsed, count, gone

    def _forget_snapshot_loaded_meanwhile(self) -> None:
        """A query during the parse loaded a snapshot from a half-written index, and the parsed files were not
        kept to patch it: drop it, so the next query loads everything that is stored now."""
        with self._lock:
            if self._snapshot is not None:
                self._snapshot = None
                self._displaced.clear()
                self._reset_links()

    # --- the snapshot --------------------------------------------------------------------------------------

    def _snap(self) -> Snapshot:
        """The in-memory snapshot, loaded from the index in one pass on first use."""
        snapshot = self._snapshot
        if snapshot is not None:
            return snapshot
        with self._lock, paused_gc():
            if self._snapshot is None:
                loaded = self._stored_files()
                snapshot = Snapshot((loaded_entry(f) for f in loaded), self._load_references)
                self._snapshot = snapshot
                for path, text in self._overlays.items():
                    self._displaced[path] = snapshot.files.get(path)
                    self._put(path, overlay_entry(path, text, self._displaced[path]))
            return self._snapshot

    def _stored_files(self) -> list[LoadedFile]:
        """Every file of the index, rebuilding it first when it is damaged (found now or by an earlier query).

        A running index holds the indexing lock: then the damage is left to it (it rebuilds when it ends) and
        `IndexCorrupt` tells the caller, rather than an empty index answering as if nothing were indexed.
        """
        damage = self._damaged
        if damage is None:
            try:
                return self._store.load()
            except IndexCorrupt as exc:
                damage = exc
        if not self._index_lock.acquire(blocking=False):
            self._damaged = damage
            self._health = IndexHealth("rebuilding", str(damage))
            raise damage
        try:
            self._rebuild(damage, None, time.perf_counter())
        finally:
            self._index_lock.release()
        return self._store.load()

    def _load_references(self) -> dict[str, bytes]:
        try:
            return self._store.load_references()
        except IndexCorrupt as exc:  # the next query loads the index again, which rebuilds it
            with self._lock:
                self._damaged = exc
                self._snapshot = None
            raise

    def _apply(self, parsed: list[PackedFile], removed: list[str], changed: int) -> None:
        """Patch the snapshot (when loaded) with freshly parsed and removed files; ``changed`` counts the files
        parsed (``parsed`` is empty when no snapshot is loaded)."""
        if not changed and not removed:
            return
        with self._lock:
            self._version += 1
            if self._snapshot is None:
                self._reset_links()
                return
            relink = len(parsed) + len(removed) <= LINKS_PATCH_MAX
            for packed in parsed:
                self._put(packed.path, packed_entry(packed), disk=True, relink=relink)
            for path in removed:
                self._put(path, None, disk=True, relink=relink)
            if not relink:
                self._reset_links()

    def _put(self, path: str, entry: FileSymbols | None, disk: bool = False, relink: bool = True) -> None:
        """Replace (or with None remove) one file's entry, keeping overlays on top and the graph consistent
        (patched here unless ``relink`` is False: the caller then resets it once)."""
        if disk and path in self._overlays:
            self._displaced[path] = entry
            return
        snapshot = self._snapshot
        assert snapshot is not None
        old = snapshot.files.get(path)
        if old is None and entry is None:
            return
        if entry is None:
            snapshot.remove(path)
        else:
            snapshot.put(entry)
        self._files_sorted = None
        self._texts.discard(path)
        if relink:
            self._links.changed(path, old, entry)

    def _reset_links(self) -> None:
        self._links.reset()
        self._files_sorted = None

    # --- overlays ------------------------------------------------------------------------------------------

    def set_overlay(self, path: str, text: str) -> None:
        """Use ``text`` (an unsaved editor buffer) for ``path`` instead of the disk, in every query."""
        rel = self._checked(path)
        with self._lock:
            snapshot = self._snap()
            if rel not in self._overlays:
                self._displaced[rel] = snapshot.files.get(rel)
            elif self._overlays[rel] == text:
                return
            self._overlays[rel] = text
            self._masked_overlays[rel] = mask_secrets(text)
            self._put(rel, overlay_entry(rel, text, self._displaced.get(rel)))
            self._version += 1

    def clear_overlay(self, path: str) -> None:
        """Go back to the disk's content for ``path`` (no-op when it has no overlay)."""
        rel = self._relpath(path)
        with self._lock:
            if rel is None or rel not in self._overlays:
                return
            del self._overlays[rel]
            del self._masked_overlays[rel]
            self._put(rel, self._displaced.pop(rel, None))
            self._version += 1

    # --- paths ---------------------------------------------------------------------------------------------

    def _relpath(self, path: str) -> str | None:
        """``path`` as a relative POSIX path if it is lexically inside the root (absolute paths included)."""
        return relative_path(self.root, path)

    def _checked(self, path: str) -> str:
        """``path`` relative and safe (raises `PathOutsideWorkspace` or `SecretPathRefused` otherwise)."""
        return checked_path(self.root, path)

    def _known(self, path: str) -> tuple[str, FileSymbols | None]:
        """An indexed (or overlaid) file's relative path and entry; raises for anything else."""
        snapshot = self._snap()
        entry = snapshot.files.get(path)
        if entry is not None:
            return path, entry
        rel = self._checked(path)
        entry = snapshot.files.get(rel)
        if entry is None and rel not in self._overlays:
            raise UnknownFile(f"{rel} is not an indexed file of {self.root} (missing, ignored, binary or too large)")
        return rel, entry

    # --- queries -------------------------------------------------------------------------------------------

    def files(self) -> list[str]:
        """Every indexed file (and overlaid new file), sorted."""
        with self._lock:
            if self._files_sorted is None:
                self._files_sorted = sorted(set(self._snap().files) | set(self._overlays))
            return list(self._files_sorted)

    def language(self, path: str) -> str | None:
        """The language of an indexed file (None for an unknown file or one no parser handles)."""
        entry = self._snap().files.get(path)
        if entry is not None:
            return entry.language
        rel = self._relpath(path)
        if rel is None:
            return None
        entry = self._snap().files.get(rel)
        return entry.language if entry else language_for(rel) if rel in self._overlays else None

    def text(self, path: str) -> str:
        """The secret-masked text of a file: its overlay if it has one, else the disk's content."""
        with self._lock:
            rel, _ = self._known(path)
            masked = self._masked_overlays.get(rel)
            if masked is not None:
                return masked
        try:
            stat = os.stat(self.root / rel)
        except OSError as exc:
            raise UnknownFile(f"{rel} no longer exists in {self.root}") from exc
        key = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._texts.get(rel, key)
            if cached is not None:
                return cached
        text = mask_secrets(read_text(self.root, rel, self.config.scan.max_file_bytes))  # UnknownFile: unreadable
        with self._lock:
            self._texts.put(rel, key, text)
        return text

    def search(self, query: str, kind: str | None = None, limit: int = 20) -> list[Definition]:
        """Definitions by name, best first: exact, caseless exact, prefix, camelCase/snake_case-aware fuzzy
        (``getUN`` and ``get_user`` find ``getUserName``), substring; ``Class.method`` matches qualified names."""
        if kind is not None and kind not in DEFINITION_KINDS:
            raise UsageError(f"unknown kind {kind!r}; use one of: {', '.join(DEFINITION_KINDS)}")
        with self._lock:
            return self._snap().search(query, kind, limit)

    def definitions(self, path: str) -> list[Definition]:
        """The definitions of one file, in source order."""
        with self._lock:
            _, entry = self._known(path)
            return list(entry.definitions) if entry else []

    def outline(self, path: str) -> list[OutlineNode]:
        """The definitions of one file nested by containment (methods inside their class, ...)."""
        return outline(self.definitions(path))

    def definitions_named(self, name: str) -> list[Definition]:
        """Definitions whose name (or qualified name) is exactly ``name``, across the repository."""
        with self._lock:
            return self._snap().named(name)

    def references(self, name: str, limit: int = 100) -> list[Reference]:
        """Uses of ``name`` across the repository, by path and position."""
        found: list[Reference] = []
        with self._lock:
            snapshot = self._snap()
            for path in sorted(snapshot.referrers(name)):
                for ref in snapshot.references_of(path):
                    if ref[0] == name:
                        found.append(Reference(ref[0], ref[1], path, ref[2], ref[3]))
                        if len(found) >= limit:
                            return found
        return found

    def references_in(self, path: str) -> list[Reference]:
        """Every use of a name in one file, in source order."""
        with self._lock:
            rel, _ = self._known(path)
            return [Reference(r[0], r[1], rel, r[2], r[3]) for r in self._snap().references_of(rel)]

    def reference_counts(self, path: str) -> dict[str, int]:
        """How often each name is used in one file: `references_in` counted, without building a Reference each."""
        with self._lock:
            rel, _ = self._known(path)
            return self._snap().reference_counts_of(rel)

    def imports(self, path: str) -> list[Import]:
        """The imports of one file, each with ``resolved`` set to the file it brings in when that is known."""
        with self._lock:
            rel, entry = self._known(path)
            if entry is None:
                return []
            targets = self._links.resolve_imports(rel)
            return [replace(imp, resolved=found[0] if found else None)
                    for imp, found in zip(entry.imports, targets, strict=True)]

    def dependencies(self, path: str) -> list[str]:
        """Files this file imports or references, strongest link first."""
        with self._lock:
            rel, _ = self._known(path)
            edges = self._links.graph().edges_from(rel)
            return sorted(edges, key=lambda p: (-edges[p], p))

    def dependents(self, path: str) -> list[str]:
        """Files that import or reference this file, strongest link first."""
        with self._lock:
            rel, _ = self._known(path)
            edges = self._links.graph().edges_to(rel)
            return sorted(edges, key=lambda p: (-edges[p], p))

    def file_graph(self) -> dict[str, dict[str, float]]:
        """Weighted edges file -> files it depends on, for every file. Shared with the engine: do not modify."""
        with self._lock, paused_gc():
            return self._links.graph().all()

    def definition_at(self, path: str, line: int, column: int) -> Definition | None:
        """The definition the identifier at ``line``/``column`` (0-based) of ``path`` names, or None.

        Prefers, in order: the definition written there, one in the same file, one in a file this file
        imports, one in the same folder, one in the same language family; from source code, definitions
        outside tests (a test's fixture or helper often shares the name it tests); methods and fields after a
        dot; then by kind and path.
        """
        lines = self.text(path).split("\n")
        if not 0 <= line < len(lines):
            return None
        source = lines[line]
        found = identifier_at(source, column)
        if found is None:
            return None
        name, start = found
        with self._lock:
            rel, entry = self._known(path)
            for d in entry.definitions if entry else []:
                if d.line == line and d.column == start and d.name == name:
                    return d
            candidates = [d for d in self._snap().named(name) if d.name == name]
            if not candidates:
                return None
            files = self._snap().files
            return best_definition(
                candidates, rel, entry.language if entry else language_for(rel) or "",
                attribute=start > 0 and source[start - 1] == ".",
                imported={target for targets in self._links.resolve_imports(rel) for target in targets},
                language_of=lambda p: files[p].language,
            )

    def stats(self) -> IndexStats:
        """Languages, files, symbols, references, skipped files by reason, and the index's size on disk."""
        files, symbols, references = self._store.totals()
        return IndexStats(
            languages=self._store.languages(),
            files=files,
            symbols=symbols,
            references=references,
            skipped=self._store.skipped(),
            index_bytes=self._store.size_bytes(),
            last_indexed=float(self._store.get_meta("last_indexed", "0") or 0),
            index_path=str(self._store.path),
            ignored=ignored_from_json(self._store.get_meta("ignored", "[]")),
        )

    # --- watching ------------------------------------------------------------------------------------------

    def start_watching(self, on_update: Callable[[IndexReport], None] | None = None) -> None:
        """Keep the index fresh from file-system events in a background thread until `stop_watching` or `close`
        (no-op when already watching); ``on_update`` is called (from that thread) with each update's report."""
        if self._watcher is not None and self._watcher.running:
            return
        self._watcher = Watcher(self, on_update)
        self._watcher.__enter__()

    def stop_watching(self) -> None:
        """Stop the file watcher and wait for its thread (no-op when not watching)."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    @property
    def watching(self) -> bool:
        """Whether a file watcher keeps this engine fresh."""
        return self._watcher is not None and self._watcher.running

    @contextlib.contextmanager
    def watch(self, on_update: Callable[[IndexReport], None] | None = None) -> Iterator[None]:
        """Watch (see `start_watching`) while the context is open; a watcher already running before is left
        running after."""
        started = not self.watching
        self.start_watching(on_update)
        try:
            yield
        finally:
            if started:
                self.stop_watching()

    # --- prompts (delegating to context.prompt.build) ------------------------------------------------------

    def fim_prompt(self, path: str, line: int, character: int, *, budget: int = 8192, buffer: str | None = None,
                   recent: Sequence[str] = ()) -> Prompt:
        """The repository-level FIM prompt for a cursor (0-based ``line``/``character``) within ``budget``
        tokens; ``buffer`` is the unsaved text of ``path``, ``recent`` the recently edited files."""
        with self._lock:
            if buffer is not None and self._overlays.get(path) == buffer:  # a server's usual call: masked already
                buffer = None
        return self._prompts.fim_prompt(path, line, character, budget=budget, buffer=buffer, recent=recent)

    def prepare(self, path: str | None = None, *, budget: int = 8192, recent: Sequence[str] = ()) -> None:
        """Get ready for prompts ahead of the user's first request; prompts are the same with or without it.

        With ``path``, a file just opened (its overlay set; a server calls it when a document opens): read, mask
        and count the files its context draws from, so the first prompt there costs what the next ones do.
        Without, what the first prompt of a new process builds for the whole repository: the file graph, the
        qualified-name index and the tokenizer (a server calls it once its first index is done)."""
        if path is not None:
            self._prompts.prepare(path, budget=budget, recent=recent)
            return
        with self._lock, paused_gc():
            self._links.graph().all()
            _ = self._snap().by_qualname
        tokens.count("def")

    def chat_context(self, query: str, *, focus: Sequence[str] = (), budget: int = 16384) -> Prompt:
        """Repository context for a task described in words, as Markdown (one fenced block per file)."""
        return self._prompts.chat_context(query, focus=focus, budget=budget)

    def repo_map(self, *, focus: Sequence[str] = (), budget: int = 4096) -> str:
        """The ranked repository map (definitions' headers of the most important files) within ``budget``."""
        return self._prompts.repo_map(focus=focus, budget=budget)


__all__ = [
    "Engine", "EngineConfig", "IndexReport", "IndexStats", "OutlineNode", "default_cache_dir", "default_scan_config",
    "iter_outline",
]
