"""qwen-lsp's own latency for an inline completion, on a repository of at least 2,000 files, at an 8K budget.

Two intervals, timed from the outside so nothing inside the server is trusted:

- ``to model``: from the client sending ``textDocument/inlineCompletion`` to the model endpoint receiving the
  HTTP request: the server reads the request, applies the buffer overlay, assembles the repository-level FIM
  prompt (``Engine.fim_prompt``) and sends it (the debounce is set to 0). Reported apart for the first request
  at a new place in a file just opened ("new place") and for the next keystrokes there ("typing": one
  character typed at the cursor, then a request, as an editor does while the user types);
- ``from model``: from the endpoint receiving the request to the client receiving the response: the server
  reads the stream, cleans the completion and writes the response. The local OpenAI-compatible server answers
  at once with a one-piece stream, so this is an upper bound (it includes the fake server's own send).

The fake server runs in this process and timestamps each request when its body has been read (``time.time()``;
the client is in this process too, the server under test in its own). Places are random lines of random files,
so the suggestion cache never answers (the typed character never matches the suggestion). ``--open-pause-ms``
waits that long after ``didOpen`` before the first request, as a user reads before typing (the server prepares
the file meanwhile); 0 (the default) sends it at once. ``--server-log``
keeps the server's DEBUG log, which splits ``to model`` into overlay and prompt time per request, and adds
``to model minus prompt``: the protocol glue alone.

Target: p50 under 30 ms over all requests, and for the first request at a new place on its own (issue 15).

    .venv/bin/python bench/bench_lsp.py [--repo .scratch/corpus/python] [--locations 40] [--keystrokes 5]
                                        [--budget 8192] [--open-pause-ms 0] [--server-log server.log]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from context.index.languages import language_for
from context.model.fakeserver import FakeOpenAIServer, RecordedRequest, Reply

TARGET_MS = 30.0
WARM_UP = 5
INTERVALS = ("to model, new place", "to model, typing", "from model")
QWEN_LSP = str(Path(sys.executable).parent / "qwen-lsp")
DEFAULT_REPO = Path(__file__).parents[1] / ".scratch" / "corpus" / "python"


def cursors(repo: Path, count: int, seed: int = 7) -> list[tuple[Path, str, int]]:
    """``count`` (file, text, line) triples: the end of a random non-blank line in a random source file."""
    rng = random.Random(seed)
    files = sorted(path for path in repo.rglob("*") if path.is_file() and language_for(path.name))
    picked: list[tuple[Path, str, int]] = []
    while len(picked) < count:
        path = rng.choice(files)
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        lines = text.split("\n")
        candidates = [n for n, line in enumerate(lines) if line.strip() and len(line) < 200]
        if candidates:
            picked.append((path, text, rng.choice(candidates)))
    return picked


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def drain(stream: asyncio.StreamReader | None, log: Path | None) -> None:
    """Read the server's stderr (so its logging never blocks on a full pipe) into ``log`` if given."""
    with open(log or "/dev/null", "wb") as sink:  # noqa: ASYNC230 - opening a local log once is not worth a thread
        while stream is not None and (line := await stream.readline()):
            sink.write(line)


async def run(repo: Path, locations: int, keystrokes: int, budget: int, log: Path | None,
              pause: float = 0.0) -> dict[str, list[float]]:
    received: list[float] = []

    def answer(request: RecordedRequest) -> Reply:
        received.append(time.time())
        return Reply(text="result = compute(value)", chunks=["result = compute(value)"])

    indexed = asyncio.Event()
    with FakeOpenAIServer(answer) as model:
        client = LanguageClient("bench-lsp", "1")

        @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create_progress(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @client.feature(types.PROGRESS)
        def progress(params: types.ProgressParams) -> None:
            if isinstance(params.value, dict) and params.value.get("kind") == "end":
                print(f"indexed: {params.value.get('message')}", file=sys.stderr)
                indexed.set()

        @client.feature(types.WINDOW_SHOW_MESSAGE)
        def show(params: types.ShowMessageParams) -> None:
            print(f"server says: {params.message}", file=sys.stderr)

        await client.start_io(QWEN_LSP, "--log-level", "DEBUG" if log else "WARNING")
        stderr = asyncio.create_task(drain(client._server.stderr if client._server else None, log))
        started = time.perf_counter()
        await client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(
                window=types.WindowClientCapabilities(work_done_progress=True),
                text_document=types.TextDocumentClientCapabilities(
                    inline_completion=types.InlineCompletionClientCapabilities())),
            initialization_options={"debounceMs": 0, "budget": budget,
                                    "model": {"baseUrl": model.base_url, "model": "qwen3-coder"}},
            workspace_folders=[types.WorkspaceFolder(uri=repo.as_uri(), name=repo.name)]))
        client.initialized(types.InitializedParams())
        await asyncio.wait_for(indexed.wait(), 900)
        print(f"index ready after {time.perf_counter() - started:.1f} s", file=sys.stderr)

        timings: dict[str, list[float]] = {name: [] for name in INTERVALS}
        reached: list[tuple[bool, float]] = []  # (counted, ms to model) of every request that reached it
        versions: dict[str, int] = {}
        for number, (path, text, line) in enumerate(cursors(repo, locations + WARM_UP)):
            uri = path.as_uri()
            if uri not in versions:
                versions[uri] = 1
                client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
                    uri=uri, language_id=language_for(path.name) or "", version=1, text=text)))
                await asyncio.sleep(pause)
            cursor = types.Position(line=line, character=len(text.split("\n")[line].encode("utf-16-le")) // 2)
            for keystroke in range(keystrokes):
                if keystroke:  # type one character at the cursor, as the user goes on typing
                    versions[uri] += 1
                    client.text_document_did_change(types.DidChangeTextDocumentParams(
                        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=versions[uri]),
                        content_changes=[types.TextDocumentContentChangePartial(
                            range=types.Range(cursor, cursor), text="z")]))
                    cursor = types.Position(line=cursor.line, character=cursor.character + 1)
                before = len(received)
                sent = time.time()
                result: Any = await client.text_document_inline_completion_async(types.InlineCompletionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri), position=cursor,
                    context=types.InlineCompletionContext(
                        trigger_kind=types.InlineCompletionTriggerKind.Automatic)))
                answered = time.time()
                assert result is None or isinstance(result, types.InlineCompletionList)
                if len(received) != before + 1:
                    print(f"no model request for {path}:{line}", file=sys.stderr)
                    continue
                to_model = (received[-1] - sent) * 1000
                reached.append((number >= WARM_UP, to_model))
                if number >= WARM_UP:  # the first prompts load the graph and the tokenizer
                    timings["to model, new place" if keystroke == 0 else "to model, typing"].append(to_model)
                    timings["from model"].append((answered - received[-1]) * 1000)
        await client.shutdown_async(None)
        client.exit(None)
        await asyncio.wait_for(stderr, 30)
        await client.stop()
    if log is not None:
        timings["to model minus prompt"] = glue(reached, log)
    return timings


def glue(reached: list[tuple[bool, float]], log: Path) -> list[float]:
    """``to model`` minus the server's own prompt time (from its DEBUG log), request by request: the protocol
    glue alone (reading the request, the thread hop, sending the HTTP request)."""
    prompts = [float(ms) for ms in re.findall(r"inline completion: prompt ([0-9.]+) ms", log.read_text())]
    if len(prompts) != len(reached):
        print(f"server log has {len(prompts)} prompt timings for {len(reached)} requests", file=sys.stderr)
        return []
    pairs = zip(reached, prompts, strict=True)
    return [to_model - prompt for (counted, to_model), prompt in pairs if counted]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=DEFAULT_REPO)
    parser.add_argument("--locations", type=int, default=40,
                        help="random cursor places, each in a random file")
    parser.add_argument("--keystrokes", type=int, default=5,
                        help="requests per place, one typed character apart")
    parser.add_argument("--budget", type=int, default=8192)
    parser.add_argument("--open-pause-ms", type=float, default=0.0,
                        help="wait this long after didOpen before the first request there (default 0)")
    parser.add_argument("--server-log", type=Path,
                        help="write the server's DEBUG log (per-request timings) here")
    args = parser.parse_args()
    repo = args.repo.resolve()
    files = sum(1 for path in repo.rglob("*") if path.is_file() and language_for(path.name))
    print(f"repository {repo}: {files} source files; {args.locations} places x {args.keystrokes} keystrokes; "
          f"budget {args.budget}; pause after didOpen {args.open_pause_ms:.0f} ms")
    if files < 2000:
        print("warning: fewer than 2,000 source files (build the corpus with bench/fetch_corpus.py)")
    timings = asyncio.run(run(repo, args.locations, args.keystrokes, args.budget, args.server_log,
                              args.open_pause_ms / 1000))
    # Every request, as an editor sends them: the first at a place, then one per keystroke there.
    timings["to model, all requests"] = timings["to model, new place"] + timings["to model, typing"]
    for name, values in timings.items():
        if values:
            p50, p95 = statistics.median(values), percentile(values, 0.95)
            print(f"{name:>22}: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  max {max(values):6.1f} ms  "
                  f"(n={len(values)})  {'ok' if p50 < TARGET_MS else 'over target'}")
    judged = [timings["to model, all requests"], timings["to model, new place"], timings["from model"]]
    ok = all(values and statistics.median(values) < TARGET_MS for values in judged)
    print(f"target p50 < {TARGET_MS:.0f} ms over all requests, both directions, and at a new place on its own: "
          f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
