"""A small OpenAI-compatible server on 127.0.0.1, for tests and for trying qwen-context without a GPU.

It speaks real HTTP/1.1 (chunked Server-Sent Events for streams): `GET /v1/models`, `POST /v1/completions`,
`POST /v1/chat/completions` and llama.cpp's `POST /infill`. It records every request (path, headers, JSON body,
and whether the client hung up mid-stream), answers from a script — a list of `Reply` objects consumed in order,
or a function of the request — and injects the faults a real endpoint produces: a slow first token, 429 with
Retry-After, 5xx, 401 for a wrong key, 404 for an unknown model or a missing route, a malformed SSE line, a
stream cut mid-way. Tests use it as a context manager; users run `qwen-context fake-server`.
"""

from __future__ import annotations

import json
import logging
import re
import select
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolCall:
    """A tool call the fake model makes (sent the way OpenAI streams it: name first, arguments in pieces)."""

    name: str
    arguments: Mapping[str, Any] | str  # a string is sent as it is (a model's malformed arguments)


@dataclass(frozen=True)
class Reply:
    """One scripted answer, or one fault."""

    text: str = ""
    chunks: Sequence[str] | None = None  # explicit stream pieces; default: `text` word by word
    tool_calls: Sequence[ToolCall] = ()
    status: int = 200
    error: str = ""  # message of an error answer (status >= 400)
    retry_after: float | None = None  # seconds, sent as a Retry-After header
    first_token_delay: float = 0.0
    chunk_delay: float = 0.0
    cut_after: int | None = None  # close the connection after this many stream events, mid-stream
    malformed: bool = False  # start the stream with a line that is not JSON

    @classmethod
    def rate_limited(cls, retry_after: float | None = 0.0) -> Reply:
        """HTTP 429, with a Retry-After header unless `retry_after` is None."""
        return cls(status=429, error="Rate limit reached; slow down.", retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500) -> Reply:
        """A 5xx answer."""
        return cls(status=status, error="Internal server error (scripted).")

    def pieces(self) -> list[str]:
        """The stream pieces of the text."""
        if self.chunks is not None:
            return list(self.chunks)
        return re.findall(r"\s*\S+|\s+", self.text)


@dataclass
class RecordedRequest:
    """What the server received, and how the exchange ended."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    disconnected: bool = False  # the client closed the connection before the stream ended
    finished: bool = False  # the whole answer was sent

    @property
    def route(self) -> str:
        """`models`, `completions`, `chat` or `infill`; "" for a path the server does not serve."""
        return _ROUTES.get(self.path.split("?", 1)[0].rstrip("/"), "")


_ROUTES = {"/v1/models": "models", "/v1/completions": "completions", "/v1/chat/completions": "chat",
           "/infill": "infill"}

Script = Sequence[Reply | str] | Callable[[RecordedRequest], Reply | str]


class _Stopped(Exception):
    """The client went away or the server is shutting down: stop writing."""


class FakeOpenAIServer:
    """The local endpoint: `with FakeOpenAIServer(script) as server: ... server.base_url ... server.requests`."""

    def __init__(self, script: Script = (), *, reply: str | None = None, models: Sequence[str] = ("qwen3-coder",),
                 token: str | None = None, completions: bool = True, infill: bool = True,
                 port: int = 0) -> None:
        self.requests: list[RecordedRequest] = []
        self.models = list(models)
        self.token = token
        self.completions = completions  # False: no raw /v1/completions route, like DashScope for Qwen3-Coder
        self.infill = infill
        self._script: deque[Reply | str] | Callable[[RecordedRequest], Reply | str] = (
            script if callable(script) else deque(script))
        self._reply = reply
        self._lock = threading.Lock()
        self._disconnect = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", port), _handler_for(self))
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port it listens on (the free one the system chose for port 0)."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The server root (llama.cpp's /infill lives here)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL to configure (`QWEN_BASE_URL`)."""
        return f"{self.url}/v1"

    def start(self) -> Self:
        """Serve in a background thread (tests); returns the server for chaining."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-openai-{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the CLI)."""
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._stopping.set()
            self._httpd.server_close()

    def stop(self) -> None:
        """Stop serving and release the port; streams in progress end at their next piece."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- what tests look at -------------------------------------------------------------------------------------

    def queue(self, *replies: Reply | str) -> None:
        """Add replies to the end of a list script."""
        if callable(self._script):
            raise TypeError("this server answers with a function, not a list of replies")
        with self._lock:
            self._script.extend(replies)

    def requests_to(self, route: str) -> list[RecordedRequest]:
        """The recorded requests of one route (`completions`, `chat`, `infill`, `models`)."""
        with self._lock:
            return [request for request in self.requests if request.route == route]

    def wait_for_disconnect(self, timeout: float = 5.0) -> bool:
        """Block until some client hung up mid-stream; True if one did within `timeout` seconds."""
        with self._disconnect:
            return bool(self._disconnect.wait_for(
                lambda: any(request.disconnected for request in self.requests), timeout))

    # --- used by the handler ------------------------------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _mark_disconnected(self, request: RecordedRequest) -> None:
        with self._disconnect:
            request.disconnected = True
            self._disconnect.notify_all()

    def _next_reply(self, request: RecordedRequest) -> Reply:
        if callable(self._script):
            answer = self._script(request)
        else:
            with self._lock:
                answer = self._script.popleft() if self._script else self._default_reply(request)
        return Reply(text=answer) if isinstance(answer, str) else answer

    def _default_reply(self, request: RecordedRequest) -> Reply:
        if self._reply is not None:
            return Reply(text=self._reply)
        if request.route == "chat":
            size = sum(len(str(message.get("content") or "")) for message in request.body.get("messages", []))
            return Reply(text=f"(fake-server) I received {size} characters of context. "
                              "Start the fake server with --reply TEXT to choose this answer.")
        return Reply(text="pass")


class _Server(ThreadingHTTPServer):
    """A thread per connection, none of which keeps the process alive."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up between requests is normal here: log it quietly instead of printing."""
        logger.debug("fake-server: connection from %s ended with an error", client_address, exc_info=sys.exc_info())


def _handler_for(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        """`_Handler` bound to this server's script and records."""

        fake = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive like real servers, so clients reuse connections."""

    protocol_version = "HTTP/1.1"
    timeout = 30
    fake: FakeOpenAIServer

    def setup(self) -> None:
        """Prepare the connection."""
        super().setup()
        # Stream pieces go out as they are written, as from a real server (no Nagle delay on small writes).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Send the access log to the module logger at debug level, not to stderr."""
        logger.debug("fake-server: " + format, *args)

    # --- routing -----------------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        """``GET /v1/models``; any other path is 404."""
        request = self._recorded(None)
        if request.route != "models":
            self._send_json(404, {"detail": "Not Found"})
        elif self._authorised():
            data = [{"id": name, "object": "model", "owned_by": "fake-server"} for name in self.fake.models]
            self._send_json(200, {"object": "list", "data": data})
        request.finished = True

    def do_POST(self) -> None:
        """Completions, chat completions and llama.cpp's ``/infill``: record the request, then answer it."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, {"error": {"message": "The request body is not JSON.", "code": 400}})
            return
        request = self._recorded(body)
        route = request.route
        if route in ("", "models") or (route == "completions" and not self.fake.completions) or (
                route == "infill" and not self.fake.infill):
            self._send_json(404, {"detail": "Not Found"})
        elif not self._authorised():
            pass
        elif route != "infill" and body.get("model") not in self.fake.models:
            self._send_json(404, {"error": {"message": f"The model `{body.get('model')}` does not exist.",
                                            "type": "NotFoundError", "code": 404}})
        else:
            self._answer(request, self.fake._next_reply(request))
            return
        request.finished = True

    def _recorded(self, body: Any) -> RecordedRequest:
        request = RecordedRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        self.fake._record(request)
        return request

    def _authorised(self) -> bool:
        if self.fake.token is None or self.headers.get("Authorization") == f"Bearer {self.fake.token}":
            return True
        self._send_json(401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                        "code": "invalid_api_key"}})
        return False

    # --- answers -----------------------------------------------------------------------------------------------

    def _answer(self, request: RecordedRequest, reply: Reply) -> None:
        if reply.status >= 400:
            headers = {"Retry-After": f"{reply.retry_after:g}"} if reply.retry_after is not None else {}
            self._send_json(reply.status, {"error": {"message": reply.error, "code": reply.status}}, headers)
            request.finished = True
            return
        try:
            self._pause(request, reply.first_token_delay)
            if request.body.get("stream"):
                self._stream(request, reply)
            else:
                self._send_json(200, _whole_answer(request, reply))
            request.finished = True
        except _Stopped:
            self.close_connection = True

    def _stream(self, request: RecordedRequest, reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if reply.malformed:
            self._write_chunk(request, b"data: {this is not json\n\n")
        for number, event in enumerate(_stream_events(request, reply)):
            if reply.cut_after is not None and number >= reply.cut_after:
                self.close_connection = True  # no terminating chunk: the client sees the stream cut
                return
            if number:
                self._pause(request, reply.chunk_delay)
            line = event if isinstance(event, str) else json.dumps(event)
            self._write_chunk(request, f"data: {line}\n\n".encode())
        self._write_chunk(request, b"")

    def _write_chunk(self, request: RecordedRequest, data: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except OSError as exc:
            self.fake._mark_disconnected(request)
            raise _Stopped from exc

    def _pause(self, request: RecordedRequest, seconds: float) -> None:
        """Wait, noticing at once if the client hangs up meanwhile."""
        deadline = time.monotonic() + seconds
        while True:
            if self.fake._stopping.is_set():
                raise _Stopped
            remaining = max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self.connection], [], [], min(remaining, 0.05))
            if readable:
                if self._peer_closed():
                    self.fake._mark_disconnected(request)
                    raise _Stopped
                time.sleep(min(remaining, 0.05))  # the client sent something early; keep the pace
            if remaining <= 0:
                return

    def _peer_closed(self) -> bool:
        try:
            peeked: bytes = self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return True
        return peeked == b""

    def _send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _finish_reason(reply: Reply) -> str:
    return "tool_calls" if reply.tool_calls else "stop"


def _tool_call_json(index: int, call: ToolCall) -> dict[str, Any]:
    return {"index": index, "id": f"call_{index}", "type": "function",
            "function": {"name": call.name, "arguments": call.arguments if isinstance(call.arguments, str)
                         else json.dumps(dict(call.arguments))}}


def _stream_events(request: RecordedRequest, reply: Reply) -> Iterator[dict[str, Any] | str]:
    """The SSE payloads of a streamed answer, in the route's format."""
    model = request.body.get("model", "fake")
    created = int(time.time())
    if request.route == "infill":  # llama.cpp's native format: no [DONE], a final `stop: true`
        for piece in reply.pieces():
            yield {"content": piece, "stop": False}
        yield {"content": "", "stop": True}
        return
    if request.route == "completions":
        for piece in reply.pieces():
            yield {"id": "cmpl-fake", "object": "text_completion", "created": created, "model": model,
                   "choices": [{"index": 0, "text": piece, "logprobs": None, "finish_reason": None}]}
        yield {"id": "cmpl-fake", "object": "text_completion", "created": created, "model": model,
               "choices": [{"index": 0, "text": "", "logprobs": None, "finish_reason": _finish_reason(reply)}]}
        yield "[DONE]"
        return

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield chunk({"role": "assistant", "content": ""})
    for piece in reply.pieces():
        yield chunk({"content": piece})
    for index, call in enumerate(reply.tool_calls):
        whole = _tool_call_json(index, call)
        arguments = whole["function"]["arguments"]
        yield chunk({"tool_calls": [{**whole, "function": {"name": call.name, "arguments": ""}}]})
        half = len(arguments) // 2
        for part in (arguments[:half], arguments[half:]):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
    yield chunk({}, _finish_reason(reply))
    yield "[DONE]"


def _whole_answer(request: RecordedRequest, reply: Reply) -> dict[str, Any]:
    """A non-streamed answer in the route's format."""
    text = "".join(reply.pieces())
    if request.route == "infill":
        return {"content": text, "stop": True}
    model = request.body.get("model", "fake")
    if request.route == "completions":
        return {"id": "cmpl-fake", "object": "text_completion", "model": model,
                "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": _finish_reason(reply)}]}
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {key: value for key, value in _tool_call_json(i, call).items() if key != "index"}
            for i, call in enumerate(reply.tool_calls)]
    return {"id": "chatcmpl-fake", "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(reply)}]}


__all__ = ["FakeOpenAIServer", "RecordedRequest", "Reply", "Script", "ToolCall"]
