"""Prefix stability of FIM prompts while a user edits: what a server's prefix cache can reuse, per kind of edit.

Real places (lines sampled with a fixed seed from files of the largest corpus repository) are edited the way a
user does, one editor event at a time; after every event the buffer is sent to the engine as an overlay (as an
editor does) and a prompt is assembled at each budget. The kinds of edit, each reported on its own:

- ``type in a line``: the line is blanked (indentation kept) and typed back character by character;
- ``type across lines``: the line and the two after it are removed and typed back character by character,
  newlines included (the cursor moves down a line at each newline);
- ``paste a block``: eight lines from elsewhere in the file are pasted after the line in one event, then three
  characters are typed after them;
- ``delete``: the end of the line is deleted character by character (up to twelve), then the next three lines
  one whole line at a time;
- ``move between functions``: the cursor jumps, without editing, to the first line of the body of up to five
  functions of the file in turn.

The score of a prompt is the share of its tokens equal to the previous prompt's leading tokens (the part vLLM's
prefix cache or Model Studio's context cache would reuse); the benchmark prints the mean per kind and budget,
and assembly time (p50, p95) per kind. Baseline in the same run: the prompt from the buffer alone
(`context.prompt.alone.buffer_fim_prompt`, what an editor plugin without a repository index sends: a window of
the file around the cursor), scored the same way. Target (issue 3): >= 0.9 while typing in a line.

    .venv/bin/python bench/bench_prefix.py [--corpus .scratch/corpus] [--repo DIR] [--lines 50]
                                           [--kinds type-line type-lines paste delete move] [--budgets 32768 262144]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from context.engine import Engine, EngineConfig
from context.errors import QwenContextError
from context.prompt import tokens
from context.prompt.alone import buffer_fim_prompt

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / ".scratch" / "corpus"
BUDGETS = (32768, 262144)
TARGET = 0.9
MIN_FILE_LINES = 60
#: Lines typed back in ``type across lines``; pasted in ``paste a block``; deleted whole in ``delete``.
TYPED_LINES = 3
PASTED_LINES = 8
DELETED_LINES = 3
#: Characters deleted one by one in ``delete``; typed after a paste; functions visited in ``move``.
DELETED_CHARS = 12
TYPED_AFTER_PASTE = 3
MOVES = 5

#: One editor event's result: the buffer and the cursor (0-based line and character).
State = tuple[str, int, int]


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


def typed(lines: list[str], number: int, text: str, max_chars: int) -> list[State]:
    """States typing ``text`` (newlines included) at the start of the blank line ``number`` of ``lines``."""
    text = text[: max_chars or None]
    head, tail = lines[:number], lines[number + 1 :]
    states: list[State] = []
    for end in range(len(text) + 1):
        written = text[:end].split("\n")
        states.append(("\n".join(head + written + tail), number + len(written) - 1, len(written[-1])))
    return states


def type_line(lines: list[str], number: int, max_chars: int, rng: random.Random) -> list[State]:
    original = lines[number]
    indent = original[: len(original) - len(original.lstrip())]
    return typed(lines, number, indent + original.strip(), max_chars and len(indent) + max_chars)[len(indent) :]


def type_lines(lines: list[str], number: int, max_chars: int, rng: random.Random) -> list[State]:
    block = "\n".join(lines[number : number + TYPED_LINES])
    indent = block[: len(block) - len(block.lstrip(" \t"))]
    rest = lines[:number] + [""] + lines[number + TYPED_LINES :]
    return typed(rest, number, block, max_chars and len(indent) + max_chars)[len(indent) :]


def paste(lines: list[str], number: int, max_chars: int, rng: random.Random) -> list[State]:
    """The line's end, then a block of another part of the file pasted after it, then a few typed characters."""
    others = [n for n in range(len(lines) - PASTED_LINES) if abs(n - number) > PASTED_LINES]
    start = rng.choice(others)
    block = lines[start : start + PASTED_LINES]
    before: State = ("\n".join(lines), number, len(lines[number]))
    pasted = [*lines[: number + 1], *block, ""]
    after = lines[number + 1 :]
    return [before, *typed(pasted + after, number + PASTED_LINES + 1, "x = "[:TYPED_AFTER_PASTE], 0)]


def delete(lines: list[str], number: int, max_chars: int, rng: random.Random) -> list[State]:
    """Backspaces at the line's end, then whole lines below it deleted one at a time."""
    line = lines[number]
    kept = max(len(line) - DELETED_CHARS, len(line) - len(line.lstrip()))
    current = list(lines)
    states: list[State] = []
    for end in range(len(line), kept - 1, -1):
        current[number] = line[:end]
        states.append(("\n".join(current), number, end))
    for _ in range(min(DELETED_LINES, len(current) - number - 1)):
        del current[number + 1]
        states.append(("\n".join(current), number, kept))
    return states


def move(engine: Engine, path: str, lines: list[str], rng: random.Random) -> list[State]:
    """The unchanged buffer with the cursor on the first body line of up to `MOVES` functions in turn."""
    starts = sorted({d.line + 1 for d in engine.definitions(path)
                     if d.kind in ("function", "method") and d.line + 1 < len(lines)})
    visits = rng.sample(starts, min(MOVES, len(starts)))
    text = "\n".join(lines)
    return [(text, n, len(lines[n])) for n in visits] if len(visits) > 1 else []


EDITS: dict[str, Callable[[list[str], int, int, random.Random], list[State]]] = {
    "type-line": type_line, "type-lines": type_lines, "paste": paste, "delete": delete,
}
NAMES = {"type-line": "type in a line", "type-lines": "type across lines", "paste": "paste a block",
         "delete": "delete", "move": "move between functions"}


def shared_share(current: np.ndarray, previous: np.ndarray) -> float:
    """Share of ``current``'s tokens equal to ``previous``'s leading tokens (longest common prefix)."""
    length = min(len(current), len(previous))
    differ = np.nonzero(current[:length] != previous[:length])[0]
    same = int(differ[0]) if len(differ) else length
    return same / len(current)


@dataclass
class Scores:
    """Per kind and budget: our shares and times (ms), and the buffer-alone baseline's shares."""

    ours: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    alone: list[float] = field(default_factory=list)


def replay(engine: Engine, path: str, states: list[State], budget: int, scores: Scores) -> None:
    """Send each state as the overlay of ``path``, assemble a prompt (and the baseline's) and score it against
    the previous one."""
    previous: tuple[np.ndarray, np.ndarray] | None = None
    try:
        for buffer, line, character in states:
            engine.set_overlay(path, buffer)
            started = time.perf_counter()
            prompt = engine.fim_prompt(path, line, character, budget=budget)
            scores.times.append((time.perf_counter() - started) * 1000)
            baseline = buffer_fim_prompt(path, buffer, line, character, budget=budget)
            ids = (np.asarray(tokens.encode(prompt.text), dtype=np.int64),
                   np.asarray(tokens.encode(baseline.text), dtype=np.int64))
            if previous is not None:
                scores.ours.append(shared_share(ids[0], previous[0]))
                scores.alone.append(shared_share(ids[1], previous[1]))
            previous = ids
    finally:
        engine.clear_overlay(path)


def report(kind: str, budget: int, scores: Scores) -> None:
    if not scores.ours:
        print(f"{NAMES[kind]:>22} @{budget // 1024}K: no events")
        return
    ours, alone = statistics.fmean(scores.ours), statistics.fmean(scores.alone)
    p95 = sorted(scores.times)[int(0.95 * (len(scores.times) - 1))]
    verdict = f" (target >= {TARGET}) {'ok' if ours >= TARGET else 'BELOW TARGET'}" if kind == "type-line" else ""
    print(f"{NAMES[kind]:>22} @{budget // 1024}K: shared leading-token share {ours:.3f}{verdict}, min "
          f"{min(scores.ours):.3f}; buffer alone {alone:.3f} (ratio {ours / max(alone, 1e-9):.2f}x); "
          f"{len(scores.ours)} events; assembly p50 {statistics.median(scores.times):.1f} ms, p95 {p95:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of one repository per language"
    )
    parser.add_argument("--repo", type=Path, help="repository to edit in (default: the corpus's largest)")
    parser.add_argument("--lines", type=int, default=50, help="places edited per kind (default 50)")
    parser.add_argument(
        "--max-chars", type=int, default=0,
        help="characters typed per place at most, for a quicker run (default 0: all of them)"
    )
    parser.add_argument("--kinds", nargs="*", choices=[*EDITS, "move"], default=[*EDITS, "move"])
    parser.add_argument("--budgets", nargs="*", type=int, default=list(BUDGETS))
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
        print(f"editing at {len(picked)} places of {root.name} ({len(engine.files())} files)", file=sys.stderr)
        for kind in args.kinds:
            for budget in args.budgets:
                scores = Scores()
                rng = random.Random(args.seed)
                for path, number in picked:
                    lines = engine.text(path).split("\n")
                    states = (move(engine, path, lines, rng) if kind == "move"
                              else EDITS[kind](lines, number, args.max_chars, rng))
                    replay(engine, path, states, budget, scores)
                report(kind, budget, scores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
