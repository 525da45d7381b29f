"""Findings 4, 5 and 7 of issue 16: a damaged index is rebuilt rather than served empty, a full disk keeps the
good index and says so, and parse workers end when the indexer is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.hostile_tests.conftest import cli, fill_disk, module_text, script, write

#: Python code damaging the index file of ``engine`` the way a disk does: once another process has moved the WAL
#: into the file, the middle of the file is overwritten (pages the engine has not cached).
DAMAGE = """
import sqlite3
def damage(path):
    with sqlite3.connect(path) as other:
        other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.seek(size // 4)
        handle.write(b"\\xa5" * (size // 2))
"""


@pytest.fixture
def big(tmp_path: Path) -> Path:
    """A repository whose index is larger than SQLite's page cache."""
    root = tmp_path / "big"
    for n in range(150):
        write(root, f"module_{n}.py", module_text(n))
    return root


def test_an_index_damaged_before_the_first_query_is_rebuilt_not_served_empty(big: Path) -> None:
    code = DAMAGE + textwrap.dedent(f"""
        from context.engine import Engine
        with Engine({str(big)!r}) as engine:
            engine.index()  # a server's start-up index: no snapshot loaded yet
            damage(engine.index_path)
            print(sorted({{d.path for d in engine.search("function_7_3")}})[:1])
            print(engine.health().state, "|", engine.health().detail[:28])
    """)
    done = script(code, cwd=big)
    assert done.returncode == 0, done.stderr
    found, health = done.stdout.splitlines()
    assert found == "['module_7.py']"
    assert health.startswith("ready | rebuilt after damage")


def test_a_damaged_index_is_rebuilt_once_and_another_process_picks_it_up(big: Path) -> None:
    code = DAMAGE + textwrap.dedent(f"""
        import subprocess, sys
        from context.engine import Engine
        with Engine({str(big)!r}) as engine:
            engine.index()
            before = engine.index_path.stat().st_ino
            damage(engine.index_path)
            other = subprocess.run([sys.executable, "-m", "context.cli", "index", {str(big)!r}, "--json"],
                                   capture_output=True, text=True, check=True)
            print(other.stdout.strip())
            report = engine.index()  # this process finds the rebuilt file and only brings it up to date
            print(report.parsed, engine.index_path.stat().st_ino != before)
    """)
    done = script(code, cwd=big)
    assert done.returncode == 0, done.stderr
    other, ours = done.stdout.splitlines()
    assert json.loads(other)["parsed"] == 150
    assert ours == "0 True"


def test_a_full_disk_keeps_the_good_index_and_says_where(repo: Path, small_disk: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    cache = small_disk / "cache"
    monkeypatch.setenv("QWEN_CONTEXT_CACHE_DIR", str(cache))
    assert cli("index", str(repo), cwd=repo).returncode == 0
    for n in range(40):
        write(repo, f"pkg/module_{n}.py", module_text(n))
    filler = fill_disk(small_disk)
    full = cli("index", str(repo), cwd=repo)
    assert full.returncode == 2
    assert "full" in full.stderr and str(cache) in full.stderr and "damaged" not in full.stderr
    assert full.stderr.count("\n") == 1, full.stderr
    assert not list(cache.rglob("*.broken"))
    served = cli("search", "helper", "--repo", str(repo), "--json", cwd=repo)
    assert served.returncode == 0, served.stderr
    assert json.loads(served.stdout)[0]["path"] == "util.py"
    assert "full" in served.stderr  # a warning: the answer may be out of date
    filler.unlink()
    again = cli("index", str(repo), "--json", cwd=repo)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["parsed"] == 40  # only the new files: the old index was kept


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finding child processes needs /proc")
def test_parse_workers_end_when_the_indexer_is_killed(tmp_path: Path) -> None:
    root = tmp_path / "big"
    for n in range(600):
        write(root, f"pkg{n % 20}/module_{n}.py", module_text(n) * 3)
    indexer = subprocess.Popen([sys.executable, "-m", "context.cli", "index", str(root)], cwd=root,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while not workers and indexer.poll() is None and time.monotonic() < deadline:
            workers = _children(indexer.pid)
            time.sleep(0.05)
        if not workers:
            pytest.fail("the indexer finished or stalled before starting parse workers")
        time.sleep(0.3)
        workers |= _children(indexer.pid)
        indexer.send_signal(signal.SIGKILL)
        indexer.wait()
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)], "parse workers outlived their killed indexer"
    finally:
        indexer.kill()
