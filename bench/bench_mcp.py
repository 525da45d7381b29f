"""How fast `qwen-mcp` answers `initialize` and `tools/list` on a 5,000-file repository with a cold cache.

MCP clients give up on a server after ~30 s and agents call tools right away, so the target is < 1 s from
spawning the process to the `tools/list` answer, whatever the repository's size: indexing must run in the
background. The script also reports when the background index becomes ready (for information).

    .venv/bin/python bench/bench_mcp.py [--corpus DIR] [--runs 3]

The corpus defaults to .scratch/corpus, the mixed corpus of bench/fetch_corpus.py (> 5,000 files in seven
languages); without it, 5,000 Python files are copied from this virtualenv's site-packages into
.scratch/MCP/corpus. Most of the time to `tools/list` is Python starting and importing the MCP SDK, so the
script also times a bare SDK server with one tool (the floor for any server on this SDK) under the same
load.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / ".scratch" / "corpus"
FALLBACK_CORPUS = ROOT / ".scratch" / "MCP" / "corpus"
LOG = ROOT / ".scratch" / "MCP" / "bench_mcp.log"
QWEN_MCP = str(Path(sys.executable).with_name("qwen-mcp"))
TARGET_SECONDS = 1.0
FILES = 5000
#: The smallest MCPServer there is: the reference for what Python and the SDK cost before any of our code.
BARE_SERVER = """
from mcp.server.mcpserver import MCPServer
server = MCPServer("bare")
server.add_tool(lambda: "pong", name="ping", description="ping")
server.run()
"""


def fallback_corpus() -> Path:
    """5,000 Python files copied from site-packages (made once)."""
    if FALLBACK_CORPUS.is_dir():
        return FALLBACK_CORPUS
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    sources = sorted(site.rglob("*.py"))[:FILES]
    for source in sources:
        target = FALLBACK_CORPUS / source.relative_to(site)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return FALLBACK_CORPUS


async def bare_run() -> float:
    """Seconds from spawn to `tools/list` answered by the bare SDK server."""
    started = time.perf_counter()
    server = StdioServerParameters(command=sys.executable, args=["-c", BARE_SERVER])
    async with Client(server, mode="legacy") as client:
        await client.list_tools()
        return time.perf_counter() - started


async def one_run(corpus: Path, log: TextIO) -> tuple[float, float, float]:
    """Seconds from spawn to `initialize` answered, to `tools/list` answered, and to the index being ready."""
    with tempfile.TemporaryDirectory(prefix="qwen-mcp-bench-cache-") as cache:
        server = StdioServerParameters(
            command=QWEN_MCP,
            args=["--root", str(corpus), "--no-watch"],
            env={"QWEN_CONTEXT_CACHE_DIR": cache, "QWEN_NO_AUTODETECT": "1"},
        )
        started = time.perf_counter()
        async with Client(
            stdio_client(server, errlog=log), mode="legacy", read_timeout_seconds=600
        ) as client:
            initialized = time.perf_counter() - started
            tools = await client.list_tools()
            listed = time.perf_counter() - started
            assert len(tools.tools) == 10
            while (await client.call_tool("index_status", {})).structured_content["state"] != "ready":
                await asyncio.sleep(0.2)
            ready = time.perf_counter() - started
    return initialized, listed, ready


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    corpus = args.corpus or (DEFAULT_CORPUS if DEFAULT_CORPUS.is_dir() else fallback_corpus())
    files = sum(1 for path in corpus.rglob("*") if path.is_file())
    print(f"corpus: {corpus} ({files:,} files), cold cache each run, {args.runs} runs; server logs: {LOG}")
    runs, bare = [], []
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with LOG.open("w") as log:
        for _ in range(args.runs):  # interleaved, so both see the same machine load
            runs.append(asyncio.run(one_run(corpus, log)))
            bare.append(asyncio.run(bare_run()))
    for label, values in zip(
        ("initialize", "tools/list", "index ready"), zip(*runs, strict=True), strict=True
    ):
        print(
            f"{label:>12}: median {statistics.median(values):.3f} s"
            f"  (runs: {', '.join(f'{value:.3f}' for value in values)})"
        )
    print(f"bare SDK server tools/list: median {statistics.median(bare):.3f} s (the floor)")
    listed = statistics.median(run[1] for run in runs)
    verdict = "OK" if listed < TARGET_SECONDS else "TOO SLOW"
    print(f"spawn -> tools/list answered: {listed:.3f} s (target < {TARGET_SECONDS:.0f} s): {verdict}")
    return 0 if listed < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
