"""Parsing files for the index: one job per file, in this process or in a pool of worker processes.

A job parses a file unless its content hash is the one it was last parsed with; the outcome is a packed file
ready for the store. A cold index spreads the jobs over every core (a fork-based pool, big files first); a
worker that dies costs the file it was parsing, never the index.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from multiprocessing.context import BaseContext

from context.index.files import FileRefused, read_file
from context.index.parse import parse_source, preload
from context.index.scan import ScannedFile
from context.index.store import SCHEMA_VERSION, IndexStore, PackedFile, StoredFile, content_hash, pack
from context.index.symbols import ParsedFile
from context.index.workers import end_with_parent
from context.secrets import mask_secrets

logger = logging.getLogger(__name__)

#: Below this many files to parse, parsing happens in this process (a pool costs more than it saves).
POOL_MIN_FILES = 200
#: Files handed to a worker at a time.
POOL_CHUNK_FILES = 48
#: Parsed files written to the index per transaction (bounds how long another process waits for the lock).
WRITE_BATCH_FILES = 500

#: A file to parse: path, language, the hash it had when last parsed (None: parse unconditionally), and its
#: size as scanned (to hand out big files first).
Job = tuple[str, str, str | None, int]
#: What became of a job: a packed parsed file, or (path, size, mtime_ns) when the bytes did not change, or the
#: path when the file could not be read.
Outcome = PackedFile | tuple[str, int, int] | str


def job_for(found: ScannedFile, old: StoredFile | None, fresh: bool) -> Job | None:
    """The parse job a scanned file needs, or None when the index holds it as it is (same size and mtime).

    A file new to the index, or indexed by another parser version or as another language, is parsed
    unconditionally; one whose size or mtime moved is parsed only if its content hash changed.
    """
    if old is None or not fresh or old.language != found.language:
        return (found.path, found.language, None, found.size)
    if old.size != found.size or old.mtime_ns != found.mtime_ns:
        return (found.path, found.language, old.hash, found.size)
    return None


def mask_definitions(parsed: ParsedFile) -> ParsedFile:
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


def _parse_job(root: str, job: Job, max_bytes: int) -> Outcome:
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
        parsed = mask_definitions(parse_source(path, data, language))
    except Exception:  # a parser bug must cost one file's symbols, not the whole index
        logger.warning("cannot parse %s; indexing it without symbols", path, exc_info=True)
        parsed = ParsedFile(path, language, has_errors=True)
    return pack(parsed, stat.st_size, stat.st_mtime_ns, digest)


def _unparsed(root: str, job: Job, max_bytes: int) -> Outcome:
    """A file recorded without symbols (its parse failed), so it is not tried again until it changes."""
    path, language, _, _ = job
    read = _read(root, path, max_bytes)
    if read is None:
        return path
    data, stat = read
    return pack(ParsedFile(path, language, has_errors=True), stat.st_size, stat.st_mtime_ns, content_hash(data))


def _parse_chunk(root: str, jobs: list[Job], max_bytes: int) -> list[Outcome]:
    """Worker entry point: parse a chunk of files of the repository at ``root`` (none over ``max_bytes``)."""
    return [_parse_job(root, job, max_bytes) for job in jobs]


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


def parse_jobs(root: str, jobs: list[Job], workers: int, collect: Callable[[list[Outcome]], None],
               max_bytes: int) -> None:
    """Parse ``jobs``, handing each chunk's outcomes to ``collect`` as they come: in this process when there are
    few jobs or one worker, else in a pool of ``workers`` processes."""
    if len(jobs) < POOL_MIN_FILES or workers < 2:
        for start in range(0, len(jobs), POOL_CHUNK_FILES):
            collect(_parse_chunk(root, jobs[start:start + POOL_CHUNK_FILES], max_bytes))
        return
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
    in_flight = 2 * workers  # a little queued work per worker
    while chunks:
        chunks = _run_pool(context, root, chunks, workers, collect, in_flight, max_bytes)
        in_flight = 1  # after a worker died: one file at a time, to find the one that kills it


def parse_and_store(store: IndexStore, root: str, jobs: list[Job], workers: int, keep: bool,
                    progress: Callable[[int, int], None] | None,
                    max_bytes: int) -> tuple[list[PackedFile], int, list[str]]:
    """Parse ``jobs`` (see `parse_jobs`), writing the outcomes to ``store`` in batches; ``progress(done, total)``
    is called after each chunk.

    Returns the parsed files (only when ``keep``: a loaded snapshot must be patched with them), how many were
    parsed, and the paths that could not be read.
    """
    parsed: list[PackedFile] = []
    gone: list[str] = []
    pending: list[PackedFile] = []
    touched: list[tuple[str, int, int]] = []
    done = count = 0

    def collect(outcomes: list[Outcome]) -> None:
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
            store.write(pending, touched)
            pending, touched = [], []
        if progress is not None:
            progress(done, len(jobs))

    parse_jobs(root, jobs, workers, collect, max_bytes)
    if pending or touched:
        store.write(pending, touched)
    if progress is not None and not jobs:
        progress(0, 0)
    return parsed, count, gone


def _run_pool(context: BaseContext, root: str, chunks: list[list[Job]], workers: int,
              collect: Callable[[list[Outcome]], None], in_flight: int, max_bytes: int) -> list[list[Job]]:
    """Parse ``chunks`` (taken from the end) in one pool. When a worker dies (out of memory, a crash in
    native code) returns what is left to retry, the chunks it may have been parsing split into single
    files; a single file parsed alone when its worker died is indexed without symbols."""
    running: dict[Future[list[Outcome]], list[Job]] = {}
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=end_with_parent,
                                 initargs=(os.getpid(),)) as pool:
            while chunks or running:
                while chunks and len(running) < in_flight:
                    # taken off the list only once submitted: submit raises when a worker died meanwhile, and the
                    # chunk must then be retried, not lost
                    running[pool.submit(_parse_chunk, root, chunks[-1], max_bytes)] = chunks[-1]
                    chunks.pop()
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
                collect([_unparsed(root, chunk[0], max_bytes)])
            else:
                retry += [[job] for job in chunk]
        return retry
    return []


__all__ = ["POOL_CHUNK_FILES", "POOL_MIN_FILES", "WRITE_BATCH_FILES", "Job", "Outcome", "job_for",
           "mask_definitions", "parse_and_store", "parse_jobs", "parser_fingerprint"]
