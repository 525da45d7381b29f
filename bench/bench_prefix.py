"""Prefix stability of FIM prompts while a user types: what a server's prefix cache can reuse.

For 50 real lines (sampled with a fixed seed from files of the largest corpus repository), the line is blanked
(indentation kept) and then typed back character by character. After every character the buffer is sent to the
engine as an overlay (as an editor does) and a prompt is assembled at 32K and at 256K tokens. The score of a
prompt is the share of its tokens equal to the previous prompt's leading tokens (the part vLLM's prefix cache
or Model Studio's context cache would reuse); the benchmark prints the mean per budget. Target: >= 0.9.

    .venv/bin/python bench/bench_prefix.py [--corpus .scratch/corpus] [--repo DIR] [--lines 50]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from context.engine import Engine, EngineConfig
from context.errors import QwenContextError
from context.prompt import tokens

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / ".scratch" / "corpus"
BUDGETS = (32768, 262144)
TARGET = 0.9
MIN_FILE_LINES = 60


def pick_lines(engine: Engine, count: int, rng: random.Random) -> list[tuple[str, int]]:
    """``count`` (path, line) pairs: real code lines of 12-100 characters in files of some size."""
    candidates: list[tuple[str, int]] = []
    for path in engine.files():
        try:
            lines = engine.text(path).split("\n")
        except QwenContextError:
            continue
        if len(lines) < MIN_FILE_LINES:
            continue
        for number, line in enumerate(lines):
            stripped = line.strip()
            if 12 <= len(stripped) <= 100 and not stripped.startswith(("#", "//", "*", "/*")):
                candidates.append((path, number))
    return rng.sample(candidates, min(count, len(candidates)))


def shared_share(current: np.ndarray, previous: np.ndarray) -> float:
    """Share of ``current``'s tokens equal to ``previous``'s leading tokens (longest common prefix)."""
    length = min(len(current), len(previous))
    differ = np.nonzero(current[:length] != previous[:length])[0]
    same = int(differ[0]) if len(differ) else length
    return same / len(current)


def type_line(
    engine: Engine, path: str, number: int, budget: int, max_chars: int
) -> tuple[list[float], list[float]]:
    """Type line ``number`` of ``path`` back in; returns the per-keystroke shares and assembly times (ms)."""
    lines = engine.text(path).split("\n")
    original = lines[number]
    indent = original[: len(original) - len(original.lstrip())]
    typed = original.strip()[: max_chars or None]
    shares: list[float] = []
    times: list[float] = []
    previous: np.ndarray | None = None
    try:
        for end in range(len(typed) + 1):
            lines[number] = indent + typed[:end]
            engine.set_overlay(path, "\n".join(lines))
            started = time.perf_counter()
            prompt = engine.fim_prompt(path, number, len(indent) + end, budget=budget)
            times.append((time.perf_counter() - started) * 1000)
            ids = np.asarray(tokens.encode(prompt.text), dtype=np.int64)
            if previous is not None:
                shares.append(shared_share(ids, previous))
            previous = ids
    finally:
        engine.clear_overlay(path)
    return shares, times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of one repository per language"
    )
    parser.add_argument("--repo", type=Path, help="repository to type in (default: the corpus's largest)")
    parser.add_argument("--lines", type=int, default=50, help="lines typed (default 50)")
    parser.add_argument(
        "--max-chars", type=int, default=0,
        help="characters typed per line at most, for a quicker run (default 0: the whole line)"
    )
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--cache-dir", type=Path, help="index cache folder (default: the engine's)")
    args = parser.parse_args()

    root = args.repo or max(
        (p for p in args.corpus.iterdir() if p.is_dir()),
        key=lambda p: sum(1 for f in p.rglob("*") if f.is_file()),
    )
    with Engine(root, EngineConfig(cache_dir=args.cache_dir)) as engine:
        engine.index()
        picked = pick_lines(engine, args.lines, random.Random(args.seed))
        print(f"typing {len(picked)} lines of {root.name} ({len(engine.files())} files)", file=sys.stderr)
        for budget in BUDGETS:
            shares: list[float] = []
            times: list[float] = []
            for path, number in picked:
                line_shares, line_times = type_line(engine, path, number, budget, args.max_chars)
                shares.extend(line_shares)
                times.extend(line_times)
            mean = statistics.fmean(shares)
            verdict = "ok" if mean >= TARGET else "BELOW TARGET"
            print(
                f"@{budget // 1024}K: mean shared leading-token share {mean:.3f} "
                f"over {len(shares)} keystrokes "
                f"(target >= {TARGET}) {verdict}; min {min(shares):.3f}; "
                f"assembly p50 {statistics.median(times):.1f} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
