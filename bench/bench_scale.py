"""Scale benchmark: the Linux kernel's sources at three sizes, against the cost floor and the targets of issue 13.

Usage::

    .venv/bin/python bench/bench_scale.py [--sizes small,medium,full] [--prompts 20] [--calls 50]

Fetches ``linux-source-6.12`` from Debian (``apt-get download``, the package registry) into ``.scratch/debs`` and
unpacks it into ``.scratch/linux`` once; Debian's two top ``.gitignore`` lines (``/*`` and ``!/debian/``), which
ignore every file, are removed. Three sizes are subtrees of it: ``kernel/`` (~500 files), ``drivers/net/``
(~5,000) and the whole tree (~60,000). For each, with an empty index cache, every measure in its own process:

- cold index: ``qwen-context index`` wall and CPU seconds (the process and its parsing workers), beside the bare
  tree-sitter parse of the same files on every core (the floor: read, parse, nothing else) and ``ctags -R``
  (universal-ctags) on the same subtree, as ratios;
- index size on disk (the SQLite file and its WAL);
- a new process's first 8K prompt on the warm index: ``qwen-context prompt PATH:LINE:COL`` wall seconds;
- later prompts in one process: 8K and 256K prompt p50/p95 at random cursors (after one warm-up prompt);
- peak resident memory (the kernel's high-water mark, ``wait4`` or ``VmHWM``) of the CLI index (the process and
  its workers), of the process serving those prompts, of ``qwen-lsp`` after 50 inline completions (a local
  OpenAI-compatible server answers) and of ``qwen-mcp`` after 50 tool calls.

The targets of the issue are printed beside the figures; they are judged on the full tree.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from pygls.lsp.client import LanguageClient

from context.index.scan import scan
from context.model.fakeserver import FakeOpenAIServer, Reply

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "context_tests"))
from rusage import run_with_usage

SCRATCH = Path(__file__).resolve().parents[1] / ".scratch"
PACKAGE = "linux-source-6.12"
BIN = Path(sys.executable).parent
#: Name -> subtree of the kernel's sources ("" for the whole tree).
SIZES = {"small": "kernel", "medium": "drivers/net", "full": ""}
BUDGET_8K, BUDGET_256K = 8192, 262_144

_FLOOR = r"""
import json, os, resource, sys, time
from multiprocessing import Pool
from context.index.parse import GRAMMARS
from context.index.languages import language_for
import importlib
from tree_sitter import Language, Parser
root, listing = sys.argv[1], sys.argv[2]
parsers = {}
def parse(rel):
    language = language_for(rel)
    parser = parsers.get(language)
    if parser is None:
        module, function = GRAMMARS[language]
        parser = parsers[language] = Parser(Language(getattr(importlib.import_module(module), function)()))
    with open(os.path.join(root, rel), "rb") as handle:
        parser.parse(handle.read())
    return 1
files = open(listing).read().split("\n")
with Pool(os.cpu_count()) as pool:
    done = sum(pool.imap_unordered(parse, files, chunksize=64))
print(json.dumps({"files": done}))
"""

_PROMPTS = r"""
import json, statistics, sys, time
from pathlib import Path
from context.engine import Engine, EngineConfig
root, cache, cursors = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
engine = Engine(root, EngineConfig(cache_dir=Path(cache)))
engine.index()
result = {}
for budget in (8192, 262144):
    times = []
    for n, (path, line, column) in enumerate(cursors):
        started = time.perf_counter()
        prompt = engine.fim_prompt(path, line, column, budget=budget)
        if n:  # the first is the warm-up
            times.append((time.perf_counter() - started) * 1000)
        assert prompt.tokens <= budget, (prompt.tokens, budget)
    result[str(budget)] = times
print(json.dumps(result))
"""


@dataclass(frozen=True)
class Measured:
    """What one process did: wall and CPU seconds (with its waited-for children), peak RSS, its output."""

    wall: float
    cpu: float
    peak_mb: float
    out: str


def measured(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> Measured:
    """Run ``argv`` to its end and measure it (the process and the children it waited for; see `rusage`)."""
    started = time.perf_counter()
    done, usage = run_with_usage(argv, env, cwd)
    wall = time.perf_counter() - started
    if done.returncode != 0 or usage is None:
        sys.exit(f"{argv[:3]} failed ({done.returncode}):\n{done.stderr.decode(errors='replace')[-3000:]}")
    return Measured(wall, usage.cpu, usage.peak_mb, done.stdout.decode("utf-8", "replace"))


def fetch() -> Path:
    """The kernel's sources under .scratch/linux, fetched from Debian and unpacked when missing."""
    tree = SCRATCH / "linux"
    if (tree / "Makefile").is_file():
        return tree
    debs = SCRATCH / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", PACKAGE], cwd=debs, check=True)
    [deb] = sorted(debs.glob(f"{PACKAGE}_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(debs / "ex")], check=True)
    [tarball] = sorted((debs / "ex" / "usr" / "src").glob(f"{PACKAGE}.tar.*"))
    unpacked = SCRATCH / "linux-unpacked"
    unpacked.mkdir(exist_ok=True)
    subprocess.run(["tar", "-xf", str(tarball), "-C", str(unpacked)], check=True)
    (unpacked / PACKAGE).rename(tree)
    ignore = tree / ".gitignore"  # Debian's "/*" and "!/debian/" ignore every file: drop them
    lines = ignore.read_text().split("\n")
    ignore.write_text("\n".join(line for line in lines if line not in ("/*", "!/debian/")))
    return tree


def cursors(root: Path, files: list[str], count: int, seed: int = 13) -> list[tuple[str, int, int]]:
    """``count`` cursors (path, 0-based line, column) at the end of random non-blank lines of random files."""
    rng = random.Random(seed)
    picked: list[tuple[str, int, int]] = []
    while len(picked) < count:
        rel = rng.choice(files)
        lines = (root / rel).read_text(encoding="utf-8", errors="replace").split("\n")
        candidates = [n for n, line in enumerate(lines) if line.strip() and len(line) < 200]
        if candidates:
            line = rng.choice(candidates)
            picked.append((rel, line, len(lines[line])))
    return picked


def vm_hwm_mb(pid: int) -> float:
    """The peak resident memory of a running process (``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def child_pid(marker: str) -> int:
    """The pid of this process's child whose command line holds ``marker``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and marker in command:
            return int(entry.name)
    raise RuntimeError(f"no child running {marker}")


async def lsp_peak(root: Path, cache: Path, places: list[tuple[str, int, int]], count: int) -> float:
    """qwen-lsp's peak resident memory after ``count`` inline completions at ``places`` (warm index)."""
    with FakeOpenAIServer(lambda request: Reply(text="x = 1")) as model:
        client = LanguageClient("bench-scale", "1")
        indexed = asyncio.Event()

        @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create_progress(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @client.feature(types.PROGRESS)
        def progress(params: types.ProgressParams) -> None:
            if isinstance(params.value, dict) and params.value.get("kind") == "end":
                indexed.set()

        await client.start_io(str(BIN / "qwen-lsp"), "--log-level", "WARNING",
                              env={**os.environ, "QWEN_CONTEXT_CACHE_DIR": str(cache), "QWEN_NO_AUTODETECT": "1"})
        assert client._server is not None
        pid = client._server.pid
        await client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(
                window=types.WindowClientCapabilities(work_done_progress=True),
                text_document=types.TextDocumentClientCapabilities(
                    inline_completion=types.InlineCompletionClientCapabilities())),
            initialization_options={"debounceMs": 0, "model": {"baseUrl": model.base_url, "model": "qwen3-coder"}},
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)]))
        client.initialized(types.InitializedParams())
        await asyncio.wait_for(indexed.wait(), 1800)
        opened: set[str] = set()
        for n in range(count):
            rel, line, column = places[n % len(places)]
            uri = (root / rel).as_uri()
            if uri not in opened:
                opened.add(uri)
                client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
                    uri=uri, language_id="c", version=1, text=(root / rel).read_text(errors="replace"))))
            await client.text_document_inline_completion_async(types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line, column),
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked)))
        peak = vm_hwm_mb(pid)
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
    return peak


async def mcp_peak(root: Path, cache: Path, places: list[tuple[str, int, int]], count: int) -> float:
    """qwen-mcp's peak resident memory after ``count`` tool calls (search, definition, outline, references,
    context) on the warm index."""
    server = StdioServerParameters(command=str(BIN / "qwen-mcp"), args=["--root", str(root), "--no-watch"],
                                   env={"QWEN_CONTEXT_CACHE_DIR": str(cache), "QWEN_NO_AUTODETECT": "1"})
    with open(os.devnull, "w") as log:  # noqa: ASYNC230 - one local open
        async with Client(stdio_client(server, errlog=log), mode="legacy", read_timeout_seconds=1800) as client:
            pid = child_pid("qwen-mcp")
            calls: list[tuple[str, dict[str, Any]]] = []
            for rel, line, _ in places:
                calls += [("file_outline", {"path": rel}), ("search_symbols", {"query": Path(rel).stem}),
                          ("get_definition", {"path": rel, "line": line + 1, "column": 1}),
                          ("find_references", {"symbol": Path(rel).stem}),
                          ("build_context", {"task": f"explain {Path(rel).stem}", "path": rel, "line": line + 1})]
            for name, arguments in calls[:count]:
                await client.call_tool(name, arguments)
            return vm_hwm_mb(pid)


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "-"


def measure(tree: Path, size: str, prompts: int, calls: int) -> dict[str, str]:
    """Every figure for one subtree, as table cells."""
    root = tree / SIZES[size] if SIZES[size] else tree
    env = {**os.environ, "QWEN_NO_AUTODETECT": "1"}
    files = [f.path for f in scan(root).files]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as work:
        cache, listing = Path(work) / "cache", Path(work) / "files.txt"
        listing.write_text("\n".join(files))
        env["QWEN_CONTEXT_CACHE_DIR"] = str(cache)
        floor = measured([sys.executable, "-c", _FLOOR, str(root), str(listing)], env)
        ctags = measured(["ctags", "-R", "-f", str(Path(work) / "tags"), "."], env, cwd=root)
        cold = measured([str(BIN / "qwen-context"), "index", str(root), "--json"], env)
        report = json.loads(cold.out)
        index_mb = sum(p.stat().st_size for p in cache.rglob("index.sqlite*")) / 1_048_576
        places = cursors(root, files, prompts + 1)
        rel, line, column = places[0]
        first = measured([str(BIN / "qwen-context"), "prompt", f"{rel}:{line + 1}:{column + 1}", "--repo", str(root),
                          "--budget", str(BUDGET_8K)], env)
        served = measured([sys.executable, "-c", _PROMPTS, str(root), str(cache), json.dumps(places)], env)
        times = json.loads(served.out)
        lsp = asyncio.run(lsp_peak(root, cache, places, calls))
        mcp = asyncio.run(mcp_peak(root, cache, places, calls))

    def p(values: list[float], q: int) -> str:
        return f"{statistics.quantiles(values, n=100)[q - 1]:.0f}" if len(values) > 1 else f"{values[0]:.0f}"

    return {
        "files indexed / symbols": f"{report['files']:,} / {report['symbols']:,}",
        "cold index wall / CPU s": f"{cold.wall:.1f} / {cold.cpu:.1f}",
        "bare parse floor wall / CPU s": f"{floor.wall:.1f} / {floor.cpu:.1f}",
        "index / floor (wall, CPU)": f"{ratio(cold.wall, floor.wall)}, {ratio(cold.cpu, floor.cpu)}",
        "ctags -R wall / CPU s": f"{ctags.wall:.1f} / {ctags.cpu:.1f}",
        "index / ctags -R (wall, CPU)": f"{ratio(cold.wall, ctags.wall)}, {ratio(cold.cpu, ctags.cpu)}",
        "index on disk MB": f"{index_mb:.0f}",
        "new process, first 8K prompt s": f"{first.wall:.2f}",
        "8K prompt p50 / p95 ms": f"{p(times[str(BUDGET_8K)], 50)} / {p(times[str(BUDGET_8K)], 95)}",
        "256K prompt p50 / p95 ms": f"{p(times[str(BUDGET_256K)], 50)} / {p(times[str(BUDGET_256K)], 95)}",
        "peak RSS MB: CLI index (with workers)": f"{cold.peak_mb:.0f}",
        "peak RSS MB: CLI serving prompts": f"{served.peak_mb:.0f}",
        f"peak RSS MB: qwen-lsp after {calls} completions": f"{lsp:.0f}",
        f"peak RSS MB: qwen-mcp after {calls} tool calls": f"{mcp:.0f}",
    }


#: The issue's targets (judged on the full tree), by row.
TARGETS = {
    "index / floor (wall, CPU)": "<= 1.5x",
    "index on disk MB": "<= 500",
    "new process, first 8K prompt s": "< 3",
    "8K prompt p50 / p95 ms": "< 50 / < 150",
    "256K prompt p50 / p95 ms": "p50 < 400",
    "peak RSS MB: CLI serving prompts": "< 1,000",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(SIZES), help="which of small,medium,full to run")
    parser.add_argument("--prompts", type=int, default=20, help="prompts timed per budget (default 20)")
    parser.add_argument("--calls", type=int, default=50, help="LSP completions and MCP tool calls (default 50)")
    args = parser.parse_args()
    if shutil.which("ctags") is None:
        sys.exit("universal-ctags (ctags) is not installed: apt-get install universal-ctags")
    tree = fetch()
    sizes = [s for s in args.sizes.split(",") if s]
    columns = {size: measure(tree, size, args.prompts, args.calls) for size in sizes}
    print(f"Linux {PACKAGE} sources, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
    header = [f"{size} ({SIZES[size] or 'whole tree'})" for size in sizes]
    print("| measure | " + " | ".join(header) + " | target (full tree) |")
    print("|---" * (len(sizes) + 2) + "|")
    for row in columns[sizes[0]]:
        cells = [columns[size][row] for size in sizes]
        target = TARGETS.get(row, "< 1,000" if row.startswith("peak RSS MB: qwen") else "")
        print(f"| {row} | " + " | ".join(cells) + f" | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
