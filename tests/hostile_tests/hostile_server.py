"""A hostile OpenAI-compatible endpoint on 127.0.0.1: every way a proxy, a half-deployed server or a rate-limited
cloud misbehaves, written as raw bytes on a socket (no HTTP library to tidy them up).

`HostileServer(answers="trickle", models="html")` answers the completion routes one way and `GET /v1/models`
another; `requests` counts what arrived per route. Modes (both routes unless noted):

- `ok`: a well-formed answer (`text`), the model list `["qwen3-coder"]`;
- `silent`: reads the request and never answers; `stall`: one event, then nothing;
- `trickle`: one event, then a space a second, forever (each byte resets a between-bytes timeout);
- `html`: a proxy's 502 page with status 200; `random`: random bytes as an event stream;
- `list`: a JSON array where an object or an event stream belongs;
- `choices-null`, `choices-string`, `choices-object`, `delta-string`: JSON events of the wrong shape;
- `cut`: one event, then the connection closes mid-stream;
- `empty`: a well-formed answer with no text;
- `huge`: `size` bytes of one line, in 4 KB events, as fast as the socket takes them; `many`: `size` events of
  one character each;
- `429`: rate limited with `Retry-After: 3600`; `429-date`: with an HTTP date decades ahead;
- `500`: an internal server error.
"""

from __future__ import annotations

import json
import random
import socket
import socketserver
import threading
from collections import Counter
from types import TracebackType
from typing import Self

EVENT = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "qwen3-coder"}


def _event(route: str, text: str, finish: str | None = None) -> bytes:
    if route == "chat":
        choice = {"index": 0, "delta": {"content": text}, "finish_reason": finish}
    else:
        choice = {"index": 0, "text": text, "finish_reason": finish}
    return b"data: " + json.dumps({**EVENT, "choices": [choice]}).encode() + b"\n\n"


def _wrong(mode: str, route: str) -> bytes:
    choices: object = {"null": [None], "string": "abc", "object": {"text": "x"}}.get(mode.split("-")[1])
    if mode == "delta-string":
        choices = [{"index": 0, "delta": "hello", "text": 7}]
    return b"data: " + json.dumps({**EVENT, "choices": choices}).encode() + b"\n\n"


class HostileServer:
    """`with HostileServer(answers=..., models=...) as server: ... server.base_url ...`"""

    def __init__(self, answers: str = "ok", models: str = "ok", *, text: str = "value", size: int = 0) -> None:
        self.answers = answers
        self.models = models
        self.text = text
        self.size = size
        self.requests: Counter[str] = Counter()
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # --- answers -------------------------------------------------------------------------------------------------

    def answer(self, sock: socket.socket, route: str) -> None:
        """Write the answer of this route's mode to `sock` (a subclass may pick a mode per request)."""
        self.reply(sock, route, self.models if route == "models" else self.answers)

    def reply(self, sock: socket.socket, route: str, mode: str) -> None:
        """Write the answer of `mode` on `route` to `sock`."""
        if mode == "silent":
            self.stopping.wait()
        elif mode == "ok":
            self._ok(sock, route)
        elif mode == "html":
            _send(sock, 200, b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
                  "text/html")
        elif mode == "list":
            _send(sock, 200, b"[1, 2, 3]", "application/json")
        elif mode in ("429", "429-date"):
            wait = "3600" if mode == "429" else "Wed, 21 Oct 2099 07:28:00 GMT"
            _send(sock, 429, b'{"error": {"message": "slow down"}}', "application/json", f"Retry-After: {wait}\r\n")
        elif mode == "500":
            _send(sock, 500, b'{"error": {"message": "boom"}}', "application/json")
        else:
            self._stream(sock, route, mode)

    def _ok(self, sock: socket.socket, route: str) -> None:
        if route == "models":
            _send(sock, 200, json.dumps({"object": "list", "data": [{"id": "qwen3-coder"}]}).encode(),
                  "application/json")
        else:
            _stream_head(sock)
            sock.sendall(_event(route, self.text) + _event(route, "", "stop") + b"data: [DONE]\n\n")

    def _stream(self, sock: socket.socket, route: str, mode: str) -> None:
        """Event-stream modes: the body runs until the connection closes (no length, no chunking)."""
        _stream_head(sock)
        if mode == "empty":
            sock.sendall(_event(route, "", "stop") + b"data: [DONE]\n\n")
            return
        if mode == "random":
            sock.sendall(random.Random(17).randbytes(64 * 1024))
            return
        if mode.startswith(("choices-", "delta-")):
            sock.sendall(_wrong(mode, route) + b"data: [DONE]\n\n")
            return
        if mode in ("huge", "many"):
            piece = _event(route, "x" * 4096 if mode == "huge" else "x")
            for _ in range(self.size // 4096 if mode == "huge" else self.size):
                sock.sendall(piece)
            sock.sendall(_event(route, "", "stop") + b"data: [DONE]\n\n")
            return
        sock.sendall(_event(route, "first"))
        if mode == "cut":
            return
        while not self.stopping.wait(1.0 if mode == "trickle" else 60):
            sock.sendall(b" ")


def _stream_head(sock: socket.socket) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")


def _send(sock: socket.socket, status: int, body: bytes, content_type: str, extra: str = "") -> None:
    head = (f"HTTP/1.1 {status} Status\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n{extra}\r\n")
    sock.sendall(head.encode() + body)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _handler_for(server: HostileServer) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            head = b""
            while b"\r\n\r\n" not in head:
                data = sock.recv(65536)
                if not data:
                    return
                head += data
            header, _, body = head.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in header.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                body += sock.recv(65536)
            path = header.split(b" ", 2)[1].decode()
            route = {"/v1/models": "models", "/v1/completions": "completions",
                     "/v1/chat/completions": "chat"}.get(path, "other")
            server.requests[route] += 1
            try:
                server.answer(sock, route)
            except OSError:
                pass  # the client hung up: that is what a bounded client does

    return Handler
