"""The model client's own overhead per completion: time to the first token delivered to the caller, minus the
time the same request takes to its first token over a bare socket (the server's and the network's share).

The local OpenAI-compatible server runs in its own process (`qwen-context fake-server`), so the two do not share
a GIL. For each FIM route, requests alternate between `ModelClient.complete()` and a raw socket sending the
identical bytes; the overhead of one pair is the difference. The client's CPU time to the first token is shown
too: unlike wall-clock time it does not grow when other processes compete for the cores. The prompt is a repository-level FIM prompt of about
8,000 tokens (32 KB), the size the editors send per keystroke. Target: p50 and p95 under 5 ms.

    .venv/bin/python bench/bench_model.py [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

from context.model.client import FIM_STOP, FIM_SYSTEM_PROMPT, ModelClient, fim_parts
from context.model.settings import load_settings

TARGET_MS = 5.0
MODEL = "qwen3-coder"


def repository_prompt() -> str:
    """About 32 KB: a few context files, then the current file around the cursor."""
    body = "".join(f"def function_{i}(value: int) -> int:\n    return value * {i} + {i % 7}\n\n" for i in range(200))
    files = "".join(f"<|file_sep|>pkg/module_{n}.py\n{body[:6000]}\n" for n in range(4))
    return (f"<|repo_name|>bench\n{files}<|file_sep|>pkg/main.py\n<|fim_prefix|>{body[:7000]}def run():\n"
            f"    total = <|fim_suffix|>\n    return total\n<|fim_middle|>")


def request_body(route: str, prompt: str) -> tuple[str, dict[str, Any]]:
    """The path and JSON body `ModelClient` sends on a route (the raw client must send the same bytes)."""
    settings = load_settings({"model": MODEL})
    if route == "infill":
        parts = fim_parts(prompt)
        return "/infill", {"input_prefix": parts.prefix, "input_suffix": parts.suffix,
                           "input_extra": [{"filename": p, "text": t} for p, t in parts.files],
                           "n_predict": settings.max_tokens, "temperature": settings.temperature, "stream": True,
                           "cache_prompt": True}
    if route == "chat":
        return "/v1/chat/completions", {
            "model": MODEL, "messages": [{"role": "system", "content": FIM_SYSTEM_PROMPT},
                                         {"role": "user", "content": prompt}],
            "max_tokens": settings.max_tokens, "temperature": settings.temperature, "stream": True}
    return "/v1/completions", {"model": MODEL, "prompt": prompt, "max_tokens": settings.max_tokens,
                               "temperature": settings.temperature, "stop": list(FIM_STOP), "stream": True}


class RawClient:
    """A persistent socket sending pre-encoded requests: the floor any HTTP client can reach."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def first_token_seconds(self, request: bytes) -> float:
        started = time.perf_counter()
        self.sock.sendall(request)
        seen = b""
        first = 0.0
        while not seen.endswith(b"0\r\n\r\n"):
            seen += self.sock.recv(65536)
            if not first and b"data:" in seen:
                first = time.perf_counter() - started
        return first


async def client_first_token_seconds(client: ModelClient, prompt: str) -> tuple[float, float]:
    """(wall-clock, CPU) seconds from the call to the first delta in the caller's hands."""
    started, cpu_started = time.perf_counter(), time.process_time()
    first = cpu = 0.0
    async for _ in client.complete(prompt):
        if not first:
            first, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return first, cpu


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def bench_route(route: str, port: int, requests: int) -> dict[str, float]:
    prompt = repository_prompt()
    path, body = request_body(route, prompt)
    payload = json.dumps(body).encode()
    raw_request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
    raw = RawClient(port)
    settings = load_settings({"base_url": f"http://127.0.0.1:{port}/v1", "model": MODEL, "fim_mode": route})
    client_times, raw_times, overheads, cpu_times = [], [], [], []
    async with ModelClient(settings) as client:
        for number in range(requests + 20):
            client_time, cpu_time = await client_first_token_seconds(client, prompt)
            raw_time = raw.first_token_seconds(raw_request)
            if number >= 20:  # warm-up: connection set-up, first-call imports
                client_times.append(client_time * 1000)
                raw_times.append(raw_time * 1000)
                overheads.append((client_time - raw_time) * 1000)
                cpu_times.append(cpu_time * 1000)
    raw.sock.close()
    return {"client_p50": statistics.median(client_times), "raw_p50": statistics.median(raw_times),
            "overhead_p50": percentile(overheads, 0.5), "overhead_p95": percentile(overheads, 0.95),
            "cpu_p50": percentile(cpu_times, 0.5), "cpu_p95": percentile(cpu_times, 0.95)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="measured requests per route (default 300)")
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "context.cli", "fake-server", "--port", "0", "--reply", "x"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[4].rsplit(":", 1)[1].split("/")[0])
        print(f"{len(repository_prompt()):,} byte prompt, {args.requests} requests per route, fake server pid "
              f"{server.pid}")
        print(f"{'route':<12} {'client p50':>11} {'raw p50':>9} {'overhead p50':>13} {'overhead p95':>13} "
              f"{'client CPU p50':>15} {'CPU p95':>9}")
        worst = 0.0
        for route in ("completions", "infill", "chat"):
            result = asyncio.run(bench_route(route, port, args.requests))
            worst = max(worst, result["overhead_p95"])
            print(f"{route:<12} {result['client_p50']:>8.2f} ms {result['raw_p50']:>6.2f} ms "
                  f"{result['overhead_p50']:>10.2f} ms {result['overhead_p95']:>10.2f} ms "
                  f"{result['cpu_p50']:>12.2f} ms {result['cpu_p95']:>6.2f} ms")
        print(f"target: overhead < {TARGET_MS:g} ms at p95 -> {'met' if worst < TARGET_MS else 'NOT met'}")
    finally:
        server.terminate()
        server.wait(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
