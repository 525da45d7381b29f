"""The on-disk index: where it lives, what survives a restart, and recovery from damaged or foreign files."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from context.engine import Engine, EngineConfig
from context.errors import IndexUnavailable
from context.index.store import SCHEMA_VERSION, IndexStore, index_path


def indexed(repo: Path) -> Path:
    """Index ``repo`` once and return the index file."""
    with Engine(repo) as engine:
        engine.index()
        return engine.index_path


def test_the_index_lives_in_the_cache_folder_keyed_by_the_root(repo: Path, isolated_cache: Path) -> None:
    path = indexed(repo)
    assert path == index_path(isolated_cache, repo.resolve())
    assert path.is_relative_to(isolated_cache) and path.name == "index.sqlite"
    assert not any(p.suffix == ".sqlite" for p in repo.rglob("*"))
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_explicit_cache_dir_wins_over_the_environment(repo: Path, tmp_path: Path) -> None:
    with Engine(repo, EngineConfig(cache_dir=tmp_path / "elsewhere")) as engine:
        engine.index()
        assert engine.index_path.is_relative_to(tmp_path / "elsewhere")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other_version", "empty_tables"])
def test_a_damaged_or_foreign_index_is_rebuilt_with_a_warning(
    repo: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = indexed(repo)
    if damage == "garbage":
        path.write_bytes(b"this is not a database at all" * 100)
    elif damage == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif damage == "other_version":
        with sqlite3.connect(path) as conn:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 7}")
    else:
        with sqlite3.connect(path) as conn:
            conn.execute("DROP TABLE files")
    for side in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        side.unlink(missing_ok=True)
    with caplog.at_level(logging.WARNING, logger="context"), Engine(repo) as engine:
        report = engine.index()
        assert report.files == 15 and report.parsed == 15
        assert engine.search("register_user")[0].path == "python/app/service.py"
    assert any("rebuild" in record.getMessage() for record in caplog.records)


def test_a_store_opened_on_a_missing_folder_creates_it(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "a" / "b" / "index.sqlite")
    assert store.totals() == (0, 0, 0)
    store.close()


def test_a_new_process_reuses_the_index_without_parsing(repo: Path) -> None:
    indexed(repo)
    out = subprocess.run([sys.executable, "-m", "context.cli", "index", str(repo), "--json"],
                         capture_output=True, text=True, check=True, timeout=120)
    report = json.loads(out.stdout)
    assert (report["files"], report["parsed"]) == (15, 0)


#: Opens a new index at each path given, all processes starting at the same instant (the first argument).
_OPEN_MANY = r"""
import sys, time
from pathlib import Path
from context.index.store import IndexStore
start, paths = float(sys.argv[1]), sys.argv[2:]
time.sleep(max(0.0, start - time.time()))
for path in paths:
    IndexStore(Path(path)).close()
"""


def test_processes_creating_one_new_index_at_once_all_open_it_and_none_rebuilds(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Creating a new index races (switching it to WAL answers 'database is locked' at once; a reader could see
    the tables before their version) — the loser waits and opens the winner's index, it never discards it."""
    paths = [str(tmp_path / f"cache{n}" / "index.sqlite") for n in range(30)]
    start = str(time.time() + 1.5)
    children = [subprocess.Popen([sys.executable, "-c", _OPEN_MANY, start, *paths], stderr=subprocess.PIPE, text=True)
                for _ in range(3)]
    errors = [child.communicate(timeout=120)[1] for child in children]
    assert [child.returncode for child in children] == [0, 0, 0], errors
    assert not any("rebuilding" in text for text in errors), errors
    assert not list(tmp_path.rglob("*.broken"))


def test_two_processes_indexing_one_repository_at_once_both_succeed(repo: Path) -> None:
    command = [sys.executable, "-m", "context.cli", "index", str(repo), "--json"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = [p.communicate(timeout=120) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], results
    reports = [json.loads(out) for out, _ in results]
    assert [r["files"] for r in reports] == [15, 15]
    with Engine(repo) as engine:
        assert engine.index().parsed == 0
        assert engine.stats().files == 15


def test_two_engines_in_one_process_share_updates_through_the_index(repo: Path) -> None:
    with Engine(repo) as writer, Engine(repo) as reader:
        writer.index()
        reader.index()
        (repo / "python" / "extra.py").write_text("def extra_function():\n    pass\n")
        writer.update(["python/extra.py"])
        assert reader.definitions("python/app/models.py")  # the reader's snapshot is loaded before the change
        # an update of the same path brings the writer's result in from the index, without parsing again
        report = reader.update(["python/extra.py"])
        assert (report.files, report.parsed) == (16, 0)
        assert reader.definitions_named("extra_function")
        # and a full index notices files the other engine removed
        (repo / "python" / "extra.py").unlink()
        writer.update(["python/extra.py"])
        assert reader.index().parsed == 0
        assert "python/extra.py" not in reader.files()


def test_parsing_in_worker_processes_gives_the_same_index_as_in_process(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import context.index.pool

    with Engine(repo, EngineConfig(cache_dir=tmp_path / "serial", workers=1)) as serial:
        serial.index()
        expected = {path: serial.definitions(path) for path in serial.files()}
    monkeypatch.setattr(context.index.pool, "POOL_MIN_FILES", 1)
    monkeypatch.setattr(context.index.pool, "POOL_CHUNK_FILES", 2)
    seen: list[tuple[int, int]] = []
    with Engine(repo, EngineConfig(cache_dir=tmp_path / "pool", workers=2)) as pooled:
        report = pooled.index(progress=lambda done, total: seen.append((done, total)))
        assert report.parsed == 15
        assert {path: pooled.definitions(path) for path in pooled.files()} == expected
    assert seen[-1] == (15, 15) and len(seen) == 8  # one call per chunk of two files
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_an_unusable_cache_folder_is_an_index_unavailable_error(repo: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(IndexUnavailable, match="cannot create the index folder"):
        Engine(repo, EngineConfig(cache_dir=blocker))
    env = {**os.environ, "QWEN_CONTEXT_CACHE_DIR": str(blocker)}
    done = subprocess.run([sys.executable, "-m", "context.cli", "index", str(repo)], capture_output=True,
                          text=True, timeout=120, check=False, env=env)
    assert done.returncode == 2
    assert done.stderr.startswith("qwen-context: error: cannot create the index folder")


def test_a_cold_index_from_a_background_thread_uses_worker_processes_safely(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import context.index.pool

    monkeypatch.setattr(context.index.pool, "POOL_MIN_FILES", 1)
    reports: list[object] = []
    with Engine(repo, EngineConfig(workers=2)) as engine:
        thread = threading.Thread(target=lambda: reports.append(engine.index()))
        thread.start()
        thread.join(timeout=120)
        assert [getattr(r, "parsed", None) for r in reports] == [15]
        assert engine.search("NewCircle")[0].path == "go/geometry/shapes.go"


def break_parser_on(monkeypatch: pytest.MonkeyPatch, suffix: str, failure: Callable[[], object]) -> None:
    """Make the engine's parser call ``failure()`` instead of parsing the files whose path ends with ``suffix``."""
    import context.index.pool

    real = context.index.pool.parse_source

    def broken(path: str, source: bytes, language: str) -> object:
        return failure() if path.endswith(suffix) else real(path, source, language)

    monkeypatch.setattr(context.index.pool, "parse_source", broken)


def raise_recursion_error() -> object:
    raise RecursionError("maximum recursion depth exceeded")


def test_a_parser_failure_costs_one_file_not_the_index(
    repo: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    break_parser_on(monkeypatch, "store.ts", raise_recursion_error)
    with caplog.at_level(logging.WARNING, logger="context"), Engine(repo) as engine:
        report = engine.index()
        assert report.files == 15
        assert engine.definitions("web/src/store.ts") == []
        assert engine.search("fetchTodos")[0].path == "web/src/api.ts"
    assert any("cannot parse web/src/store.ts" in r.getMessage() for r in caplog.records)


def test_a_worker_process_dying_on_a_file_costs_that_file_only(
    repo: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import threading

    import context.index.pool

    # workers are forked, so they run the patched parser (and no other thread may hold a lock at the fork)
    assert threading.active_count() == 1, [thread.name for thread in threading.enumerate()]
    # os._exit is what an out-of-memory kill or a crash in native code looks like to the pool
    break_parser_on(monkeypatch, "tokenizer.rs", lambda: os._exit(9))
    monkeypatch.setattr(context.index.pool, "POOL_MIN_FILES", 1)
    monkeypatch.setattr(context.index.pool, "POOL_CHUNK_FILES", 4)
    with caplog.at_level(logging.WARNING, logger="context"), Engine(repo, EngineConfig(workers=2)) as engine:
        report = engine.index()
        assert (report.files, report.parsed) == (15, 15)
        assert engine.definitions("rust/src/tokenizer.rs") == []
        assert engine.search("Parser")[0].path == "rust/src/parser.rs"
        assert engine.index().parsed == 0  # recorded: not retried until the file or the parser changes
    assert any("died on rust/src/tokenizer.rs" in r.getMessage() for r in caplog.records)


def test_damage_found_after_opening_is_rebuilt_by_the_next_index(
    repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Engine(repo) as engine:
        engine.index()
        path = engine.index_path
    with Engine(repo) as engine:  # opened while healthy, then the file is damaged under it
        data = bytearray(path.read_bytes())
        data[4096:] = b"\xde\xad\xbe\xef" * ((len(data) - 4096) // 4)
        path.write_bytes(bytes(data))
        with caplog.at_level(logging.WARNING, logger="context"):
            report = engine.index()
        assert (report.files, report.parsed) == (15, 15)
        assert engine.definitions_named("tokenize")
    assert any("rebuil" in r.getMessage() for r in caplog.records)
