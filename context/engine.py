"""The engine: the one API the CLI, the LSP server and the MCP server use to know a repository.

`Engine` ties the pieces together: `context.index.scan` finds the files, `context.index.parse` extracts their symbols (in a
process pool when there are many), `context.index.store` keeps them on disk, `context.index.snapshot` answers queries from
memory, `context.index.resolve` and `context.index.graph` link files to each other. It keeps the index fresh — `update`
for changed paths, `watch` for a long-running server, overlays for unsaved editor buffers — and bumps
`Engine.version` on every change so callers can key caches on it.

Every path going in is relative to the root (absolute paths inside the root are accepted too) and checked by
`scan.resolve_inside`; every path coming out is relative POSIX; every text coming out is secret-masked.
Queries are thread-safe (one lock), so a watcher thread can update while a server thread reads.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.resources
import logging
import multiprocessing
import os
import posixpath
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import TYPE_CHECKING, Self

import platformdirs

from context.errors import IndexDiskFull, UnknownFile, UsageError
from context.index.files import FileRefused, read_file
from context.index.files import read_text as read_file_text
from context.index.graph import FileGraph, language_family
from context.index.languages import language_for
from context.index.parse import parse_source, preload
from context.index.resolve import BUILD_FILES, FileFacts, Resolver, TsConfig, go_module_path, ts_config
from context.index.scan import ScanConfig, ScannedFile, read_text, resolve_inside, scan, scan_one
from context.index.snapshot import KIND_IMPORTANCE, FileSymbols, Snapshot, is_test_path, paused_gc
from context.index.store import (
    SCHEMA_VERSION,
    IndexCorrupt,
    IndexHealth,
    IndexStore,
    LoadedFile,
    PackedFile,
    StoredFile,
    content_hash,
    index_path,
    pack,
    unpack_names,
)
from context.index.symbols import DEFINITION_KINDS, Definition, Import, ParsedFile, Reference
from context.index.workers import end_with_parent
from context.secrets import mask_secrets

if TYPE_CHECKING:
    from context.prompt.build import Prompt

logger = logging.getLogger(__name__)

#: Below this many files to parse, parsing happens in this process (a pool costs more than it saves).
POOL_MIN_FILES = 200
#: Files handed to a worker at a time.
POOL_CHUNK_FILES = 48
#: Parsed files written to the index per transaction (bounds how long another process waits for the lock).
WRITE_BATCH_FILES = 500
#: Characters of masked text kept in memory for `Engine.text`. Bounded by size, not by file count: one 8K prompt
#: reads ~80 files, and re-reading and re-masking evicted files doubled its assembly time on a 5,000-file repo.
TEXT_CACHE_CHARS = 128 * 1024 * 1024
#: More paths than this in one `update` call are handled as a full `index` (a branch switch, a big checkout).
UPDATE_MAX_PATHS = 2000

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


class _TextCache:
    """Least-recently-used masked file texts, bounded by their total size in characters."""

    def __init__(self, max_chars: int) -> None:
        self._max_chars = max_chars
        self._chars = 0
        self._entries: OrderedDict[str, tuple[tuple[int, int], str]] = OrderedDict()

    def get(self, path: str, key: tuple[int, int]) -> str | None:
        """The cached text of ``path`` if it was read when the file had this (mtime, size) ``key``."""
        entry = self._entries.get(path)
        if entry is None or entry[0] != key:
            return None
        self._entries.move_to_end(path)
        return entry[1]

    def put(self, path: str, key: tuple[int, int], text: str) -> None:
        """Remember ``text`` for ``path`` at ``key``, evicting the least recently used texts beyond the bound (the
        newest always stays, however big)."""
        self.discard(path)
        self._entries[path] = (key, text)
        self._chars += len(text)
        while self._chars > self._max_chars and len(self._entries) > 1:
            self._chars -= len(self._entries.popitem(last=False)[1][1])

    def discard(self, path: str) -> None:
        """Forget the text of ``path`` (no-op when none is cached)."""
        entry = self._entries.pop(path, None)
        if entry is not None:
            self._chars -= len(entry[1])


def default_cache_dir() -> Path:
    """``$QWEN_CONTEXT_CACHE_DIR``, else the user's cache folder for qwen-context."""
    configured = os.environ.get("QWEN_CONTEXT_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_cache_dir("qwen-context"))


def default_scan_config() -> ScanConfig:
    """Scan limits with ``$QWEN_CONTEXT_MAX_FILE_BYTES`` as the size cap when set, so the CLI and both servers
    agree on which files a repository's shared index holds (a bad value is logged and ignored)."""
    configured = os.environ.get("QWEN_CONTEXT_MAX_FILE_BYTES", "").strip()
    if not configured:
        return ScanConfig()
    try:
        max_file_bytes = int(configured)
    except ValueError:
        max_file_bytes = 0
    if max_file_bytes <= 0:
        logger.warning("QWEN_CONTEXT_MAX_FILE_BYTES=%r is not a positive number of bytes; using the default",
                       configured)
        return ScanConfig()
    return ScanConfig(max_file_bytes=max_file_bytes)


@dataclass(frozen=True)
class EngineConfig:
    """How an engine indexes: where its cache lives, what scanning skips, how many processes parse."""

    #: Folder holding the indexes of all repositories (None: `default_cache_dir`).
    cache_dir: Path | None = None
    #: What scanning skips (default: `default_scan_config`).
    scan: ScanConfig = field(default_factory=default_scan_config)
    #: Parsing processes for a cold index (None: one per core).
    workers: int | None = None
    #: Allow token budgets beyond 256K (YaRN-extended contexts), used by prompt assembly.
    long_context: bool = False


@dataclass(frozen=True)
class IndexReport:
    """What an `Engine.index` or `Engine.update` call did."""

    #: Files in the index afterwards, and definitions in them.
    files: int
    symbols: int
    seconds: float
    #: Files the scan skipped, by reason (empty for `Engine.update`).
    skipped: dict[str, int]
    #: Files read and parsed (0 when nothing changed), and files dropped from the index.
    parsed: int
    removed: int


@dataclass(frozen=True)
class IndexStats:
    """The index at a glance (``qwen-context stats``)."""

    languages: dict[str, int]
    files: int
    symbols: int
    references: int
    skipped: dict[str, int]
    index_bytes: int
    #: Unix time of the last full index (0.0 when never indexed).
    last_indexed: float
    index_path: str = ""


@dataclass(frozen=True)
class OutlineNode:
    """A definition of a file with the definitions nested inside it."""

    definition: Definition
    children: list[OutlineNode] = field(default_factory=list)


# --- parsing (runs in worker processes) --------------------------------------------------------------------

#: A file to parse: path, language, the hash it had when last parsed (None: parse unconditionally), and its
#: size as scanned (to hand out big files first).
_Job = tuple[str, str, str | None, int]
#: What became of a job: a packed parsed file, or (path, size, mtime_ns) when the bytes did not change, or the
#: path when the file could not be read.
_Outcome = PackedFile | tuple[str, int, int] | str


def _job(found: ScannedFile, old: StoredFile | None, fresh: bool) -> _Job | None:
    """The parse job a scanned file needs, or None when the index holds it as it is (same size and mtime).

    A file new to the index, or indexed by another parser version or as another language, is parsed
    unconditionally; one whose size or mtime moved is parsed only if its content hash changed.
    """
    if old is None or not fresh or old.language != found.language:
        return (found.path, found.language, None, found.size)
    if old.size != found.size or old.mtime_ns != found.mtime_ns:
        return (found.path, found.language, old.hash, found.size)
    return None


def _mask_definitions(parsed: ParsedFile) -> ParsedFile:
    """Mask secrets in signatures, docs and imported modules (the only source text the index keeps: an import of
    ``https://user:pw@host/x.js`` holds a password), in one `mask_secrets` pass."""
    texts = ([d.signature for d in parsed.definitions] + [d.doc for d in parsed.definitions]
             + [i.module for i in parsed.imports])
    if not texts:
        return parsed
    joined = "\n".join(texts)
    masked = mask_secrets(joined)
    if masked == joined:
        return parsed
    parts = masked.split("\n")
    if len(parts) != len(texts) or any("\n" in t for t in texts):
        parts = [mask_secrets(t) for t in texts]
    n = len(parsed.definitions)
    parsed.definitions = [
        d if (d.signature, d.doc) == (parts[i], parts[n + i]) else replace(d, signature=parts[i], doc=parts[n + i])
        for i, d in enumerate(parsed.definitions)
    ]
    parsed.imports = [i if i.module == module else replace(i, module=module)
                      for i, module in zip(parsed.imports, parts[2 * n:], strict=True)]
    return parsed


def _read(root: str, path: str, max_bytes: int) -> tuple[bytes, os.stat_result] | None:
    """A file's bytes and its stat, taken from one open descriptor so they agree (`read_file`: never a symlink
    out of the root, a FIFO or a device); None when it cannot be read."""
    try:
        return read_file(root, path, max_bytes)
    except FileRefused as exc:
        logger.debug("%s", exc)
        return None


def _parse_job(root: str, job: _Job, max_bytes: int) -> _Outcome:
    """Parse one file, unless its content hash is the one it was last parsed with (then only its new size and
    mtime come back, for the fast pre-check of the next scan)."""
    path, language, previous, _ = job
    read = _read(root, path, max_bytes)
    if read is None:
        return path
    data, stat = read
    digest = content_hash(data)
    if digest == previous:
        return (path, stat.st_size, stat.st_mtime_ns)
    try:
        parsed = _mask_definitions(parse_source(path, data, language))
    except Exception:  # a parser bug must cost one file's symbols, not the whole index
        logger.warning("cannot parse %s; indexing it without symbols", path, exc_info=True)
        parsed = ParsedFile(path, language, has_errors=True)
    return pack(parsed, stat.st_size, stat.st_mtime_ns, digest)


def _unparsed(root: str, job: _Job, max_bytes: int) -> _Outcome:
    """A file recorded without symbols (its parse failed), so it is not tried again until it changes."""
    path, language, _, _ = job
    read = _read(root, path, max_bytes)
    if read is None:
        return path
    data, stat = read
    return pack(ParsedFile(path, language, has_errors=True), stat.st_size, stat.st_mtime_ns, content_hash(data))


def _parse_chunk(root: str, jobs: list[_Job], max_bytes: int) -> list[_Outcome]:
    """Worker entry point: parse a chunk of files of the repository at ``root`` (none over ``max_bytes``)."""
    return [_parse_job(root, job, max_bytes) for job in jobs]


def _entry(packed: PackedFile) -> FileSymbols:
    """A snapshot entry from a freshly packed file."""
    return FileSymbols(packed.path, packed.language, packed.hash, packed.package,
                       names=unpack_names(packed.names, packed.qualnames), defs_blob=packed.defs,
                       imports_blob=packed.imports, refs_blob=packed.refs)


def _loaded_entry(f: LoadedFile) -> FileSymbols:
    """A snapshot entry from a row loaded from the index (references come later, all at once)."""
    return FileSymbols(f.path, f.language, f.hash, f.package, names=f.names, defs_blob=f.defs,
                       imports_blob=f.imports)


@functools.cache
def parser_fingerprint() -> str:
    """Identity of the code that produced stored symbols: a changed parser or query re-parses every file."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(str(SCHEMA_VERSION).encode())
    for name in ("index/parse.py", "index/languages.py", "index/symbols.py", "secrets.py", "secret_rules.toml"):
        digest.update(importlib.resources.files("context").joinpath(name).read_bytes())
    for query in sorted(importlib.resources.files("context.index.queries").iterdir(), key=lambda q: q.name):
        if query.name.endswith(".scm"):
            digest.update(query.name.encode() + query.read_bytes())
    return digest.hexdigest()


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
        self._resolver: Resolver | None = None
        self._resolved: dict[str, list[list[str]]] = {}
        self._graph: FileGraph | None = None
        self._files_sorted: list[str] | None = None
        self._texts = _TextCache(TEXT_CACHE_CHARS)
        self._version = 0
        self._watchers: list[contextlib.AbstractContextManager[object]] = []
        #: Damage a query found while an index run held the lock (that run rebuilds when it ends).
        self._damaged: IndexCorrupt | None = None
        self._health = IndexHealth("ready", "")

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
        """Stop watchers and close the index (the engine is unusable afterwards)."""
        for watcher in reversed(list(self._watchers)):  # each removes itself
            watcher.__exit__(None, None, None)
        self._watchers.clear()
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
        skipped = {reason: len(paths) if isinstance(paths, list | tuple | set) else int(paths)
                   for reason, paths in result.skipped.items()}
        fresh = self._store.get_meta("parser") == parser_fingerprint()
        stored = self._store.stored()
        current = {f.path for f in result.files}
        removed = [path for path in stored if path not in current]
        jobs: list[_Job] = []
        unchanged: list[str] = []
        for f in result.files:
            job = _job(f, stored.get(f.path), fresh)
            if job is None:
                unchanged.append(f.path)
            else:
                jobs.append(job)
        parsed, count, gone = self._parse_and_store(jobs, progress)
        if gone:
            skipped["unreadable"] = skipped.get("unreadable", 0) + len(gone)
        self._store.write(removed=removed + gone,
                          meta={"parser": parser_fingerprint(), **self._store.scan_meta(skipped)})
        snapshot = self._snapshot
        if snapshot is not None:  # files another process deleted since our snapshot was loaded
            removed += [p for p in snapshot.files if p not in current and p not in self._overlays
                        and p not in stored]
        self._apply(parsed, removed + gone, count)
        self._sync(unchanged, stored)
        files, symbols, _ = self._store.totals()
        return IndexReport(files, symbols, time.perf_counter() - started, skipped, count,
                           len(removed) + len(gone))

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
        jobs: list[_Job] = []
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
            job = _job(found, old, fresh)
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
                self._put(f.path, _loaded_entry(f), disk=True)
            self._version += 1

    def _parse_and_store(self, jobs: list[_Job], progress: Callable[[int, int], None] | None,
                         ) -> tuple[list[PackedFile], int, list[str]]:
        """Parse ``jobs`` (in a pool when there are many), writing to the index in batches.

        Returns the parsed files (kept only when a loaded snapshot must be patched), how many were parsed, and
        the paths that could not be read.
        """
        keep = self._snapshot is not None
        parsed: list[PackedFile] = []
        gone: list[str] = []
        pending: list[PackedFile] = []
        touched: list[tuple[str, int, int]] = []
        done = count = 0

        def collect(outcomes: list[_Outcome]) -> None:
            nonlocal done, count, pending, touched
            for outcome in outcomes:
                if isinstance(outcome, PackedFile):
                    pending.append(outcome)
                    count += 1
                    if keep:
                        parsed.append(outcome)
                elif isinstance(outcome, tuple):
                    touched.append(outcome)
                else:
                    gone.append(outcome)
            done += len(outcomes)
            if len(pending) >= WRITE_BATCH_FILES:
                self._store.write(pending, touched)
                pending, touched = [], []
            if progress is not None:
                progress(done, len(jobs))

        root = str(self.root)
        if len(jobs) < POOL_MIN_FILES or self._workers() < 2:
            for start in range(0, len(jobs), POOL_CHUNK_FILES):
                collect(_parse_chunk(root, jobs[start:start + POOL_CHUNK_FILES], self.config.scan.max_file_bytes))
        else:
            self._parse_in_pool(root, jobs, collect)
        if pending or touched:
            self._store.write(pending, touched)
        if not keep:
            self._forget_snapshot_loaded_meanwhile()
        if progress is not None and not jobs:
            progress(0, 0)
        return parsed, count, gone

    def _forget_snapshot_loaded_meanwhile(self) -> None:
        """A query during the parse loaded a snapshot from a half-written index, and the parsed files were not
        kept to patch it: drop it, so the next query loads everything that is stored now."""
        with self._lock:
            if self._snapshot is not None:
                self._snapshot = None
                self._displaced.clear()
                self._reset_links()

    def _workers(self) -> int:
        return max(1, self.config.workers or os.cpu_count() or 1)

    def _parse_in_pool(self, root: str, jobs: list[_Job], collect: Callable[[list[_Outcome]], None]) -> None:
        # Big files first so the last chunks are small and the workers finish together.
        ordered = sorted(jobs, key=lambda job: -job[3])
        chunks = [ordered[i:i + POOL_CHUNK_FILES] for i in range(0, len(ordered), POOL_CHUNK_FILES)]
        # fork is fastest (workers inherit the loaded parsers) but only safe while no other thread could hold a
        # lock (a server indexes from a background thread): then a fork server, elsewhere the platform default.
        if sys.platform == "linux":
            method: str | None = "fork" if threading.active_count() == 1 else "forkserver"
        else:
            method = None
        if method == "fork":  # compile the queries once, here, rather than in every worker
            preload({job[1] for job in jobs})
        context = multiprocessing.get_context(method)
        chunks.reverse()  # pop() from the end hands out the biggest files first
        in_flight = 2 * self._workers()  # a little queued work per worker
        while chunks:
            chunks = self._run_pool(context, root, chunks, collect, in_flight)
            in_flight = 1  # after a worker died: one file at a time, to find the one that kills it

    def _run_pool(self, context: BaseContext, root: str, chunks: list[list[_Job]],
                  collect: Callable[[list[_Outcome]], None], in_flight: int) -> list[list[_Job]]:
        """Parse ``chunks`` (taken from the end) in one pool. When a worker dies (out of memory, a crash in
        native code) returns what is left to retry, the chunks it may have been parsing split into single
        files; a single file parsed alone when its worker died is indexed without symbols."""
        running: dict[Future[list[_Outcome]], list[_Job]] = {}
        try:
            with ProcessPoolExecutor(max_workers=self._workers(), mp_context=context, initializer=end_with_parent,
                                     initargs=(os.getpid(),)) as pool:
                while chunks or running:
                    while chunks and len(running) < in_flight:
                        chunk = chunks.pop()
                        running[pool.submit(_parse_chunk, root, chunk, self.config.scan.max_file_bytes)] = chunk
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        outcomes = future.result()
                        del running[future]
                        collect(outcomes)
        except BrokenProcessPool:
            retry = list(chunks)
            for chunk in running.values():
                if len(chunk) == 1 and in_flight == 1:
                    logger.warning("a parsing process died on %s; indexing it without symbols", chunk[0][0])
                    collect([_unparsed(root, chunk[0], self.config.scan.max_file_bytes)])
                else:
                    retry += [[job] for job in chunk]
            return retry
        return []

    # --- the snapshot --------------------------------------------------------------------------------------

    def _snap(self) -> Snapshot:
        """The in-memory snapshot, loaded from the index in one pass on first use."""
        snapshot = self._snapshot
        if snapshot is not None:
            return snapshot
        with self._lock, paused_gc():
            if self._snapshot is None:
                loaded = self._stored_files()
                snapshot = Snapshot((_loaded_entry(f) for f in loaded), self._load_references)
                self._snapshot = snapshot
                for path, text in self._overlays.items():
                    self._displaced[path] = snapshot.files.get(path)
                    self._put(path, self._overlay_entry(path, text, self._displaced[path]))
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
            for packed in parsed:
                self._put(packed.path, _entry(packed), disk=True)
            for path in removed:
                self._put(path, None, disk=True)

    def _put(self, path: str, entry: FileSymbols | None, disk: bool = False) -> None:
        """Replace (or with None remove) one file's entry, keeping overlays on top and the graph consistent."""
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
        self._resolved.pop(path, None)
        stale = {path}
        if old is None or entry is None or old.package != entry.package:
            # created, deleted or moved to another package: imports elsewhere may resolve differently
            self._resolver = None
            stale |= self._importers(path)
            for importer in stale:
                self._resolved.pop(importer, None)
        if self._graph is not None:
            old_names = {name for name, _ in old.names()} if old else set()
            new_names = {name for name, _ in entry.names()} if entry else set()
            self._graph.invalidate(stale, old_names ^ new_names)

    def _importers(self, path: str) -> set[str]:
        """Files whose imports resolve, or might now resolve, to ``path``: those resolved to it, and those
        whose import names its stem or folder (cheap to over-approximate: only their edges get recomputed)."""
        assert self._snapshot is not None
        found = {p for p, targets in self._resolved.items() if any(path in t for t in targets)}
        folder, base = posixpath.split(path)
        hints = {base.split(".", 1)[0], posixpath.basename(folder)} - {""}
        for p, entry in self._snapshot.files.items():
            for imp in entry.imports:
                if any(hint in imp.module or hint in imp.names for hint in hints):
                    found.add(p)
                    break
        return found

    def _reset_links(self) -> None:
        self._resolver = None
        self._resolved.clear()
        self._graph = None
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
            self._put(rel, self._overlay_entry(rel, text, self._displaced.get(rel)))
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

    def _overlay_entry(self, path: str, text: str, disk: FileSymbols | None) -> FileSymbols | None:
        """The symbols of an unsaved buffer; the disk's entry when the buffer holds the same bytes (an editor
        opening a file sends its whole text: parsing it again would only repeat the index's work)."""
        language = language_for(path)
        if language is None:
            return None
        data = text.encode("utf-8", "surrogatepass")
        if disk is not None and disk.hash == content_hash(data):
            return disk
        parsed = _mask_definitions(parse_source(path, data, language))
        return FileSymbols(path, language, content_hash(data), parsed.package, definitions=parsed.definitions,
                           imports=parsed.imports,
                           references=[(r.name, r.kind, r.line, r.column) for r in parsed.references])

    # --- paths ---------------------------------------------------------------------------------------------

    def _relpath(self, path: str) -> str | None:
        """``path`` as a relative POSIX path if it is lexically inside the root (absolute paths included)."""
        if os.path.isabs(path):
            try:
                path = Path(path).relative_to(self.root).as_posix()
            except ValueError:
                try:
                    path = Path(path).resolve().relative_to(self.root).as_posix()
                except (ValueError, OSError):
                    return None
        rel = posixpath.normpath(path.replace(os.sep, "/")) if path else path
        if not rel or rel == "." or rel.startswith("../") or rel == "..":
            return None
        return rel

    def _checked(self, path: str) -> str:
        """``path`` relative and safe (raises `PathOutsideWorkspace` or `SecretPathRefused` otherwise)."""
        rel = self._relpath(path)
        resolve_inside(self.root, rel if rel is not None else path)
        if rel is None:  # inside the root but no file in it: the root itself (".", "src/..")
            raise UnknownFile(f"{path!r} is the workspace folder, not a file: give a file path relative to it, "
                              "e.g. src/app.py")
        return rel

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
        nodes: list[OutlineNode] = []
        by_qualname: dict[str, OutlineNode] = {}
        for d in self.definitions(path):
            node = OutlineNode(d)
            parent = by_qualname.get(d.parent) if d.parent else None
            (parent.children if parent is not None else nodes).append(node)
            by_qualname[d.qualname] = node
        return nodes

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
            targets = self._resolve_imports(rel)
            return [replace(imp, resolved=found[0] if found else None)
                    for imp, found in zip(entry.imports, targets, strict=True)]

    def dependencies(self, path: str) -> list[str]:
        """Files this file imports or references, strongest link first."""
        with self._lock:
            rel, _ = self._known(path)
            edges = self._file_graph().edges_from(rel)
            return sorted(edges, key=lambda p: (-edges[p], p))

    def dependents(self, path: str) -> list[str]:
        """Files that import or reference this file, strongest link first."""
        with self._lock:
            rel, _ = self._known(path)
            edges = self._file_graph().edges_to(rel)
            return sorted(edges, key=lambda p: (-edges[p], p))

    def file_graph(self) -> dict[str, dict[str, float]]:
        """Weighted edges file -> files it depends on, for every file. Shared with the engine: do not modify."""
        with self._lock, paused_gc():
            return self._file_graph().all()

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
        found = _identifier_at(source, column)
        if found is None:
            return None
        name, start = found
        with self._lock:
            rel, entry = self._known(path)
            local = entry.definitions if entry else []
            for d in local:
                if d.line == line and d.column == start and d.name == name:
                    return d
            candidates = [d for d in self._snap().named(name) if d.name == name]
            if not candidates:
                return None
            attribute = start > 0 and source[start - 1] == "."
            imported = {target for targets in self._resolve_imports(rel) for target in targets}
            folder = posixpath.dirname(rel)
            files = self._snap().files
            family = language_family(entry.language if entry else language_for(rel) or "")

            from_source = not is_test_path(rel)

            def rank(d: Definition) -> tuple[int, bool, int, int, str, int]:
                if d.path == rel:
                    place = 0
                elif d.path in imported:
                    place = 1
                elif language_family(files[d.path].language) != family:
                    place = 4
                else:
                    place = 2 if posixpath.dirname(d.path) == folder else 3
                member = 0 if (d.kind in ("method", "field")) == attribute else 1
                return (place, from_source and is_test_path(d.path), member, KIND_IMPORTANCE.get(d.kind, 9), d.path,
                        d.line)

            return min(candidates, key=rank)

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
        )

    # --- links between files -------------------------------------------------------------------------------

    def _file_graph(self) -> FileGraph:
        if self._graph is None:
            self._graph = FileGraph(self._snap(), self._resolve_imports)
        return self._graph

    def _resolve_imports(self, path: str) -> list[list[str]]:
        """For each import of ``path``, the files it brings in."""
        found = self._resolved.get(path)
        if found is None:
            entry = self._snap().files.get(path)
            if entry is None:
                return []
            resolver = self._get_resolver()
            found = [resolver.resolve(imp, entry.language) for imp in entry.imports]
            self._resolved[path] = found
        return found

    def _get_resolver(self) -> Resolver:
        if self._resolver is None:
            files = self._snap().files
            facts = [FileFacts(p, e.language, e.package) for p, e in files.items()]
            go_modules: dict[str, str] = {}
            for folder, text in self._project_files(files, ("go",), ("go.mod",)):
                module = go_module_path(text)
                if module:
                    go_modules[folder] = module
            configs: dict[str, TsConfig] = {}
            for folder, text in self._project_files(files, ("javascript", "typescript", "tsx"),
                                                    ("tsconfig.json", "jsconfig.json")):
                config = ts_config(text)
                if config is not None:
                    configs.setdefault(folder, config)
            self._resolver = Resolver(facts, go_modules, configs)
        return self._resolver

    def _project_files(self, files: dict[str, FileSymbols], languages: tuple[str, ...],
                       names: tuple[str, ...]) -> Iterator[tuple[str, str]]:
        """(folder, text) of the build files called ``names`` in the folders holding files of ``languages`` or
        above them (``go.mod``, ``tsconfig.json``: not indexed themselves; read only to resolve imports)."""
        folders = {posixpath.dirname(p) for p, e in files.items() if e.language in languages}
        candidates: set[str] = set()
        for folder in folders:
            while folder not in candidates:
                candidates.add(folder)
                if not folder:
                    break
                folder = posixpath.dirname(folder)
        for folder in sorted(candidates):
            for name in names:
                try:
                    text = read_file_text(self.root, posixpath.join(folder, name), self.config.scan.max_file_bytes)
                except FileRefused:
                    continue
                yield folder, text

    # --- watching ------------------------------------------------------------------------------------------

    def watch(self, on_update: Callable[[IndexReport], None] | None = None,
              ) -> contextlib.AbstractContextManager[object]:
        """Keep the index fresh from file-system events in a background thread while the context is open;
        ``on_update`` is called (from that thread) with the report of each update."""
        from context.index.watch import Watcher

        watcher = Watcher(self, on_update)
        self._watchers.append(watcher)
        return watcher

    def _forget_watcher(self, watcher: contextlib.AbstractContextManager[object]) -> None:
        if watcher in self._watchers:
            self._watchers.remove(watcher)

    # --- prompts (delegating to context.prompt.build; keep these last) -------------------------------------------

    def fim_prompt(self, path: str, line: int, character: int, *, budget: int = 8192, buffer: str | None = None,
                   recent: Sequence[str] = ()) -> Prompt:
        """The repository-level FIM prompt for a cursor (0-based ``line``/``character``) within ``budget``
        tokens; ``buffer`` is the unsaved text of ``path``, ``recent`` the recently edited files."""
        from context.prompt.build import build_fim_prompt

        return build_fim_prompt(self, path, line, character, budget=budget, buffer=buffer, recent=recent)

    def chat_context(self, query: str, *, focus: Sequence[str] = (), budget: int = 16384) -> Prompt:
        """Repository context for a task described in words, as Markdown (one fenced block per file)."""
        from context.prompt.build import build_chat_context

        return build_chat_context(self, query, focus=focus, budget=budget)

    def repo_map(self, *, focus: Sequence[str] = (), budget: int = 4096) -> str:
        """The ranked repository map (definitions' headers of the most important files) within ``budget``."""
        from context.prompt.build import build_repo_map

        return build_repo_map(self, focus=focus, budget=budget)


def _identifier_at(source: str, column: int) -> tuple[str, int] | None:
    """The identifier of the line ``source`` touching ``column`` (a cursor just after it counts) and its start."""
    for match in _IDENTIFIER.finditer(source):
        if match.start() <= column <= match.end():
            return match.group(), match.start()
    return None


def iter_outline(nodes: Iterable[OutlineNode], depth: int = 0) -> Iterator[tuple[int, Definition]]:
    """Walk an outline depth-first, yielding ``(depth, definition)``."""
    for node in nodes:
        yield depth, node.definition
        yield from iter_outline(node.children, depth + 1)


__all__ = [
    "Engine", "EngineConfig", "IndexReport", "IndexStats", "OutlineNode", "default_cache_dir", "default_scan_config",
    "iter_outline",
]
