"""The on-disk index: one SQLite file per repository that remembers what every file defines, uses and imports.

One row per file, keyed by its relative path, holding the content hash of its bytes (the identity of what was
parsed), its size and mtime (a fast pre-check so an unchanged file is never even read), the names of its
definitions as text (all start-up needs for the name index), and three packed blobs — definitions, references,
imports. The whole file's symbols are written and read as one unit, so storing a file is one row write and
loading a repository is one table scan. Signatures and docs are stored secret-masked.

The file lives outside the repository (``<cache>/<sha1(root)[:16]>/index.sqlite``) in WAL mode with a busy
timeout, so the LSP and MCP servers of one user can read and write it at the same time. ``PRAGMA user_version``
holds `SCHEMA_VERSION`; a file that is corrupt, truncated or of another version is moved aside and rebuilt with
a warning — an index is a cache, so losing it only costs a re-index.

Faults are told apart from damage. A full disk (``SQLITE_FULL``, ``ENOSPC``, and the ``disk I/O error`` and ``cannot rollback``
that follow it while the disk is full) is `IndexDiskFull`, which keeps the index as it is: a failed write rolls
back, and when even opening needs space, the file is opened read-only. Busy, locked, read-only or forbidden files
are `IndexUnavailable`; other SQLite errors and unreadable blobs are damage (`IndexCorrupt`), which rebuilds.
One process at a time rebuilds a damaged index (`IndexStore.rebuilding`, a lock file beside it); the others see
that the file was replaced and reopen it once the rebuild is done.

Long on purpose: opening, creating, repairing and writing one SQLite file under concurrency and a full disk are
one set of rules about one file; split apart, each piece would need the others' locks and error codes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import pickle
import sqlite3
import threading
import time
from array import array
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from context.errors import IndexDiskFull, IndexUnavailable
from context.index.reports import IgnoredBy, ignored_to_json
from context.index.symbols import REFERENCE_KINDS, Definition, Import, ParsedFile

logger = logging.getLogger(__name__)

#: Bump whenever the tables or the packed tuple layouts change; older files are then rebuilt.
SCHEMA_VERSION = 2

#: How long a writer waits for another process's write transaction before giving up (milliseconds).
BUSY_TIMEOUT_MS = 30_000

#: Packed layouts (the path is implicit: it is the row's key). Definitions and imports are pickled lists of
#: tuples; references, the bulk of an index, are stored by column — names joined by newlines, kinds as bytes,
#: lines and columns as uint32 arrays — so the names alone (all the file graph needs) unpack in one split.
DefTuple = tuple[str, str, str, int, int, int, str, str, str]  # name kind qualname line column end_line sig doc parent
RefTuple = tuple[str, str, int, int]  # name kind line column
ImportTuple = tuple[str, tuple[str, ...], int]  # module names line
_REF_KIND_CODES = {kind: code for code, kind in enumerate(REFERENCE_KINDS)}
_OTHER_KIND = len(REFERENCE_KINDS) - 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path      TEXT PRIMARY KEY,
    language  TEXT NOT NULL,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    hash      TEXT NOT NULL,
    package   TEXT NOT NULL,
    has_errors INTEGER NOT NULL,
    n_defs    INTEGER NOT NULL,
    n_refs    INTEGER NOT NULL,
    names     TEXT NOT NULL,
    qualnames TEXT NOT NULL,
    defs      BLOB NOT NULL,
    refs      BLOB NOT NULL,
    imports   BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""


#: SQLite error names (without ``SQLITE_``) that say nothing about the file's health: never rebuild for them.
_NOT_DAMAGE = frozenset({"BUSY", "LOCKED", "CANTOPEN", "PERM", "READONLY", "FULL", "NOMEM", "AUTH"})

#: Below this much free space, an I/O error from SQLite is taken for a full disk (a write needs room for its
#: pages and the WAL; the error a full disk gives is often a plain ``disk I/O error``).
_LOW_SPACE_BYTES = 16 * 1024 * 1024


def _primary_error(exc: sqlite3.Error) -> str:
    """``BUSY`` for ``SQLITE_BUSY`` and ``SQLITE_BUSY_SNAPSHOT``: the primary result code's name."""
    parts = (getattr(exc, "sqlite_errorname", "") or "").split("_")
    return parts[1] if len(parts) > 1 else ""


@contextmanager
def _in_transaction(conn: sqlite3.Connection, begin: str = "BEGIN") -> Iterator[sqlite3.Connection]:
    """Run the statements inside as one transaction (``begin`` opens it), committed at the end, rolled back on
    any error. A plain ``BEGIN`` makes reads see a single committed state of the file."""
    conn.execute(begin)
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        # SQLite may have rolled back already (a full disk): a second ROLLBACK would fail with "cannot
        # rollback - no transaction is active" and hide the real error.
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def _free_bytes(folder: Path) -> int | None:
    """Free bytes on the file system holding ``folder`` (as this user may use them), None when unknown."""
    try:
        info = os.statvfs(folder)
    except OSError:
        return None
    blocks = info.f_bfree if os.geteuid() == 0 else info.f_bavail
    return blocks * info.f_frsize


def disk_full_error(folder: Path) -> IndexDiskFull:
    """The error saying that the disk holding the index cache ``folder`` is full, and what to do."""
    return IndexDiskFull(
        f"the disk holding the index cache ({folder}) is full: free some space there, or set "
        "QWEN_CONTEXT_CACHE_DIR to a folder on another disk; the index is kept and answers from what it holds"
    )


def _is_disk_full(exc: BaseException, folder: Path) -> bool:
    """Tell a full disk from ``exc``: ``SQLITE_FULL`` or ``ENOSPC``, or the I/O error or failed rollback that
    follow them, met while the disk holding ``folder`` has (nearly) no space left."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    if isinstance(exc, sqlite3.Error) and _primary_error(exc) == "FULL" or "disk is full" in str(exc):
        return True
    symptom = isinstance(exc, OSError) or isinstance(exc, sqlite3.Error) and (
        _primary_error(exc) == "IOERR" or "cannot rollback" in str(exc))
    free = _free_bytes(folder) if symptom else None
    return free is not None and free < _LOW_SPACE_BYTES


@dataclass(frozen=True, slots=True)
class IndexHealth:
    """The state of an index for servers to report (`Engine.health`): ``ready``, ``rebuilding`` or ``disk_full``,
    and a message for a person ("" when ready and nothing happened)."""

    state: str
    detail: str


class IndexCorrupt(IndexUnavailable):
    """The index file turned out to be damaged while reading it; the engine rebuilds it."""


def content_hash(data: bytes) -> str:
    """The identity of a file's bytes: what decides whether it must be parsed again."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def index_path(cache_dir: Path, root: Path) -> Path:
    """Where the index of ``root`` lives inside ``cache_dir``."""
    key = hashlib.sha1(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return cache_dir / key / "index.sqlite"


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file's row without its blobs: enough to decide whether the file changed."""

    path: str
    language: str
    size: int
    mtime_ns: int
    hash: str


@dataclass(slots=True)
class PackedFile:
    """A parsed file ready to be written: the row's columns, blobs already packed (done in worker processes)."""

    path: str
    language: str
    size: int
    mtime_ns: int
    hash: str
    package: str
    has_errors: bool
    n_defs: int
    n_refs: int
    names: str
    qualnames: str
    defs: bytes
    refs: bytes
    imports: bytes


@dataclass(slots=True)
class LoadedFile:
    """A file's row as loaded at start-up: definition names, and the packed definitions and imports (unpacked
    when the file is first asked about). References are loaded apart, when first needed."""

    path: str
    language: str
    hash: str
    package: str
    names: list[tuple[str, str]]
    defs: bytes
    imports: bytes


def pack(parsed: ParsedFile, size: int, mtime_ns: int, digest: str) -> PackedFile:
    """Pack a parsed file into its row (signatures and docs must already be secret-masked)."""
    defs: list[DefTuple] = [
        (d.name, d.kind, d.qualname, d.line, d.column, d.end_line, d.signature, d.doc, d.parent)
        for d in parsed.definitions
    ]
    refs = parsed.references
    imports: list[ImportTuple] = [(i.module, tuple(i.names), i.line) for i in parsed.imports]
    names = [d.name for d in parsed.definitions]
    qualnames = [d.qualname for d in parsed.definitions]
    return PackedFile(
        path=parsed.path,
        language=parsed.language,
        size=size,
        mtime_ns=mtime_ns,
        hash=digest,
        package=parsed.package,
        has_errors=parsed.has_errors,
        n_defs=len(defs),
        n_refs=len(refs),
        names=_join_lines(names),
        qualnames=_join_lines(qualnames),
        defs=pickle.dumps(defs, protocol=pickle.HIGHEST_PROTOCOL),
        refs=_pack_columns([r.name for r in refs], [r.kind for r in refs], [r.line for r in refs],
                           [r.column for r in refs]),
        imports=pickle.dumps(imports, protocol=pickle.HIGHEST_PROTOCOL),
    )


def unpack_definition_tuples(blob: bytes) -> list[DefTuple]:
    """Definitions of one file as packed tuples (cheap: no objects built)."""
    defs: list[DefTuple] = pickle.loads(blob)
    return defs


def definitions_from_tuples(path: str, defs: list[DefTuple]) -> list[Definition]:
    """`Definition` objects of one file from its packed tuples."""
    return [Definition(t[0], t[1], t[2], path, t[3], t[4], t[5], t[6], t[7], t[8]) for t in defs]


def _join_lines(names: list[str]) -> str:
    """``names`` joined by newlines (a name holding a newline, which no parser should give, loses it)."""
    joined = "\n".join(names)
    if joined.count("\n") != max(len(names) - 1, 0):
        joined = "\n".join(name.replace("\n", " ") for name in names)
    return joined


def unpack_names(names: str, qualnames: str) -> list[tuple[str, str]]:
    """``(name, qualname)`` pairs of a file's definitions from their stored columns."""
    if not names:
        return []
    return list(zip(names.split("\n"), qualnames.split("\n"), strict=True))


def _pack_columns(names: list[str], kinds: list[str], lines: list[int], columns: list[int]) -> bytes:
    """Pack references by column (see the layouts above)."""
    codes = _REF_KIND_CODES
    packed = (len(names), _join_lines(names), bytes([codes.get(kind, _OTHER_KIND) for kind in kinds]),
              array("I", lines).tobytes(), array("I", columns).tobytes())
    return pickle.dumps(packed, protocol=pickle.HIGHEST_PROTOCOL)


def unpack_reference_names(blob: bytes) -> list[str]:
    """The referenced names of one file, in source order (one split: what the file graph needs)."""
    count, names, _, _, _ = pickle.loads(blob)
    return names.split("\n") if count else []


def unpack_reference_tuples(blob: bytes) -> list[RefTuple]:
    """References of one file as ``(name, kind, line, column)`` tuples, in source order."""
    count, names, kinds, lines, columns = pickle.loads(blob)
    if not count:
        return []
    line_array, column_array = array("I"), array("I")
    line_array.frombytes(lines)
    column_array.frombytes(columns)
    kind_names = [REFERENCE_KINDS[k] for k in kinds]
    return list(zip(names.split("\n"), kind_names, line_array, column_array, strict=True))


def unpack_imports(path: str, blob: bytes) -> list[Import]:
    """Imports of one file from its packed blob (unresolved: resolution depends on the whole file set)."""
    return [Import(t[0], t[1], path, t[2]) for t in pickle.loads(blob)]


class IndexStore:
    """The SQLite file behind one repository's index.

    Every method maps `sqlite3` errors to `IndexUnavailable`; a file that cannot be read as an index of this
    version is replaced by an empty one when opened (the caller then re-indexes).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        #: Why the index is open read-only (a full disk), or "".
        self.read_only = ""
        self._conn = self._open()
        self._identity = self._file_identity()

    # --- opening and recovery ------------------------------------------------------------------------------

    def _open(self, repair: bool = True) -> sqlite3.Connection:
        """Connect to the index file, creating it; a damaged file is moved aside and replaced by an empty index
        when ``repair``, else `IndexCorrupt` is raised (the engine then rebuilds it)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if _is_disk_full(exc, self.path.parent):
                raise disk_full_error(self.path.parent) from exc
            raise IndexUnavailable(f"cannot create the index folder {self.path.parent}: {exc}") from exc
        try:
            conn = self._connect_usable()
            if conn is not None:
                return conn
        except sqlite3.DatabaseError as exc:
            if _primary_error(exc) in _NOT_DAMAGE or _is_disk_full(exc, self.path.parent):
                return self._open_without_writing(exc)
            if not repair:
                raise IndexCorrupt(f"the index {self.path} is unreadable ({exc}); it will be rebuilt") from exc
            logger.warning("index %s is unreadable (%s); rebuilding it", self.path, exc)
        else:
            if not repair:
                raise IndexCorrupt(f"the index {self.path} is from another version or damaged; it will be rebuilt")
            logger.warning("index %s is from another version or damaged; rebuilding it", self.path)
        self._discard()
        try:
            conn = self._connect()
            self._create(conn)
        except sqlite3.Error as exc:
            raise self._error("create", exc) from exc
        return conn

    def _open_without_writing(self, exc: sqlite3.Error) -> sqlite3.Connection:
        """Open the index read-only when opening it for writing failed for lack of space; raise otherwise."""
        if not _is_disk_full(exc, self.path.parent) or not self.path.exists():
            raise self._error("open", exc) from exc
        logger.info("%s", disk_full_error(self.path.parent))
        try:
            conn = sqlite3.connect(f"{self.path.as_uri()}?mode=ro&immutable=1", uri=True, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("SELECT count(*) FROM files").fetchone()
        except sqlite3.Error as again:
            raise disk_full_error(self.path.parent) from again
        self.read_only = str(disk_full_error(self.path.parent))
        return conn

    def _error(self, action: str, exc: BaseException) -> IndexUnavailable:
        """The error to raise for ``exc`` met while trying to ``action`` the index: a full disk, a condition that
        says nothing about the file (busy, locked, permissions), or damage."""
        if _is_disk_full(exc, self.path.parent):
            return disk_full_error(self.path.parent)
        detail = str(exc)[:200]  # some errors quote the unreadable data
        if isinstance(exc, sqlite3.DatabaseError) and _primary_error(exc) not in _NOT_DAMAGE:
            return IndexCorrupt(f"the index {self.path} is damaged ({detail}); it will be rebuilt")
        return IndexUnavailable(f"cannot {action} the index {self.path}: {detail}")

    def _file_identity(self) -> tuple[int, int] | None:
        """Device and inode of the index file (None when it is missing): tells when another process replaced it."""
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return info.st_dev, info.st_ino

    @contextmanager
    def rebuilding(self) -> Iterator[bool]:
        """Hold the rebuild lock (one process rebuilds a damaged index at a time); yields whether this store must
        rebuild: False when another process replaced the file meanwhile (this store then reopened it)."""
        with self._flock(fcntl.LOCK_EX):
            replaced = self._file_identity() != self._identity
            if replaced:
                try:
                    self._reopen()
                except IndexCorrupt:  # replaced by something damaged, not by a rebuild
                    replaced = False
            yield not replaced

    @contextmanager
    def _flock(self, kind: int) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            handle = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as exc:
            raise self._error("lock", exc) from exc
        try:
            fcntl.flock(handle, kind)
            yield
        finally:
            os.close(handle)  # closing releases the lock

    def _reopen(self) -> None:
        """Connect again to the file now at `path` (another process rebuilt the index); `IndexCorrupt` when the
        file found there is damaged."""
        with self._lock:
            self.close()
            self.read_only = ""
            self._identity = self._file_identity()
            self._conn = self._open(repair=False)

    def _follow_replacement(self) -> None:
        """Reopen the index when another process replaced the file, once its rebuild is done (shared lock)."""
        if self._file_identity() == self._identity:
            return
        with self._flock(fcntl.LOCK_SH):
            if self._file_identity() != self._identity:
                logger.info("the index %s was rebuilt by another process; reopening it", self.path)
                self._reopen()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return conn

    def _connect_usable(self) -> sqlite3.Connection | None:
        """A connection to a usable index (see `_usable`), or None when the file holds something else.

        Two processes opening a new index at once race to create it, and switching a new file to WAL answers
        ``database is locked`` at once, without SQLite's busy wait: a busy or locked answer is retried here for up
        to the busy timeout, so the loser opens what the winner created."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            conn = self._connect()
            try:
                if self._usable(conn):
                    return conn
                conn.close()
                return None
            except sqlite3.OperationalError as exc:
                conn.close()
                if _primary_error(exc) not in {"BUSY", "LOCKED"} or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _usable(self, conn: sqlite3.Connection) -> bool:
        """Whether ``conn`` holds an index of this version (an empty new file is made one here)."""
        with _in_transaction(conn):  # the version and the tables as one commit left them, not two
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version == 0 and not tables:
            self._create(conn)
            return True
        if version != SCHEMA_VERSION or not {"files", "meta"} <= tables:
            return False
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        # Touch every page of the small columns: a truncated file fails here rather than in the middle of a query.
        conn.execute("SELECT count(*), sum(size), sum(length(defs)) FROM files").fetchone()
        return True

    def _create(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                conn.executescript("BEGIN; " + _SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
            else:
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _discard(self) -> None:
        """Move a damaged index aside (kept once, for inspection) and drop its WAL side files."""
        aside = self.path.with_name(self.path.name + ".broken")
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise IndexUnavailable(f"cannot replace the damaged index {self.path}: {exc}") from exc
        for suffix in ("-wal", "-shm", "-journal"):
            try:
                os.unlink(str(self.path) + suffix)
            except FileNotFoundError:
                pass
            except OSError as exc:
                logger.warning("cannot remove %s%s: %s", self.path, suffix, exc)

    def reset(self) -> None:
        """Throw the index away and start an empty one (after a query found it damaged)."""
        with self._lock:
            self.close()
            self._discard()
            try:
                self._conn = self._connect()
                self._create(self._conn)
            except sqlite3.Error as exc:
                raise self._error("create", exc) from exc
            self.read_only = ""
            self._identity = self._file_identity()

    def close(self) -> None:
        """Close the connection (safe to call twice)."""
        try:
            self._conn.close()
        except sqlite3.Error:
            pass

    # --- reading -------------------------------------------------------------------------------------------

    def stored(self, paths: Iterable[str] | None = None) -> dict[str, StoredFile]:
        """Every indexed file's identity (or only ``paths``'), without the blobs."""
        rows = self._select("SELECT path, language, size, mtime_ns, hash FROM files", paths)
        return {row[0]: StoredFile(*row) for row in rows}

    def load(self, paths: Iterable[str] | None = None) -> list[LoadedFile]:
        """Every file's symbols (or only ``paths``'), in one pass over the table."""
        rows = self._select("SELECT path, language, hash, package, names, qualnames, defs, imports FROM files",
                            paths)
        try:
            return [LoadedFile(path, language, digest, package, unpack_names(names, qualnames), defs, imports)
                    for path, language, digest, package, names, qualnames, defs, imports in rows]
        except (pickle.UnpicklingError, ValueError, TypeError, EOFError, IndexError) as exc:
            raise IndexCorrupt(f"the index {self.path} holds unreadable symbols ({exc}); it will be rebuilt") from exc

    def load_references(self) -> dict[str, bytes]:
        """Every file's packed references (unpacked file by file when needed)."""
        return dict(self._select("SELECT path, refs FROM files", None))

    def _select(self, sql: str, paths: Iterable[str] | None) -> list[tuple[Any, ...]]:
        with self._errors("read"):
            if paths is None:
                return self._conn.execute(sql).fetchall()
            wanted = list(paths)
            rows: list[tuple[Any, ...]] = []
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows += self._conn.execute(f"{sql} WHERE path IN ({marks})", chunk).fetchall()
            return rows

    def totals(self) -> tuple[int, int, int]:
        """(files, definitions, references) in the index."""
        with self._errors("read"):
            files, defs, refs = self._conn.execute(
                "SELECT count(*), coalesce(sum(n_defs), 0), coalesce(sum(n_refs), 0) FROM files").fetchone()
        return int(files), int(defs), int(refs)

    def languages(self) -> dict[str, int]:
        """Files per language."""
        with self._errors("read"):
            rows = self._conn.execute("SELECT language, count(*) FROM files GROUP BY language ORDER BY language")
            return {language: count for language, count in rows}

    def get_meta(self, key: str, default: str = "") -> str:
        """A value of the meta table."""
        with self._errors("read"):
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def size_bytes(self) -> int:
        """Bytes on disk taken by the index, WAL included."""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            try:
                total += os.stat(str(self.path) + suffix).st_size
            except OSError:
                pass
        return total

    # --- writing -------------------------------------------------------------------------------------------

    def write(self, files: Iterable[PackedFile] = (), touched: Iterable[tuple[str, int, int]] = (),
              removed: Iterable[str] = (), meta: dict[str, str] | None = None) -> None:
        """Store parsed files, refresh the mtime/size of files whose bytes did not change, drop removed files,
        and set meta values — all in one transaction."""
        rows = [(f.path, f.language, f.size, f.mtime_ns, f.hash, f.package, int(f.has_errors), f.n_defs,
                 f.n_refs, f.names, f.qualnames, f.defs, f.refs, f.imports) for f in files]
        if self.read_only:
            raise IndexDiskFull(self.read_only)
        with self._errors("write"), self._transaction() as conn:
            if rows:
                conn.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            conn.executemany("UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?",
                             [(size, mtime, path) for path, size, mtime in touched])
            conn.executemany("DELETE FROM files WHERE path = ?", [(path,) for path in removed])
            if meta:
                conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))

    @staticmethod
    def scan_meta(skipped: dict[str, int], ignored: Iterable[IgnoredBy] = ()) -> dict[str, str]:
        """Meta values recording a full scan: its skip counts, what ignore rules left out, and when it happened."""
        return {"skipped": json.dumps(skipped, sort_keys=True), "ignored": ignored_to_json(ignored),
                "last_indexed": repr(time.time())}

    def skipped(self) -> dict[str, int]:
        """Skip counts of the last full scan."""
        value: dict[str, int] = json.loads(self.get_meta("skipped", "{}"))
        return value

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction on the store's connection, holding the write lock from its start."""
        return _in_transaction(self._conn, "BEGIN IMMEDIATE")

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Serialise use of the connection across threads, follow a rebuild done by another process, and map
        sqlite3 errors to ours (`_error`)."""
        try:
            with self._lock:
                self._follow_replacement()
                yield
        except sqlite3.Error as exc:
            raise self._error(action, exc) from exc
