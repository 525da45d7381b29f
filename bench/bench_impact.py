"""Impact recall of review contexts: does the context of a change show the other files that change breaks?

Cases come from consecutive releases of real projects (`bench/fetch_impact.py`; the only network here is the
package registries, so a release pair stands in for a commit). A case is a file F whose definitions changed
signature, or were removed or renamed, between two releases, together with the other files whose lines using
one of those names also changed between the releases: the *impacted* files, which the same change had to edit.

Each case is replayed on the old release: the old tree is a git repository, F alone is given its new text, and
the review context of the uncommitted change is asked for. An impacted file is *recalled* at a budget when one
of its lines that uses a changed name (in the old release) is in the context. Printed for the same cases and
budgets, in the same run:

- ``engine``: ``context.review`` (the prompt's numbered file lines are what counts);
- ``diff``: the diff alone with 10 lines of context (``git diff -U10``), cut to the budget;
- ``grep``: the diff (3 lines of context, up to half the budget) then ``git grep -w -n -C3`` of the changed
  names, file by file, most hits first, while the budget holds.

It also times the review assembly (wall and process CPU) per case; ``--timing-repo`` times it on a given
repository of at least 5,000 files (the target's size).

    .venv/bin/python bench/bench_impact.py [--dest .scratch/impact] [--cases 30] [--budgets 4096 8192 32768]
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from context.engine import Engine, EngineConfig
from context.index.languages import language_for
from context.index.parse import parse_source
from context.prompt import tokens
from context.review import review
from context.review.changes import FOLLOWED_KINDS

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fetch_impact import DEFAULT_DEST, SERIES

BUDGETS = (4096, 8192, 32768)
#: Names too short or too generic to call a use of them a use of the changed definition.
MIN_NAME = 4
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "bench@example.com", "PATH": "/usr/bin:/bin:/usr/local/bin"}


@dataclass(frozen=True)
class Case:
    """A replayed change: F's new text, the changed names, and the impacted files' use lines (0-based)."""

    series: str
    old: str
    new: str
    path: str
    new_text: str
    names: tuple[str, ...]
    impacted: dict[str, frozenset[int]]


#: Languages whose files use each other's names (a Python name in a JavaScript file is a coincidence).
FAMILIES = {"typescript": "js", "tsx": "js", "javascript": "js", "c": "c", "cpp": "c"}


def _family(path: str) -> str:
    language = language_for(path) or ""
    return FAMILIES.get(language, language)


def _files(root: Path) -> dict[str, Path]:
    """The parsed-language source files of a release, minified bundles left out."""
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*")
            if p.is_file() and language_for(p.name) is not None and ".min." not in p.name}


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _signatures(path: str, text: str) -> dict[str, tuple[str, str]]:
    """qualname -> (name, signature with whitespace collapsed) of the followed definitions of a file."""
    language = language_for(path)
    if language is None:
        return {}
    return {d.qualname: (d.name, " ".join(d.signature.split()))
            for d in parse_source(path, text.encode("utf-8", "surrogatepass"), language).definitions
            if d.kind in FOLLOWED_KINDS}


def _changed_names(path: str, old: str, new: str) -> set[str]:
    """Names of definitions whose signature changed, or that the new text no longer has."""
    before, after = _signatures(path, old), _signatures(path, new)
    return {name for qualname, (name, signature) in before.items()
            if (qualname not in after or after[qualname][1] != signature)
            and len(name) >= MIN_NAME and not name.startswith("__")}


def _removed_lines(old: list[str], new: list[str]) -> set[int]:
    """0-based lines of ``old`` that the new text replaced or deleted."""
    gone: set[int] = set()
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            gone.update(range(i1, i2))
    return gone


def _word(names: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w$])(?:" + "|".join(re.escape(n) for n in sorted(names)) + r")(?![\w$])")


def mine(series: str, old_root: Path, new_root: Path, old: str, new: str) -> list[Case]:
    """The cases of one release pair."""
    old_files, new_files = _files(old_root), _files(new_root)
    both = sorted(p for p in old_files if p in new_files)
    texts = {p: (_read(old_files[p]), _read(new_files[p])) for p in both}
    changed = [p for p in both if texts[p][0] != texts[p][1]]
    removed = {p: _removed_lines(texts[p][0].splitlines(), texts[p][1].splitlines()) for p in changed}
    cases: list[Case] = []
    for path in changed:
        names = _changed_names(path, *texts[path])
        if not names:
            continue
        pattern = _word(names)
        impacted: dict[str, frozenset[int]] = {}
        for other in changed:
            if other == path or _family(other) != _family(path):
                continue
            uses = {n for n, line in enumerate(texts[other][0].splitlines()) if pattern.search(line)}
            if uses & removed[other]:
                impacted[other] = frozenset(uses)
        if impacted:
            cases.append(Case(series, old, new, path, texts[path][1], tuple(sorted(names)), impacted))
    return cases


# --- contexts ----------------------------------------------------------------------------------------------


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, env=GIT_ENV, capture_output=True, text=True, check=True,
                          timeout=300).stdout


_BLOCK = re.compile(r"^`([^`\n]+)`\n(`{3,})[^\n]*\n(.*?)^\2$", re.MULTILINE | re.DOTALL)
_NUMBERED = re.compile(r"^(\d+)\| ", re.MULTILINE)


def engine_lines(prompt: str) -> set[tuple[str, int]]:
    """The (path, 0-based line) pairs of the numbered file blocks of a review prompt."""
    return {(m.group(1), int(n.group(1)) - 1) for m in _BLOCK.finditer(prompt)
            for n in _NUMBERED.finditer(m.group(3))}


def _cut(text: str, budget: int) -> str:
    """``text``'s first lines within ``budget`` tokens."""
    kept, used = [], 0
    for line in text.splitlines(keepends=True):
        used += tokens.count(line)
        if used > budget:
            break
        kept.append(line)
    return "".join(kept)


def diff_lines(root: Path, budget: int) -> set[tuple[str, int]]:
    """The (path, old 0-based line) pairs of the diff-only context: ``git diff -U10`` cut to the budget."""
    shown: set[tuple[str, int]] = set()
    path, line = "", 0
    for raw in _cut(git(root, "diff", "-U10", "HEAD"), budget).splitlines():
        if raw.startswith("--- "):
            path = raw[6:] if raw.startswith("--- a/") else ""
        elif raw.startswith("@@"):
            line = int(re.match(r"@@ -(\d+)", raw).group(1)) - 1  # type: ignore[union-attr]
        elif raw[:1] in (" ", "-") and path:
            shown.add((path, line))
            line += 1
    return shown


def grep_lines(root: Path, names: tuple[str, ...], budget: int) -> set[tuple[str, int]]:
    """The (path, line) pairs of the grep baseline's context: the diff, then grep hits by file, most first."""
    diff = _cut(git(root, "diff", "-U3", "HEAD"), budget // 2)
    left = budget - tokens.count(diff)
    args = ["grep", "-w", "-n", "-C3", "-I"] + [x for name in names for x in ("-e", name)]
    done = subprocess.run(["git", *args], cwd=root, env=GIT_ENV, capture_output=True, text=True, timeout=300,
                          check=False)
    chunks: dict[str, list[str]] = defaultdict(list)
    hits: dict[str, int] = defaultdict(int)
    lines: dict[str, set[int]] = defaultdict(set)
    for raw in done.stdout.splitlines():
        match = re.match(r"^(.+?)([:-])(\d+)\2", raw)
        if match is None:
            continue
        path, mark, number = match.group(1), match.group(2), int(match.group(3))
        chunks[path].append(raw + "\n")
        lines[path].add(number - 1)
        hits[path] += mark == ":"
    shown: set[tuple[str, int]] = set()
    for path in sorted(chunks, key=lambda p: (-hits[p], p)):
        cost = tokens.count("".join(chunks[path]))
        if cost <= left:
            left -= cost
            shown.update((path, n) for n in lines[path])
    return shown


def recalled(case: Case, shown: set[tuple[str, int]]) -> int:
    return sum(1 for path, uses in case.impacted.items() if any((path, n) in shown for n in uses))


# --- running -----------------------------------------------------------------------------------------------


@dataclass
class Tally:
    impacted: int = 0
    found: dict[tuple[str, int], int] | None = None

    def add(self, method: str, budget: int, hits: int) -> None:
        self.found = self.found or defaultdict(int)
        self.found[(method, budget)] += hits


def replay(root: Path, engine: Engine, case: Case, budgets: tuple[int, ...], tally: Tally,
           times: list[tuple[float, float]]) -> None:
    target = root / case.path
    original = target.read_bytes()
    target.write_text(case.new_text, encoding="utf-8")
    try:
        engine.update([case.path])
        tally.impacted += len(case.impacted)
        for budget in budgets:
            wall, cpu = time.perf_counter(), time.process_time()
            result = review(engine, budget=budget)
            times.append((time.perf_counter() - wall, time.process_time() - cpu))
            assert result.tokens <= budget
            tally.add("engine", budget, recalled(case, engine_lines(result.messages[-1]["content"])))
            tally.add("diff", budget, recalled(case, diff_lines(root, budget)))
            tally.add("grep", budget, recalled(case, grep_lines(root, case.names, budget)))
    finally:
        target.write_bytes(original)
        engine.update([case.path])


def repository(old_root: Path, work: Path) -> Path:
    """A git repository holding the old release, committed."""
    root = work / "repo"
    shutil.copytree(old_root, root, ignore=shutil.ignore_patterns(".corpus-complete"))
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "old release")
    return root


def run_series(key: str, dest: Path, budgets: tuple[int, ...], max_cases: int,
               times: list[tuple[float, float]]) -> tuple[Tally, int, int]:
    """Replay up to ``max_cases`` cases of each release pair of one series; (tally, cases, files)."""
    spec = SERIES[key]
    tally = Tally()
    count = files = 0
    for old, new in zip(spec.versions, spec.versions[1:], strict=False):
        cases = mine(key, dest / key / old, dest / key / new, old, new)[:max_cases]
        with tempfile.TemporaryDirectory(prefix="impact-") as scratch:
            root = repository(dest / key / old, Path(scratch))
            config = EngineConfig(cache_dir=Path(scratch) / "cache")
            with Engine(root, config) as engine:
                files = max(files, engine.index().files)
                for case in cases:
                    replay(root, engine, case, budgets, tally, times)
        count += len(cases)
        print(f"  {key} {old} -> {new}: {len(cases)} cases", file=sys.stderr)
    return tally, count, files


def time_on(repo: Path, budget: int) -> None:
    """Time review assembly on a large repository: one definition file changed (a def line edited)."""
    with tempfile.TemporaryDirectory(prefix="impact-timing-") as scratch:
        root = repository(repo, Path(scratch))
        with Engine(root, EngineConfig(cache_dir=Path(scratch) / "cache")) as engine:
            report = engine.index()
            target = next(p for p in sorted(engine.files()) if p.endswith(".py") and engine.definitions(p))
            definition = engine.definitions(target)[0]
            lines = (root / target).read_text(encoding="utf-8").splitlines(keepends=True)
            lines[definition.line] = lines[definition.line].replace(definition.name, definition.name + "_renamed", 1)
            (root / target).write_text("".join(lines), encoding="utf-8")
            engine.update([target])
            walls, cpus = [], []
            for _ in range(5):
                wall, cpu = time.perf_counter(), time.process_time()
                review(engine, budget=budget)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
    print(f"timing on {report.files} files ({target}, {definition.name} renamed), budget {budget}: "
          f"wall p50 {statistics.median(walls) * 1000:.0f} ms max {max(walls) * 1000:.0f} ms, "
          f"CPU p50 {statistics.median(cpus) * 1000:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help=f"releases folder (default {DEFAULT_DEST})")
    parser.add_argument("--series", nargs="+", default=list(SERIES), help="series to run (default: all)")
    parser.add_argument("--cases", type=int, default=30, help="at most N cases per release pair (default 30)")
    parser.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    parser.add_argument("--timing-repo", type=Path, help="also time review assembly on this repository")
    args = parser.parse_args(argv)
    budgets = tuple(args.budgets)
    times: list[tuple[float, float]] = []
    totals = Tally()
    header = "  ".join(f"{method} {b // 1024}K" for b in budgets for method in ("engine", "grep", "diff"))
    print(f"{'series':<14} {'lang':<11} {'files':>5} {'cases':>5} {'impacted':>8}  {header}")
    for key in args.series:
        tally, count, files = run_series(key, args.dest.resolve(), budgets, args.cases, times)
        totals.impacted += tally.impacted
        for k, v in (tally.found or {}).items():
            totals.add(*k, v)
        _row(key, SERIES[key].language, files, count, tally, budgets)
    _row("all", "", 0, 0, totals, budgets)
    if times:
        walls = sorted(t[0] for t in times)
        cpus = sorted(t[1] for t in times)
        print(f"review assembly over {len(times)} calls: wall p50 {statistics.median(walls) * 1000:.0f} ms, "
              f"p95 {walls[int(len(walls) * 0.95)] * 1000:.0f} ms, max {walls[-1] * 1000:.0f} ms; "
              f"CPU p50 {statistics.median(cpus) * 1000:.0f} ms")
    if args.timing_repo is not None:
        time_on(args.timing_repo.resolve(), 8192)
    return 0


def _row(key: str, language: str, files: int, cases: int, tally: Tally, budgets: tuple[int, ...]) -> None:
    found = tally.found or {}
    cells = []
    for budget in budgets:
        engine, grep, diff = (found.get((m, budget), 0) / max(tally.impacted, 1) for m in ("engine", "grep", "diff"))
        cells.append(f"{engine:>9.3f}  {grep:>7.3f}  {diff:>7.3f}")
    print(f"{key:<14} {language:<11} {files or '':>5} {cases or '':>5} {tally.impacted:>8}  {'  '.join(cells)}")


if __name__ == "__main__":
    sys.exit(main())
