"""Costs that must stay linear: the streaming clean-up of a model answer and the scan of a folder tree.

Timing assertions do not belong in tests (a loaded CI machine makes them flaky), so the two costs the tests
used to time are measured here instead, each against its own floor:

- clean-up: an answer fed to `CompletionStream` one character at a time (the worst case: every delta is one
  event), at 8,000 and 80,000 characters of one long line (answers of many lines stop at the line limit after a
  few characters, so they cannot show growth), as a FIM answer and as a chat answer, beside
  `clean_completion` on the whole answer once (the floor: the same work with no streaming). Linear means the cost
  per character stays flat from 8K to 80K (ratio near 1); the old clean-up re-read everything per delta (80,000
  characters: 4.7 s, ratio about 10).
- scan: `scan()` of 5,000 small files in 50 packages, each with its own `.gitignore`, warm, beside `os.walk` of
  the same tree (the floor: listing without ignore rules or file checks).

    .venv/bin/python bench/bench_linear.py
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from context.index.scan import scan
from context.model.cleanup import CompletionStream, clean_completion

PREFIX, SUFFIX = "def f():\n    return ", "\n"


def best_of(runs: int, work: Callable[[], object]) -> float:
    """The fastest of ``runs`` timings of ``work`` in seconds (the least disturbed by other processes)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def stream(text: str, chat: bool) -> int:
    """Feed ``text`` to the streaming clean-up, one character per delta, until it is done: characters fed."""
    cleaner = CompletionStream(PREFIX, SUFFIX, "python", 16, chat=chat)
    fed = 0
    for char in text:
        cleaner.feed(char)
        fed += 1
        if cleaner.done:
            break
    cleaner.finish()
    return fed


def cleanup_rows() -> list[str]:
    """One row per kind of answer: ns per character streamed (of those fed before the clean-up stopped) at 8K and
    80K, their ratio, and the floor's (the whole answer cleaned once)."""
    rows = []
    for shape, chat in (("FIM", False), ("chat", True)):
        per_char = {}
        for size in (8_000, 80_000):
            text = "x" * size
            fed = stream(text, chat)
            streamed = best_of(5, partial(stream, text, chat))
            floor = best_of(5, partial(clean_completion, text, PREFIX, SUFFIX, "python", 16, chat=chat))
            per_char[size] = (streamed / fed * 1e9, floor / size * 1e9, fed)
        (small, small_floor, _), (big, big_floor, fed) = per_char[8_000], per_char[80_000]
        rows.append(f"| clean-up, {shape} answer, one line ({fed:,} chars fed of 80K) | {small:.0f} | {big:.0f} | {big / small:.2f} | "
                    f"{small_floor:.0f} / {big_floor:.0f} | {big / big_floor:.1f}x |")
    return rows


def scan_row() -> str:
    """5,000 files under 50 `.gitignore` files: warm `scan()` against warm `os.walk`."""
    with tempfile.TemporaryDirectory(prefix="bench-linear-") as work:
        root = Path(work)
        (root / ".gitignore").write_text("*.log\nbuild/\n")
        for package in range(50):
            folder = root / f"pkg{package}"
            folder.mkdir()
            (folder / ".gitignore").write_text("local_*.py\n")
            for module in range(100):
                (folder / f"mod{module}.py").write_text(f"def f{module}():\n    return {module}\n")
        assert len(scan(root).files) == 5000
        ours = best_of(5, lambda: scan(root))
        floor = best_of(5, lambda: sum(len(names) for _, _, names in os.walk(root)))
    return f"| scan, 5,000 files | {ours * 1000:.0f} ms | | | {floor * 1000:.0f} ms (os.walk) | {ours / floor:.1f}x |"


def main() -> int:
    print(f"load average {os.getloadavg()[0]:.1f}; best of 3-5 runs")
    print("| measure | ns/char at 8K | ns/char at 80K | 80K / 8K (linear: ~1) | floor ns/char 8K / 80K | ours / floor |")
    print("|---|---|---|---|---|---|")
    for row in cleanup_rows():
        print(row)
    print(scan_row())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
