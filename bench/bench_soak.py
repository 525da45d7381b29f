"""qwen-lsp soak: simulated typing against a flaky model endpoint for ``--minutes`` (30 by default).

The real ``qwen-lsp`` runs over stdio, spoken to as raw JSON-RPC the way an editor speaks it: documents of a real
package (``--package``, copied from this virtualenv into ``.scratch/soak-repo``) are opened, typed into character
by character, pasted into, deleted from and left for other functions and files; most keystrokes ask for an
inline completion, half of the requests still running when the next key comes are cancelled (``$/cancelRequest``,
as an editor typing fast does), a few keystrokes ask for completion items instead, and now and then a suggestion
that arrived in time is accepted (the bench applies it with ``didChange`` and runs the item's command).

The endpoint (`FlakyServer`, the hostile suite's `HostileServer` with a mode drawn per request) fails 5% of the
requests (HTTP 500, an HTML page, a cut stream, random bytes, wrong-shaped JSON), stalls 5% (silent, one event
then nothing, a byte a second) past the client's deadlines (set low here through ``QWEN_*_TIMEOUT``), answers
1% with 5 MB, and otherwise streams a short completion.

Invariants (any failure makes the exit status 1):

- every request gets a response, a cancelled one too (``-32800``): none is left unanswered after 70 s;
- the server never edits on its own: no ``workspace/applyEdit`` (nor any request but progress, registration and
  configuration), every inline item inserts at the cursor, every completion item's edit ends at the cursor on its
  line, and the files on disk are unchanged at the end;
- memory stays flat: the server's RSS (``VmRSS``, sampled every 10 s) grows by less than `FLAT_MB` from the
  second minute to the last one, and the fitted slope over the second half of the run is under `FLAT_MB` per
  10 minutes (judged on runs of 10 minutes or more; shorter runs report it);
- no more error messages (``window/showMessage``) than failed model requests, and the server exits 0.

The baseline is the run's own first minute: the RSS ratio last/first minute and the latency of the first and last
minute are printed side by side.

    .venv/bin/python bench/bench_soak.py [--minutes 30] [--seed 17] [--package pygls]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import shutil
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "hostile_tests"))
from hostile_server import HostileServer  # the hostile suite's endpoint, found beside its tests

QWEN_LSP = str(Path(sys.executable).parent / "qwen-lsp")
SCRATCH = ROOT / ".scratch"
ERRORS = ("500", "html", "cut", "random", "choices-null")
STALLS = ("silent", "stall", "trickle")
HUGE_BYTES = 5 * 1024 * 1024
SUGGESTION = "self.value)\n        return result"
#: The client's deadlines during the soak (seconds): a stall must outlast them.
TIMEOUTS = {"QWEN_CONNECT_TIMEOUT": "2", "QWEN_FIRST_TOKEN_TIMEOUT": "3", "QWEN_READ_TIMEOUT": "3",
            "QWEN_ANSWER_TIMEOUT": "6"}
UNANSWERED_S = 70.0
SAMPLE_S = 10.0
#: Memory growth (MB, second minute to last minute; and MB per 10 minutes of slope) still called flat.
FLAT_MB = 20.0
JUDGED_MINUTES = 10.0
#: Server-to-client requests an editor answers; any other (workspace/applyEdit above all) is a failure.
ALLOWED_SERVER_REQUESTS: dict[str, Any] = {"window/workDoneProgress/create": None, "client/registerCapability": None,
                                           "workspace/configuration": [{}]}


class FlakyServer(HostileServer):
    """`HostileServer` with its mode drawn per request: ``error`` errors, ``stall`` stalls, ``huge`` 5 MB answers,
    else a short streamed completion. ``modes`` counts what was served."""

    def __init__(self, seed: int, error: float = 0.05, stall: float = 0.05, huge: float = 0.01) -> None:
        super().__init__(text=SUGGESTION, size=HUGE_BYTES)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._shares = (error, error + stall, error + stall + huge)
        self.modes: Counter[str] = Counter()

    def answer(self, sock: Any, route: str) -> None:
        with self._lock:
            draw = self._rng.random()
            mode = (self._rng.choice(ERRORS) if draw < self._shares[0] else
                    self._rng.choice(STALLS) if draw < self._shares[1] else
                    "huge" if draw < self._shares[2] else "ok")
            self.modes[mode] += 1
        self.reply(sock, route, mode)

    @property
    def failed(self) -> int:
        """Requests served a failure (an error, a stall or an answer over the client's size cap)."""
        return sum(count for mode, count in self.modes.items() if mode != "ok")


# ---- the client's view of documents ---------------------------------------------------------------------------


@dataclass
class Doc:
    """An open buffer as the editor holds it; every edit returns the ``didChange`` content change."""

    uri: str
    text: str
    version: int = 1

    def position(self, offset: int) -> dict[str, int]:
        """LSP position (UTF-16) of a code-point offset."""
        start = self.text.rfind("\n", 0, offset) + 1
        return {"line": self.text.count("\n", 0, offset),
                "character": len(self.text[start:offset].encode("utf-16-le")) // 2}

    def offset(self, position: dict[str, int]) -> int:
        """Code-point offset of an LSP position (UTF-16) in this buffer."""
        start = 0
        for _ in range(position["line"]):
            start = self.text.index("\n", start) + 1
        end = self.text.find("\n", start)
        line = self.text[start:] if end < 0 else self.text[start:end]
        units = line.encode("utf-16-le")[:2 * position["character"]]
        return start + len(units.decode("utf-16-le", errors="ignore"))

    def edit(self, start: int, end: int, new: str) -> dict[str, Any]:
        change = {"range": {"start": self.position(start), "end": self.position(end)}, "text": new}
        self.text = self.text[:start] + new + self.text[end:]
        self.version += 1
        return change


# ---- the JSON-RPC client ----------------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    sent: float
    future: asyncio.Future[dict[str, Any]]
    cancelled: bool = False


@dataclass
class Tally:
    """Everything counted during the run."""

    latencies: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # outcome -> (sent, ms)
    unanswered: set[int] = field(default_factory=set)
    server_requests: Counter[str] = field(default_factory=Counter)
    forbidden: list[str] = field(default_factory=list)
    errors_shown: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    rss: list[tuple[float, int, int]] = field(default_factory=list)  # (seconds, server kB, its children kB)


class Client:
    """The editor's side of one ``qwen-lsp`` process: requests with futures, answers to the server's requests."""

    def __init__(self, process: asyncio.subprocess.Process, tally: Tally) -> None:
        self.process = process
        self.tally = tally
        self.pending: dict[int, Request] = {}
        self.indexed = asyncio.Event()
        self._next = 0
        self._reader = asyncio.create_task(self._read())

    def _write(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        body = json.dumps(message).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: Any) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any) -> tuple[int, asyncio.Future[dict[str, Any]]]:
        self._next += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[self._next] = Request(method, time.monotonic(), future)
        self.tally.counts[f"sent {method}"] += 1
        self._write({"jsonrpc": "2.0", "id": self._next, "method": method, "params": params})
        return self._next, future

    async def call(self, method: str, params: Any, timeout: float = 120.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.request(method, params)[1], timeout)

    def cancel(self, msg_id: int) -> None:
        if (request := self.pending.get(msg_id)) is not None and not request.cancelled:
            request.cancelled = True
            self.tally.counts["cancelled"] += 1
            self.notify("$/cancelRequest", {"id": msg_id})

    async def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = 0
            while (line := await stream.readline()).strip():
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not length:
                return
            self._dispatch(json.loads(await stream.readexactly(length)))

    def _dispatch(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if method is None:
            self._answered(message)
        elif "id" in message:
            self.tally.server_requests[method] += 1
            if method not in ALLOWED_SERVER_REQUESTS:
                self.tally.forbidden.append(f"server request {method}: {json.dumps(message)[:200]}")
            self._write({"jsonrpc": "2.0", "id": message["id"], "result": ALLOWED_SERVER_REQUESTS.get(method)})
        elif method == "window/showMessage" and message["params"]["type"] == 1:
            self.tally.errors_shown[re.sub(r"\d+", "N", message["params"]["message"])] += 1
        elif method == "$/progress" and message["params"]["value"].get("kind") == "end":
            print(f"indexed: {message['params']['value'].get('message')}", file=sys.stderr)
            self.indexed.set()

    def _answered(self, message: dict[str, Any]) -> None:
        request = self.pending.pop(message["id"], None)
        if request is None:
            self.tally.forbidden.append(f"a response to no request: {json.dumps(message)[:200]}")
            return
        waited = time.monotonic() - request.sent
        if waited > UNANSWERED_S:
            self.tally.unanswered.add(message["id"])
        error = message.get("error")
        result = message.get("result")
        items = result.get("items") if isinstance(result, dict) else result
        outcome = ("cancelled" if error and error["code"] == -32800 else f"error {error['code']}" if error else
                   "suggestion" if items else "empty")
        self.tally.latencies.setdefault(f"{request.method} {outcome}", []).append((request.sent, waited * 1000))
        request.future.set_result(message)

    def overdue(self) -> list[int]:
        """Requests still unanswered after `UNANSWERED_S`."""
        now = time.monotonic()
        return [msg_id for msg_id, request in self.pending.items() if now - request.sent > UNANSWERED_S]

    async def close(self) -> int:
        await self.call("shutdown", None)
        self.notify("exit", None)
        code = await asyncio.wait_for(self.process.wait(), 60)
        self._reader.cancel()
        return code


# ---- the typist ------------------------------------------------------------------------------------------------


class Typist:
    """Edits open buffers as a person would and asks for completions as an editor does."""

    def __init__(self, client: Client, files: list[Path], rng: random.Random) -> None:
        self.client = client
        self.files = files
        self.rng = rng
        self.docs: dict[str, Doc] = {}
        self.doc: Doc | None = None
        self.cursor = 0
        self.last: tuple[int, asyncio.Future[dict[str, Any]]] | None = None
        self.lines = [line.strip() for path in files[:40] for line in path.read_text().splitlines()
                      if 8 < len(line.strip()) < 80]

    def open(self, path: Path) -> Doc:
        uri = path.as_uri()
        if uri not in self.docs:
            if len(self.docs) >= 5:
                oldest = next(iter(self.docs))
                del self.docs[oldest]
                self.client.notify("textDocument/didClose", {"textDocument": {"uri": oldest}})
            self.docs[uri] = Doc(uri, path.read_text())
            self.client.notify("textDocument/didOpen", {"textDocument": {
                "uri": uri, "languageId": "python", "version": 1, "text": self.docs[uri].text}})
        return self.docs[uri]

    def move(self) -> None:
        """Go to the end of a line inside a function, in this file or another."""
        if self.doc is None or self.rng.random() < 0.2:
            self.doc = self.open(self.rng.choice(self.files))
        text = self.doc.text
        defs = [match.end() for match in re.finditer(r"^[ \t]*def .*$", text, re.MULTILINE)] or [len(text)]
        start = self.rng.choice(defs)
        ends = [match.start() for match in re.finditer(r"\n", text[start:start + 2000])]
        self.cursor = start + (self.rng.choice(ends[:6]) if ends else 0)
        self.client.tally.counts["moves"] += 1

    def change(self, start: int, end: int, new: str) -> None:
        assert self.doc is not None
        change = self.doc.edit(start, end, new)
        self.client.notify("textDocument/didChange", {
            "textDocument": {"uri": self.doc.uri, "version": self.doc.version}, "contentChanges": [change]})
        self.cursor = start + len(new)

    async def keystroke(self, start: int, end: int, new: str) -> None:
        """One key: the edit, then (mostly) a completion request, then the time to the next key."""
        previous = self.last
        if previous is not None and not previous[1].done() and self.rng.random() < 0.5:
            self.client.cancel(previous[0])
        self.change(start, end, new)
        draw = self.rng.random()
        if draw < 0.85:
            await self.ask("textDocument/inlineCompletion")
        elif draw < 0.90:
            await self.ask("textDocument/completion")
        else:
            await asyncio.sleep(self.rng.uniform(0.05, 0.25))

    async def ask(self, method: str) -> None:
        """Ask at the cursor, wait as long as the user takes to type the next key, accept what came back in
        time now and then."""
        assert self.doc is not None
        doc, version, position = self.doc, self.doc.version, self.doc.position(self.cursor)
        params: dict[str, Any] = {"textDocument": {"uri": doc.uri}, "position": position}
        params["context"] = {"triggerKind": 2 if method.endswith("inlineCompletion") else 1}
        self.last = self.client.request(method, params)
        await asyncio.sleep(self.rng.uniform(0.05, 0.25))
        if self.last[1].done():
            self.check(method, position, self.last[1].result())
            if doc.version == version and self.rng.random() < 0.1:
                await self.accept(method, self.last[1].result())

    def check(self, method: str, position: dict[str, int], response: dict[str, Any]) -> None:
        """Every suggestion inserts at the cursor (an item may only replace the word typed before it)."""
        result = response.get("result")
        for item in (result or {}).get("items", []) if isinstance(result, dict) else result or []:
            where = item.get("range") if method.endswith("inlineCompletion") else item.get("textEdit", {}).get("range")
            if where is None:
                continue
            if where["end"] != position or where["start"]["line"] != position["line"] or (
                    method.endswith("inlineCompletion") and where["start"] != position):
                self.client.tally.forbidden.append(f"{method} item edits beyond the cursor {position}: {where}")

    async def accept(self, method: str, response: dict[str, Any]) -> None:
        """The user takes the first suggestion: the editor applies it and runs its command."""
        assert self.doc is not None
        result = response.get("result")
        items = (result or {}).get("items", []) if isinstance(result, dict) else result or []
        if not items:
            return
        item = items[0]
        edit = {"range": item["range"], "newText": item["insertText"]} if "range" in item else item.get("textEdit")
        if edit is None:
            return
        self.change(self.doc.offset(edit["range"]["start"]), self.doc.offset(edit["range"]["end"]), edit["newText"])
        if (command := item.get("command")) is not None:
            self.client.request("workspace/executeCommand",
                                {"command": command["command"], "arguments": command.get("arguments", [])})
        self.client.tally.counts["accepted"] += 1

    async def type_line(self) -> None:
        """A new line of code below the cursor, one character at a time."""
        assert self.doc is not None
        line_start = self.doc.text.rfind("\n", 0, self.cursor) + 1
        indent = re.match(r"[ \t]*", self.doc.text[line_start:]).group()  # type: ignore[union-attr]
        for char in "\n" + indent + self.rng.choice(self.lines):
            await self.keystroke(self.cursor, self.cursor, char)
        self.client.tally.counts["lines typed"] += 1

    async def backspace(self) -> None:
        for _ in range(self.rng.randint(1, 12)):
            if self.cursor == 0:
                return
            await self.keystroke(self.cursor - 1, self.cursor, "")

    async def paste(self) -> None:
        assert self.doc is not None
        block = "\n".join(self.rng.sample(self.lines, self.rng.randint(2, 12)))
        await self.keystroke(self.cursor, self.cursor, "\n" + block)
        self.client.tally.counts["pastes"] += 1

    async def delete_lines(self) -> None:
        assert self.doc is not None
        start = self.doc.text.rfind("\n", 0, self.cursor) + 1
        end = start
        for _ in range(self.rng.randint(1, 5)):
            end = self.doc.text.find("\n", end) + 1 or len(self.doc.text)
        await self.keystroke(start, end, "")
        self.client.tally.counts["line deletions"] += 1

    async def session(self, seconds: float) -> None:
        """Edit until ``seconds`` have passed."""
        end = time.monotonic() + seconds
        self.move()
        actions = [(self.type_line, 60), (self.backspace, 15), (self.move, 12), (self.paste, 5),
                   (self.delete_lines, 5), (self.think, 12)]
        while time.monotonic() < end:
            action = self.rng.choices([a for a, _ in actions], [w for _, w in actions])[0]
            result = action()
            if result is not None:
                await result

    async def think(self) -> None:
        await asyncio.sleep(self.rng.uniform(0.5, 8.0))


# ---- memory ------------------------------------------------------------------------------------------------------


def rss_kb(pid: int) -> int:
    """VmRSS of a process in kB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+)", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def descendants(pid: int) -> Iterator[int]:
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            yield child
            yield from descendants(child)


async def watch(client: Client, pid: int, started: float, stop: asyncio.Event) -> None:
    """Sample the server's memory and look for overdue requests every `SAMPLE_S`."""
    while not stop.is_set():
        sample = (time.monotonic() - started, rss_kb(pid), sum(map(rss_kb, descendants(pid))))
        client.tally.rss.append(sample)
        client.tally.unanswered.update(client.overdue())
        if len(client.tally.rss) % 6 == 1:
            print(f"{sample[0] / 60:5.1f} min: server RSS {sample[1] / 1024:.1f} MB, "
                  f"{sum(client.tally.counts.values())} client events, {len(client.pending)} pending, "
                  f"{len(client.tally.unanswered)} unanswered", file=sys.stderr, flush=True)
        try:
            await asyncio.wait_for(stop.wait(), SAMPLE_S)
        except TimeoutError:
            pass


# ---- the run -----------------------------------------------------------------------------------------------------


def workspace(package: str) -> Path:
    """A fresh copy of an installed package's sources in ``.scratch/soak-repo``."""
    import importlib

    source = Path(importlib.import_module(package).__file__ or "").parent
    repo = SCRATCH / "soak-repo"
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(source, repo / package, ignore=shutil.ignore_patterns("__pycache__"))
    return repo


def digest(repo: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(repo.rglob("*")):
        if path.is_file():
            sha.update(path.relative_to(repo).as_posix().encode() + path.read_bytes())
    return sha.hexdigest()


async def soak(minutes: float, seed: int, package: str, shares: tuple[float, float, float],
               ) -> tuple[Tally, FlakyServer, dict[str, Any]]:
    repo = workspace(package)
    before = digest(repo)
    files = sorted(path for path in repo.rglob("*.py") if path.stat().st_size > 2000)
    tally = Tally()
    log = SCRATCH / "soak-server.log"
    env = {**os.environ, **TIMEOUTS, "QWEN_NO_AUTODETECT": "1", "QWEN_CONTEXT_CACHE_DIR": str(SCRATCH / "soak-cache"),
           "QWEN_CONTEXT_CONFIG": str(SCRATCH / "soak-none.toml")}
    shutil.rmtree(SCRATCH / "soak-cache", ignore_errors=True)
    # Opening the server's log once is not worth a thread.
    with FlakyServer(seed, *shares) as model, open(log, "wb") as stderr:  # noqa: ASYNC230
        process = await asyncio.create_subprocess_exec(QWEN_LSP, stdin=asyncio.subprocess.PIPE,
                                                       stdout=asyncio.subprocess.PIPE, stderr=stderr, env=env)
        client = Client(process, tally)
        started = time.monotonic()
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch(client, process.pid, started, stop))
        await client.call("initialize", {
            "processId": os.getpid(), "rootUri": repo.as_uri(),
            "workspaceFolders": [{"uri": repo.as_uri(), "name": repo.name}],
            "capabilities": {"window": {"workDoneProgress": True}, "workspace": {"applyEdit": True},
                             "textDocument": {"inlineCompletion": {}, "completion": {}}},
            "initializationOptions": {"completion": True,
                                      "model": {"baseUrl": model.base_url, "model": "qwen3-coder"}}})
        client.notify("initialized", {})
        await asyncio.wait_for(client.indexed.wait(), 300)
        await Typist(client, files, random.Random(seed)).session(minutes * 60)
        typed = time.monotonic()
        while client.pending and time.monotonic() - typed < UNANSWERED_S:
            await asyncio.sleep(0.5)
        tally.unanswered.update(client.pending)
        stop.set()
        await watcher
        exit_code = await client.close()
    facts = {"exit code": exit_code, "disk unchanged": digest(repo) == before, "files": len(files),
             "seconds": typed - started}
    return tally, model, facts


# ---- the report --------------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def window(samples: list[tuple[float, int, int]], start: float, end: float) -> list[float]:
    """The server's RSS in MB of the samples taken from ``start`` to ``end`` seconds."""
    return [kb / 1024 for seconds, kb, _ in samples if start <= seconds < end]


def memory(tally: Tally, seconds: float) -> dict[str, float]:
    """RSS figures: first and last minute, the second minute (after indexing), max, slope of the second half."""
    samples = tally.rss
    half = [(seconds_, kb / 1024) for seconds_, kb, _ in samples if seconds_ >= seconds / 2]
    slope = (statistics.linear_regression([t for t, _ in half], [mb for _, mb in half]).slope * 600
             if len(half) >= 3 else 0.0)
    last = window(samples, seconds - 60, float("inf")) or [samples[-1][1] / 1024]
    second = window(samples, 60, 120) or last
    return {"first minute": statistics.median(window(samples, 0, 60) or last), "second minute":
            statistics.median(second), "last minute": statistics.median(last),
            "max": max(kb for _, kb, _ in samples) / 1024, "children max": max(c for _, _, c in samples) / 1024,
            "slope": slope, "growth": statistics.median(last) - statistics.median(second)}


def report(minutes: float, tally: Tally, model: FlakyServer, facts: dict[str, Any]) -> bool:
    """Print the figures and the invariants; True when every invariant holds."""
    counts = tally.counts
    print(f"\n{minutes:g} min of typing ({facts['seconds']:.0f} s with indexing), {facts['files']} files")
    print("client: " + ", ".join(f"{name} {count}" for name, count in sorted(counts.items())))
    print(f"endpoint: {sum(model.modes.values())} requests: " +
          ", ".join(f"{mode} {count}" for mode, count in model.modes.most_common()))
    print(f"\n{'request outcome':<46} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, timed in sorted(tally.latencies.items()):
        values = [ms for _, ms in timed]
        print(f"{name:<46} {len(values):>6} {statistics.median(values):8.1f} {percentile(values, 0.95):8.1f} "
              f"{max(values):8.1f}")
    start = min((sent for timed in tally.latencies.values() for sent, _ in timed), default=0.0)
    end = max((sent for timed in tally.latencies.values() for sent, _ in timed), default=0.0)
    suggested = tally.latencies.get("textDocument/inlineCompletion suggestion", [])
    early = [ms for sent, ms in suggested if sent < start + 60]
    late = [ms for sent, ms in suggested if sent >= end - 60]
    if early and late:
        print(f"inline suggestions, p50: first minute {statistics.median(early):.1f} ms, last minute "
              f"{statistics.median(late):.1f} ms (ratio {statistics.median(late) / statistics.median(early):.2f})")
    mem = memory(tally, facts["seconds"])
    print(f"\nserver RSS: first minute {mem['first minute']:.1f} MB, second {mem['second minute']:.1f} MB, last "
          f"{mem['last minute']:.1f} MB (ratio last/first {mem['last minute'] / mem['first minute']:.2f}), max "
          f"{mem['max']:.1f} MB; slope over the second half {mem['slope']:+.2f} MB/10 min; "
          f"{len(tally.rss)} samples; parsing workers max {mem['children max']:.1f} MB")
    shown = sum(tally.errors_shown.values())
    print(f"error messages shown: {shown} ({len(tally.errors_shown)} distinct) for {model.failed} failed "
          "model requests")
    for message, count in tally.errors_shown.most_common():
        print(f"  {count:>5}  {message[:150]}")
    print("server requests: " + (", ".join(f"{m} {c}" for m, c in tally.server_requests.items()) or "none"))
    judged = minutes >= JUDGED_MINUTES
    checks = {
        "every request answered (none after 70 s)": not tally.unanswered,
        "no edit the user did not accept": not tally.forbidden and facts["disk unchanged"],
        f"memory flat (growth and slope < {FLAT_MB:g} MB{'' if judged else '; not judged under 10 min'})":
            not judged or (mem["growth"] < FLAT_MB and mem["slope"] < FLAT_MB),
        "no more error messages than failed model requests": shown <= model.failed,
        "clean exit": facts["exit code"] == 0,
    }
    for problem in tally.forbidden[:10]:
        print(f"  forbidden: {problem}")
    if tally.unanswered:
        print(f"  unanswered request ids: {sorted(tally.unanswered)[:20]}")
    print()
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    return all(checks.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--package", default="pygls", help="installed package whose sources are the workspace")
    parser.add_argument("--errors", type=float, default=0.05, help="share of model requests that fail")
    parser.add_argument("--stalls", type=float, default=0.05, help="share of model requests that stall")
    parser.add_argument("--huge", type=float, default=0.01, help="share of model requests answered with 5 MB")
    args = parser.parse_args()
    SCRATCH.mkdir(exist_ok=True)
    shares = (args.errors, args.stalls, args.huge)
    print(f"endpoint: {shares[0]:.0%} errors, {shares[1]:.0%} stalls, {shares[2]:.0%} answers of 5 MB; client "
          "deadlines " + ", ".join(f"{name}={value} s" for name, value in TIMEOUTS.items()))
    tally, model, facts = asyncio.run(soak(args.minutes, args.seed, args.package, shares))
    return 0 if report(args.minutes, tally, model, facts) else 1


if __name__ == "__main__":
    sys.exit(main())
