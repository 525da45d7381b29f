"""Cross-file recall of FIM prompts, against two baselines, and prompt-assembly time.

A case is a line that calls a top-level function or uses a type defined (once, unambiguously) in another file
that the current file imports or that shares its folder (its package, in Go, Java or C). The line is
blanked in the buffer (indentation kept), the buffer is set as the engine's overlay (so the index forgets the
line too) and the cursor is put after the indentation. A case is *recalled* at a budget when the definition's
signature line (its source line, stripped) appears in the repository part of the prompt.

Baselines, on the same budget (the total minus what our prompt spends on the current file, so all three see
the same current-file view):
- ``bm25``: BM25 over 20-line windows (stride 10) of the other files, queried with the 20 lines before the
  cursor
  (RepoCoder/CrossCodeEval style), best windows first;
- ``folder``: whole files of the current file's folder (the open-tabs heuristic), in path order.

It also times prompt assembly (p50/p95, warm index, a different cursor each time) at 8K and 256K tokens on the
largest repository (the targets need one of at least 2,000 files).

    .venv/bin/python bench/bench_recall.py [--corpus .scratch/corpus] [--cases 60] [--timing-cases 40]

Languages are the sub-folders of the corpus (made by bench/fetch_corpus.py); each is indexed as one
repository. Cases are sampled with a fixed seed, so two runs measure the same cases.
"""

from __future__ import annotations

import argparse
import builtins
import math
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from context.engine import Engine, EngineConfig
from context.errors import QwenContextError
from context.prompt import tokens

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / ".scratch" / "corpus"
BUDGETS = (2048, 8192, 32768)
TIMING_BUDGETS = (8192, 262144)
TARGETS = {2048: 0.85, 8192: 0.95, 32768: 0.98}
TIMING_TARGETS_MS = {8192: 30.0, 262144: 300.0}
WINDOW, STRIDE = 20, 10
MIN_NAME = 3
#: Cases target functions and types (module functions and namespaced classes included), not methods: a method
#: of the same name is too often a different object's (``core_schema.str_schema()`` of an external package vs
#: a repository class's ``str_schema`` method).
TARGET_KINDS = frozenset({"function", "class", "struct", "interface", "trait", "enum", "type", "module"})
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Names that are almost always a language builtin or a standard container method, whatever the repository
#: defines: a line calling them does not call the repository's definition.
_OTHER_LANGUAGES_BUILTINS = """
    push pop map filter reduce forEach some every includes indexOf slice splice concat join split
    keys values entries has get set add delete clear then catch finally toString valueOf length size
    new make append copy len cap close panic recover print println printf sprintf format errorf string
    int bool error unwrap expect clone into from iter collect next default is_some is_none ok err
"""
BUILTIN_NAMES = frozenset(
    dir(builtins) + dir(dict) + dir(list) + dir(str) + dir(set) + dir(bytes) + _OTHER_LANGUAGES_BUILTINS.split()
)


@dataclass(frozen=True)
class Case:
    path: str
    line: int
    name: str
    definition_path: str
    signature_line: str


def find_cases(engine: Engine, count: int, rng: random.Random) -> list[Case]:
    """``count`` cases drawn with ``rng``: lines using a name defined exactly once, in another file."""
    files = engine.files()
    rng.shuffle(files)
    candidates: dict[tuple[str, int], Case] = {}
    for path in files:
        try:
            lines = engine.text(path).split("\n")
            references = engine.references_in(path)
        except QwenContextError:
            continue
        local = {d.name for d in engine.definitions(path)}
        folder = path.rpartition("/")[0]
        reachable = {imp.resolved for imp in engine.imports(path) if imp.resolved}
        for ref in references:
            if ref.kind not in ("call", "type", "name") or len(ref.name) < MIN_NAME or ref.name in local:
                continue
            if ref.name in BUILTIN_NAMES:
                continue
            if (path, ref.line) in candidates or not 0 <= ref.line < len(lines):
                continue
            definitions = [d for d in engine.definitions_named(ref.name) if d.name == ref.name]
            if (
                len(definitions) != 1
                or definitions[0].path == path
                or definitions[0].kind not in TARGET_KINDS
            ):
                continue
            if ref.kind == "name" and definitions[0].kind == "function":
                continue  # a bare name is a call only when the parser says so; a type use may be a bare name
            if definitions[0].path not in reachable and definitions[0].path.rpartition("/")[0] != folder:
                continue  # most likely a namesake from outside the repository (``token.Position``)
            target = definitions[0]
            try:
                source = engine.text(target.path).split("\n")
            except QwenContextError:
                continue
            if not 0 <= target.line < len(source) or len(source[target.line].strip()) < MIN_NAME:
                continue
            if lines[ref.line].strip().startswith(("import ", "from ", "#include", "use ", "require")):
                continue
            candidates[(path, ref.line)] = Case(
                path, ref.line, ref.name, target.path, source[target.line].strip()
            )
        if len(candidates) >= count * 20:
            break
    ordered = [candidates[key] for key in sorted(candidates)]
    return rng.sample(ordered, min(count, len(ordered)))


def blanked(engine: Engine, case: Case) -> tuple[str, int]:
    """The buffer with the case's line blanked (indentation kept) and the cursor column."""
    lines = engine.text(case.path).split("\n")
    indent = lines[case.line][: len(lines[case.line]) - len(lines[case.line].lstrip())]
    lines[case.line] = indent
    return "\n".join(lines), len(indent)


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


def folder_baseline(engine: Engine, case: Case, budget: int) -> str:
    folder = case.path.rpartition("/")[0]
    blocks = []
    for path in engine.files():
        if path != case.path and path.rpartition("/")[0] == folder:
            blocks.append((path, engine.text(path)))
    return pack_blocks(blocks, budget)


def bm25_baseline(index: WindowIndex, buffer: str, case: Case, budget: int) -> str:
    lines = buffer.split("\n")
    query = "\n".join(lines[max(case.line - WINDOW, 0) : case.line])
    return pack_blocks([index.windows[i] for i in index.search(query, case.path)[:400]], budget)


def repository_part(prompt_text: str) -> str:
    """The prompt without its last (current) file."""
    return prompt_text[: prompt_text.rfind(tokens.FILE_SEP)]


def run_language(
    root: Path, cases_wanted: int, seed: int, cache: Path | None
) -> dict[str, dict[int, list[bool]]]:
    results: dict[str, dict[int, list[bool]]] = {
        m: {b: [] for b in BUDGETS} for m in ("ours", "bm25", "folder")
    }
    with Engine(root, EngineConfig(cache_dir=cache)) as engine:
        report = engine.index()
        cases = find_cases(engine, cases_wanted, random.Random(seed))
        index = WindowIndex(engine)
        print(f"  {root.name}: {report.files} files, {len(cases)} cases", file=sys.stderr)
        for case in cases:
            buffer, column = blanked(engine, case)
            try:
                engine.set_overlay(case.path, buffer)
            except QwenContextError:
                print(f"  skipped {case.path}:{case.line + 1}: overlay failed", file=sys.stderr)
                continue
            try:
                for budget in BUDGETS:
                    prompt = engine.fim_prompt(case.path, case.line, column, budget=budget)
                    results["ours"][budget].append(case.signature_line in repository_part(prompt.text))
                    room = (
                        budget - prompt.sections[-1].tokens - tokens.count(f"{tokens.REPO_NAME}{root.name}\n")
                    )
                    bm25 = bm25_baseline(index, buffer, case, room)
                    results["bm25"][budget].append(case.signature_line in bm25)
                    folder = folder_baseline(engine, case, room)
                    results["folder"][budget].append(case.signature_line in folder)
            finally:
                engine.clear_overlay(case.path)
    return results


def time_prompts(
    root: Path, cases_wanted: int, seed: int, cache: Path | None
) -> tuple[int, dict[int, list[float]], dict[int, list[float]]]:
    """Prompt-assembly times (ms) per budget, a fresh cursor (and overlay) each time, warm index."""
    times: dict[int, list[float]] = {b: [] for b in TIMING_BUDGETS}
    cpu: dict[int, list[float]] = {b: [] for b in TIMING_BUDGETS}
    with Engine(root, EngineConfig(cache_dir=cache)) as engine:
        engine.index()
        cases = find_cases(engine, cases_wanted, random.Random(seed + 1))
        for path in engine.files():  # a warm index: every file's symbols and text loaded once, as in a server
            engine.definitions(path)
            engine.text(path)
        for budget in TIMING_BUDGETS:  # warm-up: the graph, token counts of the files
            buffer, column = blanked(engine, cases[0])
            engine.fim_prompt(cases[0].path, cases[0].line, column, budget=budget, buffer=buffer)
        for case in cases:
            buffer, column = blanked(engine, case)
            engine.set_overlay(case.path, buffer)
            try:
                for budget in TIMING_BUDGETS:
                    started, started_cpu = time.perf_counter(), time.process_time()
                    engine.fim_prompt(case.path, case.line, column, budget=budget)
                    times[budget].append((time.perf_counter() - started) * 1000)
                    cpu[budget].append((time.process_time() - started_cpu) * 1000)
            finally:
                engine.clear_overlay(case.path)
        return len(engine.files()), times, cpu


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of one repository per language"
    )
    parser.add_argument("--languages", nargs="*", help="only these sub-folders")
    parser.add_argument("--cases", type=int, default=60, help="cases per language (default 60)")
    parser.add_argument("--timing-cases", type=int, default=40, help="cursors timed per budget (default 40)")
    parser.add_argument(
        "--timing-repo", type=Path, help="repository to time on (default: the largest language)"
    )
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--cache-dir", type=Path, help="index cache folder (default: the engine's)")
    args = parser.parse_args()

    folders = sorted(
        p for p in args.corpus.iterdir() if p.is_dir() and (not args.languages or p.name in args.languages)
    )
    totals: dict[str, dict[int, list[bool]]] = {
        m: {b: [] for b in BUDGETS} for m in ("ours", "bm25", "folder")
    }
    rows = []
    print(f"cross-file recall, {args.cases} cases per language, seed {args.seed}", file=sys.stderr)
    for folder in folders:
        results = run_language(folder, args.cases, args.seed, args.cache_dir)
        if not results["ours"][BUDGETS[0]]:
            continue
        rows.append((folder.name, results))
        for method, by_budget in results.items():
            for budget, hits in by_budget.items():
                totals[method][budget].extend(hits)
    rows.append(("overall", totals))

    header = f"{'language':<12} {'cases':>5}  " + "  ".join(
        f"{m + '@' + str(b // 1024) + 'K':>11}" for b in BUDGETS for m in ("ours", "bm25", "folder")
    )
    print(header)
    for name, results in rows:
        cells = "  ".join(
            f"{sum(results[m][b]) / len(results[m][b]):>11.3f}"
            for b in BUDGETS
            for m in ("ours", "bm25", "folder")
        )
        print(f"{name:<12} {len(results['ours'][BUDGETS[0]]):>5}  {cells}")
    for budget in BUDGETS:
        hits = totals["ours"][budget]
        value = sum(hits) / len(hits)
        verdict = "ok" if value >= TARGETS[budget] else "BELOW TARGET"
        print(f"recall@{budget // 1024}K overall {value:.3f} (target >= {TARGETS[budget]}) {verdict}")

    timing_root = args.timing_repo or max(folders, key=lambda p: sum(1 for _ in p.rglob("*") if _.is_file()))
    files, times, cpu = time_prompts(timing_root, args.timing_cases, args.seed, args.cache_dir)
    for budget, values in times.items():
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        verdict = "ok" if p50 < TIMING_TARGETS_MS[budget] else "ABOVE TARGET"
        print(
            f"prompt assembly @{budget // 1024}K on {timing_root.name} "
            f"({files} files, {len(values)} cursors): "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p50 < {TIMING_TARGETS_MS[budget]:.0f} ms) {verdict}; "
            f"CPU time p50 {statistics.median(cpu[budget]):.1f} ms (process CPU time: wall time also counts waiting for a core shared with other work)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
