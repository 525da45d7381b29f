"""A tiny scripted chat model on 127.0.0.1 for the code-action tests: each answer's text AND finish_reason.

`context.model.fakeserver` always ends an answer with ``finish_reason: "stop"``; a model cut off by
``max_tokens`` ends with ``"length"``. This server streams scripted answers as OpenAI-style Server-Sent Events
with whatever finish_reason the test names, and records every request body.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class ScriptedModel:
    """Answers ``/v1/chat/completions`` with the queued (text, finish_reason) pairs, in order; the last one
    repeats. ``requests`` holds each request's JSON body."""

    def __init__(self, *answers: tuple[str, str]) -> None:
        self._answers = deque(answers)
        self.requests: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def prompts(self) -> list[str]:
        """The text of every message the model was sent, one string per request."""
        return ["\n".join(str(m["content"]) for m in body["messages"]) for body in self.requests]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self) -> tuple[str, str]:
        return self._answers.popleft() if len(self._answers) > 1 else self._answers[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._send(json.dumps({"object": "list", "data": [{"id": "qwen3-coder", "object": "model"}]}),
                           "application/json")

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                model.requests.append(body)
                text, finish = model._next()
                events = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": text},
                                        "finish_reason": None}]},
                          {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}]
                self._send("".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n",
                           "text/event-stream")

            def _send(self, payload: str, kind: str) -> None:
                data = payload.encode()
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
