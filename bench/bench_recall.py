"""Cross-file recall of FIM prompts on honest cases, against three baselines, and prompt-assembly time.

Cases come from `recall_cases` (bench/recall_cases.py): uses of a name defined in another file of the
repository, label noise filtered, spread over definitions and files, *hard* when the definition is a member
reached through a receiver or type. Each project of the recall set (``bench/fetch_corpus.py --set recall``,
``.scratch/recall/<project>``) is indexed as its own repository. The buffer is cut at the name (what precedes
it on the line stays), set as the engine's overlay, and the cursor put there; a case is *recalled* at a budget
when the definition's signature line is in the repository part of the prompt.

Baselines, on the same budget (the total minus what our prompt spends on the current file, so all see the
same current-file view):
- ``bm25``: BM25 over 20-line windows (stride 10) of the other files, queried with the file's import lines
  and the 20 lines before the cursor (RepoCoder/CrossCodeEval style, with the imports the engine sees too);
- ``folder``: whole files of the current file's folder (the open-tabs heuristic), in path order;
- ``imp+folder``: whole files the current file imports (in import order), then the folder's files: what any
  editor can pack without an index.

Timing, on ``--timing-repo`` (default: ``.scratch/corpus/python``, 5,143 files, when fetched): prompt assembly
at 8K and 256K, *warm* (a server's steady state: index loaded, a different cursor each time, p50/p95) and
*cold* (a new process per cursor: open the index, one request; the first request's time and the whole
process's).

    .venv/bin/python bench/bench_recall.py [--recall .scratch/recall] [--cases 40] [--timing-cases 40]

Cases are sampled with a fixed seed, so two runs measure the same cases.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from recall_cases import Case, CaseFinder

from context.engine import Engine, EngineConfig
from context.errors import QwenContextError
from context.prompt import tokens

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RECALL = ROOT / ".scratch" / "recall"
DEFAULT_TIMING = ROOT / ".scratch" / "corpus" / "python"
BUDGETS = (2048, 8192, 32768)
TIMING_BUDGETS = (8192, 262144)
TARGETS = {2048: 0.88, 8192: 0.97, 32768: 0.99}
HARD_TARGETS = {2048: 0.70, 8192: 0.90, 32768: 0.97}
LANGUAGE_TARGET_2K = 0.80
TIMING_TARGETS_MS = {8192: 30.0, 262144: 300.0}
METHODS = ("ours", "bm25", "folder", "imp+folder")
WINDOW, STRIDE = 20, 10
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Results of one group of cases: method -> budget -> recalled or not, per case.
Hits = dict[str, dict[int, list[bool]]]


def _empty() -> Hits:
    return {m: {b: [] for b in BUDGETS} for m in METHODS}


class WindowIndex:
    """BM25 over 20-line windows (stride 10) of every file: the RepoCoder-style baseline."""

    def __init__(self, engine: Engine) -> None:
        self.windows: list[tuple[str, str]] = []
        self.lengths: list[int] = []
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for path in engine.files():
            try:
                lines = engine.text(path).split("\n")
            except QwenContextError:
                continue
            for start in range(0, max(len(lines) - WINDOW, 0) + 1, STRIDE):
                text = "\n".join(lines[start : start + WINDOW])
                words = Counter(w.lower() for w in _WORD.findall(text))
                index = len(self.windows)
                self.windows.append((path, text))
                self.lengths.append(sum(words.values()))
                for word, frequency in words.items():
                    self.postings[word].append((index, frequency))
        self.average = sum(self.lengths) / max(len(self.lengths), 1)

    def search(self, query: str, exclude: str) -> list[int]:
        scores: dict[int, float] = defaultdict(float)
        total = len(self.windows)
        for word in {w.lower() for w in _WORD.findall(query)}:
            postings = self.postings.get(word)
            if not postings:
                continue
            idf = math.log(1 + (total - len(postings) + 0.5) / (len(postings) + 0.5))
            for index, frequency in postings:
                norm = 1.2 * (0.25 + 0.75 * self.lengths[index] / self.average)
                scores[index] += idf * frequency * 2.2 / (frequency + norm)
        ranked = sorted(scores, key=lambda i: (-scores[i], i))
        return [i for i in ranked if self.windows[i][0] != exclude]


def pack_blocks(blocks: list[tuple[str, str]], budget: int) -> str:
    """``<|file_sep|>path\\ncontent\\n`` blocks in order while they fit in ``budget`` tokens."""
    parts: list[str] = []
    used = 0
    misses = 0
    for path, content in blocks:
        block = f"{tokens.FILE_SEP}{path}\n{content}\n"
        cost = tokens.count(block)
        if used + cost <= budget:
            parts.append(block)
            used += cost
            misses = 0
        else:
            misses += 1
            if misses > 50 or budget - used < 16:
                break
    return "".join(parts)


def folder_files(engine: Engine, path: str) -> list[str]:
    folder = path.rpartition("/")[0]
    return [p for p in engine.files() if p != path and p.rpartition("/")[0] == folder]


def imports_folder_files(engine: Engine, path: str) -> list[str]:
    """Whole imported files in import order, then the folder's files: what an editor packs without an index."""
    imported = [imp.resolved for imp in engine.imports(path) if imp.resolved and imp.resolved != path]
    return list(dict.fromkeys([*imported, *folder_files(engine, path)]))


def bm25_query(engine: Engine, buffer: str, case: Case) -> str:
    lines = buffer.split("\n")
    import_lines = [lines[imp.line] for imp in engine.imports(case.path) if 0 <= imp.line < len(lines)]
    return "\n".join([*import_lines, *lines[max(case.line - WINDOW, 0) : case.line + 1]])


def repository_part(prompt_text: str) -> str:
    """The prompt without its last (current) file."""
    return prompt_text[: prompt_text.rfind(tokens.FILE_SEP)]


def run_project(
    root: Path, cases_wanted: int, seed: int, cache: Path | None, show_misses: bool = False
) -> tuple[list[Case], Hits]:
    """The project's cases and, per method and budget, which were recalled; with ``show_misses``, each case our
    prompt misses is printed to stderr with the budgets it is missed at (to read what the engine could not
    reach)."""
    results = _empty()
    with Engine(root, EngineConfig(cache_dir=cache)) as engine:
        report = engine.index()
        cases = CaseFinder(engine, root.name).find(cases_wanted, random.Random(seed))
        index = WindowIndex(engine)
        print(f"  {root.name}: {report.files} files, {len(cases)} cases "
              f"({sum(c.hard for c in cases)} hard)", file=sys.stderr)
        kept: list[Case] = []
        for case in cases:
            buffer = case.buffer(engine.text(case.path))
            try:
                engine.set_overlay(case.path, buffer)
            except QwenContextError:
                print(f"  skipped {case.path}:{case.line + 1}: overlay failed", file=sys.stderr)
                continue
            kept.append(case)
            try:
                texts = {p: engine.text(p) for p in imports_folder_files(engine, case.path)}
                folder = [(p, texts[p]) for p in folder_files(engine, case.path)]
                both = [(p, texts[p]) for p in texts]
                windows = [index.windows[i] for i in index.search(bm25_query(engine, buffer, case), case.path)[:400]]
                for budget in BUDGETS:
                    prompt = engine.fim_prompt(case.path, case.line, case.column, budget=budget)
                    room = budget - prompt.sections[-1].tokens - tokens.count(f"{tokens.REPO_NAME}{root.name}\n")
                    packed = {
                        "ours": repository_part(prompt.text),
                        "bm25": pack_blocks(windows, room),
                        "folder": pack_blocks(folder, room),
                        "imp+folder": pack_blocks(both, room),
                    }
                    for method, text in packed.items():
                        results[method][budget].append(case.recalled(text))
                missed = [f"{b // 1024}K" for b in BUDGETS if not results["ours"][b][-1]]
                if show_misses and missed:
                    print(f"  miss@{','.join(missed)} {case.path}:{case.line + 1}:{case.column + 1} {case.name} "
                          f"-> {case.definition_path} ({'hard' if case.hard else 'direct'})", file=sys.stderr)
            finally:
                engine.clear_overlay(case.path)
    return kept, results


def _cursors(engine: Engine, count: int, seed: int) -> list[Case]:
    return CaseFinder(engine, engine.root.name).find(count, random.Random(seed + 1))


def time_warm(
    root: Path, count: int, seed: int, cache: Path | None
) -> tuple[int, dict[int, list[float]], dict[int, list[float]]]:
    """Warm prompt-assembly times (ms) per budget: index loaded, a fresh cursor (and overlay) each time; wall
    time and the process's CPU time (wall time also counts waiting for a core shared with other work)."""
    times: dict[int, list[float]] = {b: [] for b in TIMING_BUDGETS}
    cpu: dict[int, list[float]] = {b: [] for b in TIMING_BUDGETS}
    with Engine(root, EngineConfig(cache_dir=cache)) as engine:
        engine.index()
        cases = _cursors(engine, count, seed)
        for path in engine.files():  # a warm index: every file's symbols and text loaded once, as in a server
            engine.definitions(path)
            engine.text(path)
        for budget in TIMING_BUDGETS:  # warm-up: the graph, token counts of the files
            engine.fim_prompt(cases[0].path, cases[0].line, cases[0].column, budget=budget,
                              buffer=cases[0].buffer(engine.text(cases[0].path)))
        for case in cases:
            engine.set_overlay(case.path, case.buffer(engine.text(case.path)))
            try:
                for budget in TIMING_BUDGETS:
                    started, started_cpu = time.perf_counter(), time.process_time()
                    engine.fim_prompt(case.path, case.line, case.column, budget=budget)
                    times[budget].append((time.perf_counter() - started) * 1000)
                    cpu[budget].append((time.process_time() - started_cpu) * 1000)
            finally:
                engine.clear_overlay(case.path)
        return len(engine.files()), times, cpu


def cold_probe(root: Path, path: str, line: int, column: int, cache: Path | None, prepare: bool) -> None:
    """In a new process: open the (already built) index, with ``prepare`` run `Engine.prepare` (as qwen-lsp
    does after its first index), and time one request per budget; print JSON."""
    started = time.perf_counter()
    with Engine(root, EngineConfig(cache_dir=cache)) as engine:
        engine.index()
        opened = time.perf_counter()
        if prepare:
            engine.prepare()
        prepared = time.perf_counter()
        buffer = engine.text(path).split("\n")
        buffer[line] = buffer[line][:column]
        first: dict[int, float] = {}
        for budget in TIMING_BUDGETS:
            begun = time.perf_counter()
            engine.fim_prompt(path, line, column, budget=budget, buffer="\n".join(buffer))
            first[budget] = (time.perf_counter() - begun) * 1000
    print(json.dumps({"open": (opened - started) * 1000, "prepare": (prepared - opened) * 1000, "first": first}))


def time_cold(root: Path, count: int, seed: int, cache: Path | None, prepare: bool = False) -> list[dict[str, object]]:
    """Cold figures: one new process per cursor (at most ``count``), the index already on disk."""
    with Engine(root, EngineConfig(cache_dir=cache)) as engine:
        engine.index()
        cases = _cursors(engine, count, seed + 7)
    probes = []
    for case in cases:
        command = [sys.executable, __file__, "--cold-probe", str(root), case.path, str(case.line), str(case.column),
                   "prepare" if prepare else "plain"]
        if cache:
            command += ["--cache-dir", str(cache)]
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
        probes.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return probes


def _rate(hits: list[bool]) -> str:
    return f"{sum(hits) / len(hits):.3f}" if hits else "  -  "


def print_table(rows: list[tuple[str, int, Hits]]) -> None:
    header = f"{'group':<16} {'cases':>5}  " + "  ".join(
        f"{m + '@' + str(b // 1024) + 'K':>13}" for b in BUDGETS for m in METHODS
    )
    print(header)
    for name, count, results in rows:
        cells = "  ".join(f"{_rate(results[m][b]):>13}" for b in BUDGETS for m in METHODS)
        print(f"{name:<16} {count:>5}  {cells}")


def _add(into: Hits, results: Hits, keep: list[bool] | None = None) -> None:
    for method, by_budget in results.items():
        for budget, hits in by_budget.items():
            into[method][budget].extend(h for h, k in zip(hits, keep or [True] * len(hits), strict=True) if k)


def recall(args: argparse.Namespace) -> None:
    folders = sorted(p for p in args.recall.iterdir() if p.is_dir() and (not args.projects or p.name in args.projects))
    total, hard = _empty(), _empty()
    by_language: dict[str, Hits] = defaultdict(_empty)
    counts: Counter[str] = Counter()
    project_rows: list[tuple[str, int, Hits]] = []
    print(f"cross-file recall, up to {args.cases} cases per project, seed {args.seed}", file=sys.stderr)
    for folder in folders:
        cases, results = run_project(folder, args.cases, args.seed, args.cache_dir, args.show_misses)
        if not cases:
            continue
        project_rows.append((folder.name, len(cases), results))
        _add(total, results)
        _add(hard, results, [c.hard for c in cases])
        for language in {c.language for c in cases}:
            _add(by_language[language], results, [c.language == language for c in cases])
            counts[language] += sum(c.language == language for c in cases)
        counts["hard"] += sum(c.hard for c in cases)
        counts["overall"] += len(cases)
    print_table(project_rows)
    print()
    print_table(
        [(language, counts[language], by_language[language]) for language in sorted(by_language)]
        + [("hard", counts["hard"], hard), ("overall", counts["overall"], total)]
    )
    for budget in BUDGETS:
        ours = sum(total["ours"][budget]) / len(total["ours"][budget])
        ours_hard = sum(hard["ours"][budget]) / max(len(hard["ours"][budget]), 1)
        baseline = sum(total["imp+folder"][budget]) / len(total["imp+folder"][budget])
        print(
            f"recall@{budget // 1024}K overall {ours:.3f} (target >= {TARGETS[budget]}) "
            f"{'ok' if ours >= TARGETS[budget] else 'BELOW TARGET'}; hard {ours_hard:.3f} "
            f"(target >= {HARD_TARGETS[budget]}) {'ok' if ours_hard >= HARD_TARGETS[budget] else 'BELOW TARGET'}; "
            f"imports+folder {baseline:.3f}, ratio {ours / max(baseline, 1e-9):.2f}x"
        )
    weak = [
        f"{language} {sum(h['ours'][2048]) / len(h['ours'][2048]):.3f}"
        for language, h in sorted(by_language.items())
        if sum(h["ours"][2048]) / len(h["ours"][2048]) < LANGUAGE_TARGET_2K
    ]
    print(f"languages under {LANGUAGE_TARGET_2K} at 2K: {', '.join(weak) or 'none'}")


def timing(args: argparse.Namespace) -> None:
    root = args.timing_repo if args.timing_repo.is_dir() else max(
        (p for p in args.recall.iterdir() if p.is_dir()), key=lambda p: sum(1 for _ in p.rglob("*"))
    )
    files, warm, cpu = time_warm(root, args.timing_cases, args.seed, args.cache_dir)
    probes = time_cold(root, args.cold_cases, args.seed, args.cache_dir)
    prepared = time_cold(root, args.cold_cases, args.seed, args.cache_dir, prepare=True)
    for budget in TIMING_BUDGETS:
        cold = [float(p["first"][str(budget)]) for p in probes]  # type: ignore[index]
        after = [float(p["first"][str(budget)]) for p in prepared]  # type: ignore[index]
        p50 = statistics.median(warm[budget])
        print(
            f"prompt assembly @{budget // 1024}K on {root.name} ({files} files): warm p50 {p50:.1f} ms, "
            f"p95 {sorted(warm[budget])[int(0.95 * (len(warm[budget]) - 1))]:.1f} ms ({len(warm[budget])} cursors; "
            f"target p50 < {TIMING_TARGETS_MS[budget]:.0f} ms {'ok' if p50 < TIMING_TARGETS_MS[budget] else 'ABOVE'}); "
            f"CPU p50 {statistics.median(cpu[budget]):.1f} ms; cold first request p50 {statistics.median(cold):.1f} ms ({len(cold)} new processes), "
            f"after Engine.prepare() p50 {statistics.median(after):.1f} ms"
        )
    opened = [float(p["open"]) for p in probes]  # type: ignore[arg-type]
    print(f"cold: opening the index in a new process p50 {statistics.median(opened):.0f} ms; Engine.prepare() "
          f"(qwen-lsp runs it after its first index) p50 {statistics.median(float(p['prepare']) for p in prepared):.0f} ms")  # type: ignore[arg-type]


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--cold-probe":
        cache = Path(sys.argv[8]) if len(sys.argv) > 8 else None
        cold_probe(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), cache, sys.argv[6] == "prepare")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recall", type=Path, default=DEFAULT_RECALL, help="folder of one repository per project")
    parser.add_argument("--projects", nargs="*", help="only these sub-folders")
    parser.add_argument("--cases", type=int, default=40, help="cases per project (default 40)")
    parser.add_argument("--timing-cases", type=int, default=40, help="warm cursors timed per budget (default 40)")
    parser.add_argument("--cold-cases", type=int, default=5, help="new processes timed (default 5)")
    parser.add_argument("--timing-repo", type=Path, default=DEFAULT_TIMING, help="repository to time on")
    parser.add_argument("--no-timing", action="store_true", help="recall only")
    parser.add_argument("--no-recall", action="store_true", help="timing only")
    parser.add_argument(
        "--show-misses", action="store_true", help="print each case our prompt misses, with the budgets"
    )
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--cache-dir", type=Path, help="index cache folder (default: the engine's)")
    args = parser.parse_args()
    if not args.no_recall:
        recall(args)
    if not args.no_timing:
        timing(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
