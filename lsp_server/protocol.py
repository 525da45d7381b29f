"""JSON-RPC as the LSP specification wants it, whatever the client sends: lifecycle, limits, clean errors.

pygls reads and dispatches messages; this module puts the specification's rules and the server's limits around
it, so no handler has to think about them:

- the lifecycle: a request before ``initialize`` gets ``-32002`` (ServerNotInitialized) and a notification is
  dropped; after ``shutdown`` a request gets ``InvalidRequest``; ``exit`` ends the process with 0 after
  ``shutdown`` and 1 without (see `QwenProtocol.exit_code`);
- the transport (`read_messages`): a header line is at most `MAX_HEADER_BYTES`, a message at most
  `MAX_MESSAGE_BYTES` (a bigger one is read past in pieces and dropped, and the server keeps serving), a
  request whose params do not fit the method's types gets ``-32602``, and text with lone surrogates (which no
  UTF-8 encoder takes) has them replaced by U+FFFD before anything sees it;
- errors a client sees are one line, without a Python traceback or an absolute path of this machine (the
  details go to stderr);
- nothing is kept per message once it is handled (`QwenProtocol._execute_handler`): pygls 2.1 keeps the future of
  every notification for good, a few hundred bytes per keystroke that a day of typing turns into megabytes.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol

from context.errors import QwenContextError
from context.serve.worker import SerialWorker

logger = logging.getLogger(__name__)

#: Longest header line read; a longer one is not LSP.
MAX_HEADER_BYTES = 8192
#: Largest message read; a bigger one is skipped (a 50 MB ``didOpen`` fits, and gets buffer-only service).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: Piece size when reading past a message that is too big.
_SKIP_CHUNK = 1024 * 1024

_CONTENT_LENGTH = re.compile(rb"content-length:\s*(\d{1,20})\s*", re.IGNORECASE)
_SURROGATE = re.compile("[\ud800-\udfff]")
#: An absolute POSIX path (not inside a URI): its folders are dropped from what a client sees.
_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~-])/(?:[^\s/'\"`:,;()]+/)+(?=[^\s/'\"`:,;()]*)")
#: The ``module.Class: `` prefix Python puts before an exception's message.
_EXCEPTION_PREFIX = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*: ")
INTERNAL = "qwen-lsp: internal error (the details are in the server's log)"


def public_message(message: str) -> str:
    """``message`` as a client may see it: its first line, without an exception class or absolute paths."""
    first = (message.strip().splitlines() or [""])[0]
    return _ABSOLUTE_PATH.sub("", _EXCEPTION_PREFIX.sub("", first)) or INTERNAL


def repaired(value: Any) -> Any:
    """A decoded JSON value with every lone surrogate in its strings replaced by U+FFFD (one UTF-16 unit for
    one, so positions keep their meaning)."""
    if isinstance(value, str):
        return value if value.isascii() or not _SURROGATE.search(value) else _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {key: repaired(item) for key, item in value.items()}
    if isinstance(value, list):
        return [repaired(item) for item in value]
    return value


class QwenProtocol(LanguageServerProtocol):
    """pygls' LSP protocol with the specification's lifecycle and one-line, path-free errors."""

    _initialize_seen = False

    @property
    def exit_code(self) -> int:
        """The process's exit code: 0 once ``shutdown`` was answered, 1 otherwise (LSP's rule for ``exit``)."""
        return 0 if self._shutdown else 1

    def handle_message(self, message: Any) -> None:
        method = getattr(message, "method", None)
        request = method is not None and hasattr(message, "id")
        if method == types.EXIT or method is None:  # exit, and the client's responses to our requests
            super().handle_message(message)
        elif self._shutdown:
            if request:
                self.send_error(message.id, JsonRpcInvalidRequest("qwen-lsp: the server is shut down"))
        elif not self._initialize_seen and method != types.INITIALIZE:
            if request:
                self.send_error(message.id, JsonRpcServerNotInitialized(
                    "qwen-lsp: the server is not initialized; send initialize first"))
        else:
            self._initialize_seen = self._initialize_seen or method == types.INITIALIZE
            super().handle_message(message)

    def send_error(self, msg_id: Any, error: JsonRpcException) -> None:
        """Answer request ``msg_id`` with ``error``."""
        self._send_response(msg_id, error=error.to_response_error())

    def _send_handler_result(self, future: Future[Any], *, msg_id: Any) -> None:
        exc = None if future.cancelled() else future.exception()
        if exc is None or isinstance(exc, JsonRpcException):
            super()._send_handler_result(future, msg_id=msg_id)
            return
        self._request_futures.pop(msg_id, None)
        logger.error("request %s failed", msg_id, exc_info=exc)
        message = str(exc) if isinstance(exc, QwenContextError) else INTERNAL
        self.send_error(msg_id, JsonRpcInternalError(message))

    def _execute_handler(self, msg_id: Any, handler: Callable[..., Any], callback: Callable[[Future[Any]], None],
                         args: tuple[Any, ...] | None = None, kwargs: dict[str, Any] | None = None) -> None:
        """Run a handler as pygls does, then forget its future once it is done, unless it answers a request.

        pygls files the future of every notification and of every step of its generator handlers (``didOpen``,
        ``didChange``, ``didClose``, ``executeCommand``, ...) in ``_request_futures`` under a fresh uuid that
        nothing removes; only a request's own future is removed, when it is answered or cancelled. Kept while
        running, it is what holds an asynchronous handler's task alive, so it goes only when done.
        """
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        if getattr(callback, "func", None) == self._send_handler_result:
            return
        if (future := self._request_futures.get(msg_id)) is not None:
            future.add_done_callback(lambda _: self._request_futures.pop(msg_id, None))

    def _send_response(self, msg_id: Any, result: Any | None = None,
                       error: types.ResponseError | None = None) -> None:
        if error is not None:
            data = None if isinstance(error.data, dict) and "traceback" in error.data else error.data
            error = types.ResponseError(code=error.code, message=public_message(error.message), data=data)
        super()._send_response(msg_id, result, error)

    def receive(self, raw: Any) -> None:
        """Dispatch one decoded message: repaired, checked against its method's types (a request that does not
        fit gets ``-32602``), then through the lifecycle rules."""
        raw = repaired(raw)
        if not isinstance(raw, dict) or raw.get("jsonrpc") != "2.0":
            logger.warning("dropped a message that is not JSON-RPC 2.0: %.200r", raw)
            return
        try:
            message = self.structure_message(raw)
        except JsonRpcException as exc:
            if "id" in raw and "method" in raw:
                self.send_error(raw["id"], self._refusal(str(raw["method"])))
            logger.warning("dropped a malformed %s: %s", raw.get("method", "message"), exc)
            return
        self.handle_message(message)


    def _refusal(self, method: str) -> JsonRpcException:
        """The error for a request whose params do not fit its method: the lifecycle's error when the
        lifecycle refuses it anyway, else InvalidParams."""
        if self._shutdown:
            return JsonRpcInvalidRequest("qwen-lsp: the server is shut down")
        if not self._initialize_seen and method != types.INITIALIZE:
            return JsonRpcServerNotInitialized("qwen-lsp: the server is not initialized; send initialize first")
        return JsonRpcInvalidParams(f"qwen-lsp: invalid params for {method}")


class _Reader:
    """Blocking reads from the client's stream, run on one daemon thread (a read blocked on a silent client
    must not keep the process alive after ``exit``)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._thread = SerialWorker("qwen-lsp-reader")

    async def line(self) -> bytes:
        return await self._thread.run(lambda: self._stream.readline(MAX_HEADER_BYTES))

    async def body(self, length: int) -> bytes:
        return await self._thread.run(lambda: self._stream.read(length))

    def close(self) -> None:
        self._thread.stop(cancel_pending=True)


async def _headers(reader: _Reader) -> int | None:
    """Read one message's headers; its Content-Length (0 when absent or unreadable), None at end of input."""
    length = 0
    while True:
        line = await reader.line()
        if not line:
            return None
        if not line.strip():
            if length:
                return length
            continue  # a blank line before any header: keep looking
        if (match := _CONTENT_LENGTH.fullmatch(line)) is not None:
            length = int(match.group(1))


async def _skip(reader: _Reader, length: int) -> bool:
    """Read past ``length`` bytes in pieces; False at end of input."""
    while length > 0:
        piece = await reader.body(min(length, _SKIP_CHUNK))
        if not piece:
            return False
        length -= len(piece)
    return True


async def read_messages(stream: BinaryIO, protocol: QwenProtocol, stop: threading.Event) -> None:
    """Read LSP messages from ``stream`` and dispatch them until end of input or ``stop``."""
    reader = _Reader(stream)
    try:
        while not stop.is_set():
            length = await _headers(reader)
            if length is None:
                break
            if length > MAX_MESSAGE_BYTES:
                logger.error("skipped a message of %d bytes (the limit is %d)", length, MAX_MESSAGE_BYTES)
                if not await _skip(reader, length):
                    break
                continue
            body = await reader.body(length)
            if len(body) < length:
                break
            try:
                raw = json.loads(body)
            except ValueError as exc:
                logger.warning("dropped a message that is not JSON: %s", exc)
                continue
            try:
                protocol.receive(raw)
            except Exception:
                logger.exception("could not handle a message")
    finally:
        reader.close()
