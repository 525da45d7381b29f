"""A repository of 20,000 small files in six languages: indexed and served within memory bounds, a cold index
killed with SIGKILL resumes where it stopped, and prompts assembled while an index runs stay within their budget
and never hold stale text.

Memory is asserted, time is not (bench/bench_scale.py measures time). Peak resident memory is the kernel's
high-water mark of a process and the children it waited for (``wait4``).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rusage import run_with_usage

from context.engine import Engine, EngineConfig
from context.index.store import index_path
from context.prompt import tokens

QWEN_CONTEXT = str(Path(sys.executable).parent / "qwen-context")
FILES = 20_000

#: Per language: file extension, and a file's text from its number (a definition calling the previous file's).
TEMPLATES = {
    "py": "from pkg.m{prev} import f{prev}\n\n\ndef f{n}(x: int) -> int:\n    \"\"\"Step {n}.\"\"\"\n"
          "    return f{prev}(x) + {n}\n",
    "c": "int f{prev}(int x);\n\n/* Step {n}. */\nint f{n}(int x)\n{{\n\treturn f{prev}(x) + {n};\n}}\n",
    "go": "package p{n}\n\n// F{n} is step {n}.\nfunc F{n}(x int) int {{\n\treturn F{prev}(x) + {n}\n}}\n",
    "ts": "import {{ f{prev} }} from './m{prev}';\n\nexport function f{n}(x: number): number {{\n"
          "  return f{prev}(x) + {n};\n}}\n",
    "rs": "/// Step {n}.\npub fn f{n}(x: i64) -> i64 {{\n    f{prev}(x) + {n}\n}}\n",
    "java": "class C{n} {{\n    /** Step {n}. */\n    static int f{n}(int x) {{\n        return C{prev}.f{prev}(x) + {n};\n"
            "    }}\n}}\n",
}


def generate(root: Path, count: int) -> list[str]:
    """Write ``count`` small files, the languages in turn, 200 to a folder; their relative paths."""
    paths = []
    kinds = list(TEMPLATES)
    for n in range(count):
        ext = kinds[n % len(kinds)]
        rel = f"{ext}/pkg{n // 200}/m{n}.{ext}"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TEMPLATES[ext].format(n=n, prev=max(n - len(kinds), 0)))
        paths.append(rel)
    return paths


@pytest.fixture(scope="module")
def big_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("big") / "repo"
    return root, generate(root, FILES)


def run_measured(argv: list[str], env: dict[str, str]) -> tuple[str, float]:
    """Run ``argv`` to its end: its output, and the peak resident memory in MB of it and its workers."""
    done, usage = run_with_usage(argv, env, timeout=600)
    assert done.returncode == 0 and usage is not None, done.stderr.decode()[-2000:]
    return done.stdout.decode(), usage.peak_mb


_SERVE = r"""
import json, sys
from context.engine import Engine
root, paths = sys.argv[1], json.loads(sys.argv[2])
with Engine(root) as engine:
    report = engine.index()
    prompts = [engine.fim_prompt(path, 4, 0, budget=8192) for path in paths]
    found = engine.search("f1234")
    context = engine.chat_context("what calls f777", budget=16384)
print(json.dumps({"parsed": report.parsed, "files": report.files, "tokens": [p.tokens for p in prompts],
                  "found": [d.path for d in found[:1]], "context_tokens": context.tokens}))
"""

#: Bounds on peak resident memory (MB) for 20,000 small files: about twice what was measured (67 MB for the
#: largest process of a cold index, 155 MB for a new process serving prompts, CPython 3.11), leaving room for
#: other interpreters and allocators but not for memory that grows with the repository.
INDEX_PEAK_MB = 160
SERVE_PEAK_MB = 320


def test_twenty_thousand_files_are_indexed_and_served_within_memory_bounds(
        big_repo: tuple[Path, list[str]]) -> None:
    root, paths = big_repo
    env = dict(os.environ)
    out, index_peak = run_measured([QWEN_CONTEXT, "index", str(root), "--json"], env)
    report = json.loads(out)
    assert report["files"] == FILES and report["parsed"] == FILES
    assert report["symbols"] >= FILES
    assert index_peak < INDEX_PEAK_MB, f"indexing peaked at {index_peak:.0f} MB"

    cursors = paths[::2000]
    out, serve_peak = run_measured([sys.executable, "-c", _SERVE, str(root), json.dumps(cursors)], env)
    served = json.loads(out)
    assert served["parsed"] == 0 and served["files"] == FILES  # served from the index on disk, nothing re-parsed
    assert len(served["tokens"]) == len(cursors) and all(0 < t <= 8192 for t in served["tokens"])
    assert served["found"] == ["rs/pkg6/m1234.rs"] and 0 < served["context_tokens"] <= 16384
    assert serve_peak < SERVE_PEAK_MB, f"serving peaked at {serve_peak:.0f} MB"


def stored_rows(index: Path) -> dict[str, tuple[str, bytes]]:
    """Path -> (content hash, packed definitions) of every row of the index file, read by SQLite directly."""
    with sqlite3.connect(f"{index.as_uri()}?mode=ro", uri=True) as conn:
        return {path: (digest, defs) for path, digest, defs in conn.execute("SELECT path, hash, defs FROM files")}


def wait_for_rows(index: Path, at_least: int, process: subprocess.Popen[bytes]) -> int:
    """Poll the index file until it holds ``at_least`` rows (or the process ended); how many it holds."""
    while process.poll() is None:
        if index.exists():
            try:
                with sqlite3.connect(f"{index.as_uri()}?mode=ro", uri=True) as conn:
                    rows = int(conn.execute("SELECT count(*) FROM files").fetchone()[0])
            except sqlite3.Error:  # created but not yet holding the tables
                rows = 0
            if rows >= at_least:
                return rows
        time.sleep(0.05)
    pytest.fail(f"the index ended (exit {process.returncode}) before holding {at_least} files")


def test_a_cold_index_killed_mid_way_keeps_what_it_wrote_and_the_next_start_continues(
        big_repo: tuple[Path, list[str]], isolated_cache: Path) -> None:
    root, paths = big_repo
    index = index_path(isolated_cache, root.resolve())
    process = subprocess.Popen([QWEN_CONTEXT, "index", str(root)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_rows(index, 2000, process)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the CLI and its parsing workers, as a crash or OOM kill would
        process.wait()
    before = stored_rows(index)
    assert 2000 <= len(before) < FILES, "the kill came after the index was complete"

    with Engine(root, EngineConfig(cache_dir=isolated_cache)) as engine:
        report = engine.index()
        assert report.files == FILES
        assert report.parsed == FILES - len(before)  # files written before the kill are not parsed again
        after = stored_rows(index)
        assert set(after) == set(paths)
        assert {path: after[path] for path in before} == before  # intact: same content hash and symbols
        some = min(before)
        number = Path(some).stem[1:]
        assert any(d.name in (f"f{number}", f"F{number}") for d in engine.definitions(some))


HOT = 6


def hot_text(n: int, version: int) -> str:
    return f"def hot{n}(x: int) -> int:\n    return x + {n}  # HOT{n}-V{version:04d}\n"


@pytest.fixture
def growing_repo(tmp_path: Path) -> Iterator[Path]:
    """4,000 small files, a cursor file importing six "hot" files, which the test rewrites while it indexes."""
    root = tmp_path / "growing"
    generate(root, 4000)
    (root / "app").mkdir()
    for n in range(HOT):
        (root / "app" / f"hot{n}.py").write_text(hot_text(n, 0))
    imports = "".join(f"from app.hot{n} import hot{n}\n" for n in range(HOT))
    calls = " + ".join(f"hot{n}(x)" for n in range(HOT))
    (root / "app" / "main.py").write_text(f"{imports}\n\ndef main(x: int) -> int:\n    return {calls}\n")
    yield root


def test_prompts_assembled_while_indexing_fit_their_budget_and_hold_no_stale_text(growing_repo: Path) -> None:
    main = (growing_repo / "app" / "main.py").read_text()
    with Engine(growing_repo, EngineConfig(workers=2)) as engine:
        indexing = threading.Thread(target=engine.index)
        indexing.start()
        mid_index = version = 0
        while indexing.is_alive() or version < 3:
            version += 1
            for n in range(HOT):
                (growing_repo / "app" / f"hot{n}.py").write_text(hot_text(n, version))
            running = indexing.is_alive()
            for budget in (1024, 8192):
                prompt = engine.fim_prompt("app/main.py", 8, 4, budget=budget, buffer=main)  # as an editor asks
                assert prompt.tokens <= budget and tokens.count(prompt.text) <= budget
                stale = [f"V{old:04d}" for old in range(version) if f"-V{old:04d}" in prompt.text]
                assert stale == [], f"prompt at version {version} holds older text: {stale}"
            mid_index += running and indexing.is_alive()
        indexing.join()
        assert mid_index >= 1, "no prompt was assembled while the index ran"
        final = engine.fim_prompt("app/main.py", 8, 4, budget=8192, buffer=main)
    assert f"HOT0-V{version:04d}" in final.text  # the hot files are context once indexed: the check above bites
