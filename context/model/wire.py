"""The one module that talks to the model endpoint, through the openai SDK (`AsyncOpenAI`, on httpx2).

Everything that crosses the wire passes here and comes out bounded and checked:

- time: connect, first-token and between-bytes timeouts, and a deadline on the whole request
  (`ModelSettings.deadline`: `QWEN_ANSWER_TIMEOUT`, or a per-kind default), `/models` and probes included;
- size: an answer stops being read (and its stream is closed) past `max_tokens` text events, 32 bytes of text
  per token asked for, or `QWEN_MAX_ANSWER_BYTES`, and then ends as if cut by the server
  (`finish_reason: "length"`);
- shape: every event is validated (pydantic) against what the route promises; anything else — HTML, random bytes,
  `choices` that is not a list of objects, a `delta` that is a string — is one `ModelError` naming the endpoint and
  quoting what it sent.

The SDK gives the connection pool, SSE decoding, auth headers, error classes and closing streams; its generic
`post(..., stream=True, stream_cls=AsyncStream[object])` reaches llama.cpp's `/infill` through the same pool as
the OpenAI routes. Two things stay ours, for reasons:

- retries (`max_retries=0` in the SDK): the SDK also retries refused connections, which would multiply the wait
  for a dead endpoint and hide it from the circuit breaker, and it retries a `Retry-After: 3600` with its own
  backoff where we fail at once and say how long the server asked to wait;
- response types: the SDK builds its typed responses without validating them (`construct`), and its strict mode
  rejects real servers (LM Studio's model list has no `created`); so raw JSON is read and checked field by field,
  only for the fields we use.
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import json
import logging
import random
import re
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import httpx2
import openai
from openai import AsyncOpenAI, AsyncStream, Omit
from pydantic import BaseModel, ConfigDict, ValidationError

from context.errors import (
    FimUnsupported,
    ModelAuthError,
    ModelError,
    ModelNotFound,
    ModelRateLimited,
    ModelResponseError,
    ModelTimeout,
    ModelUnavailable,
)
from context.model.settings import ModelSettings

logger = logging.getLogger(__name__)

Route = Literal["completions", "infill", "chat"]

_PROBE_TIMEOUT = 0.5  # seconds per local port while autodetecting, the whole exchange
_RETRYABLE = frozenset({429, 500, 502, 503, 504})
_BACKOFF_CAP = 8.0
_QUOTE = 120  # characters of a bad payload quoted in an error
_DRAIN_TIMEOUT = 0.1
#: Bytes of text one token may stand for, on average over an answer: Qwen's tokens average about 4 bytes of code,
#: so an answer past 32 per token asked for is not the model following `max_tokens` (one huge event, say).
_BYTES_PER_TOKEN = 32  # seconds to read the end of a body after its last event

#: Set while `doctor` runs, so that its failure lines do not advise running `doctor`.
diagnosing: contextvars.ContextVar[bool] = contextvars.ContextVar("diagnosing", default=False)


def doctor_hint(text: str = " `qwen-context doctor` checks the endpoint.") -> str:
    """`text` (a pointer to `doctor`), or nothing while `doctor` itself is running."""
    return "" if diagnosing.get() else text


# --- what the routes send ------------------------------------------------------------------------------------------


class _Lenient(BaseModel):
    """Only the fields we read are checked; servers add others (usage, logprobs, timings) freely."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class _CompletionChoice(_Lenient):
    text: str | None = None
    finish_reason: str | None = None


class _CompletionEvent(_Lenient):
    choices: list[_CompletionChoice] = []  # a final usage-only event has none


class _FunctionDelta(_Lenient):
    name: str | None = None
    arguments: str | None = None


class _ToolCallDelta(_Lenient):
    index: int | None = None
    id: str | None = None
    function: _FunctionDelta | None = None


class _ChatDelta(_Lenient):
    content: str | None = None
    tool_calls: list[_ToolCallDelta] | None = None


class _ChatChoice(_Lenient):
    delta: _ChatDelta | None = None
    finish_reason: str | None = None


class _ChatEvent(_Lenient):
    choices: list[_ChatChoice] = []


class _InfillEvent(_Lenient):
    content: str = ""
    stop: bool = False


class _ModelEntry(_Lenient):
    id: str


class _ModelList(_Lenient):
    data: list[_ModelEntry]


@dataclass(frozen=True)
class ToolCallPiece:
    """A fragment of a streamed tool call: pieces with the same index add up to one call."""

    index: int | None
    id: str | None
    name: str
    arguments: str


@dataclass(frozen=True)
class Delta:
    """One stream event, whatever the route: new text, tool-call fragments, and whether the answer ended."""

    text: str = ""
    tool_calls: tuple[ToolCallPiece, ...] = ()
    finish_reason: str | None = None


def _delta(route: Route, payload: Any) -> Delta:
    """The route's event as a `Delta`; raises ValidationError when it has the wrong shape."""
    if route == "infill":
        infill = _InfillEvent.model_validate(payload)
        return Delta(infill.content, (), "stop" if infill.stop else None)
    if route == "completions":
        choices = _CompletionEvent.model_validate(payload).choices
        return Delta(choices[0].text or "", (), choices[0].finish_reason) if choices else Delta()
    chat = _ChatEvent.model_validate(payload).choices
    if not chat:
        return Delta()
    delta = chat[0].delta
    pieces = tuple(ToolCallPiece(call.index, call.id, (call.function.name or "") if call.function else "",
                                 (call.function.arguments or "") if call.function else "")
                   for call in (delta.tool_calls if delta and delta.tool_calls else ()))
    return Delta((delta.content or "") if delta else "", pieces, chat[0].finish_reason)


def _quote(payload: Any) -> str:
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, default=str)
    return repr(text[:_QUOTE] + ("..." if len(text) > _QUOTE else ""))


def _shape_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "the event"
    return f"{where}: {error['msg'].lower()}"


# --- limits ------------------------------------------------------------------------------------------------------


@dataclass
class _Budget:
    """What one answer may still take: text events (~tokens) and bytes; past either, reading stops."""

    tokens: int
    bytes: int
    spent_tokens: int = 0
    spent_bytes: int = 0

    def admit(self, delta: Delta) -> Delta | None:
        """`delta` if it fits, the part of its text that fits if it does not, None once nothing more does."""
        size = len(delta.text.encode("utf-8", "surrogatepass")) + sum(
            len(piece.arguments) + len(piece.name) for piece in delta.tool_calls)
        if not size:
            return delta
        room = self.bytes - self.spent_bytes
        if self.spent_tokens >= self.tokens or room <= 0:
            return None
        self.spent_tokens += 1
        self.spent_bytes += size
        if size <= room:
            return delta
        return Delta(delta.text.encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore"))


@dataclass
class _Clock:
    """The deadlines of one request: the whole answer, and its first token."""

    settings: ModelSettings
    kind: str
    started: float = field(default_factory=time.monotonic)

    @property
    def deadline(self) -> float:
        return self.settings.deadline(self.kind)

    def remaining(self, *, first_token: bool = False) -> float:
        left = self.deadline - (time.monotonic() - self.started)
        if first_token:
            left = min(left, self.settings.first_token_timeout - (time.monotonic() - self.started))
        return left

    def expired(self, *, first_token: bool = False) -> ModelTimeout:
        """The error for whichever deadline ran out."""
        base = self.settings.base_url
        if first_token and self.remaining() > 0:
            return ModelTimeout(
                f"{base} sent nothing within {self.settings.first_token_timeout:g}s: the server may be overloaded "
                "or still loading the model; raise QWEN_FIRST_TOKEN_TIMEOUT if it is just slow")
        return ModelTimeout(f"{base} did not finish {_WHAT[self.kind]} within {self.deadline:g}s; raise "
                            "QWEN_ANSWER_TIMEOUT if the server is just slow")


_WHAT = {"models": "listing its models", "fim": "the completion", "chat": "the answer"}


# --- the wire ------------------------------------------------------------------------------------------------------


class Wire:
    """The SDK client and its circuit breaker, shared by every request of one `ModelClient`."""

    def __init__(self, settings: ModelSettings) -> None:
        timeout = httpx2.Timeout(connect=settings.connect_timeout, read=settings.read_timeout,
                                 write=settings.read_timeout, pool=settings.connect_timeout)
        # Every request names its absolute URL (the endpoint may be found by probing after this point) and its
        # own Authorization header (or none), so the client's base URL and key are placeholders.
        self._sdk = AsyncOpenAI(api_key="unused", base_url=settings.base_url or "http://127.0.0.1/v1",
                                max_retries=0, timeout=timeout, default_headers={"User-Agent": "qwen-context"})
        self.breaker = CircuitBreaker(settings.breaker_threshold, settings.breaker_cooldown)

    async def aclose(self) -> None:
        await self._sdk.close()

    # --- model lists ---------------------------------------------------------------------------------------------

    async def probe(self, port: int) -> list[str] | None:
        """The models a server on a local port lists, or None when nothing OpenAI-like answers in time."""
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT):
                body = await self._sdk.get(f"http://127.0.0.1:{port}/v1/models", cast_to=object,
                                           options={"headers": {"Authorization": Omit()},
                                                    "timeout": _PROBE_TIMEOUT})
            return [entry.id for entry in _ModelList.model_validate(body).data]
        except (TimeoutError, openai.APIError, ValidationError, ValueError):
            return None

    async def models(self, settings: ModelSettings) -> list[str]:
        """The model names the endpoint lists (`GET /models`), within the models deadline."""
        url = f"{settings.base_url}/models"
        self.breaker.check(str(settings.base_url))
        clock = _Clock(settings, "models")
        try:
            async with asyncio.timeout(clock.remaining()):
                body = await self._sdk.get(url, cast_to=object, options={"headers": auth_headers(settings)})
        except TimeoutError as exc:
            raise clock.expired() from exc
        except openai.APIStatusError as exc:
            raise status_error(exc.response, settings, "models", attempts=1) from exc
        except openai.APIError as exc:
            raise self.transport_error(exc, settings, "models") from exc
        except ValueError as exc:  # the body claimed to be JSON and was not
            raise ModelResponseError(f"{url} answered with a body that is not JSON: {_quote(str(exc))}") from exc
        self.breaker.success()
        try:
            return [entry.id for entry in _ModelList.model_validate(body).data]
        except ValidationError as exc:
            kind = "a page, not JSON" if isinstance(body, str) else "JSON without a list of models"
            raise ModelResponseError(f"{url} answered with {kind} ({_shape_problem(exc)}): {_quote(body)}; is "
                                     "QWEN_BASE_URL the OpenAI-compatible root, not a proxy's page?") from exc

    # --- streams -------------------------------------------------------------------------------------------------

    async def stream(self, settings: ModelSettings, url: str, body: dict[str, Any], *, route: Route, kind: str,
                     max_tokens: int) -> AsyncGenerator[Delta, None]:
        """POST `body` and yield its events as `Delta`s, bounded in time and size.

        Retries (429, 5xx) happen before the first event only, never mid-answer. Past the answer's budget the
        stream is closed and a final `Delta(finish_reason="length")` ends it.
        """
        headers = auth_headers(settings)
        clock = _Clock(settings, kind)
        budget = _Budget(max_tokens, min(settings.max_answer_bytes, max_tokens * _BYTES_PER_TOKEN))
        events = await self._open(settings, url, body, headers, clock, route)
        # The stream's one event generator (an async generator, typed loosely by the SDK), closed below.
        payloads = cast(AsyncGenerator[object, None], events.__stream__())
        try:
            finished = False
            first = True
            while True:
                try:
                    async with asyncio.timeout(clock.remaining(first_token=first)):
                        payload = await anext(payloads, None)
                except TimeoutError as exc:
                    raise clock.expired(first_token=first) from exc
                if payload is None:
                    break
                try:
                    delta = _delta(route, payload)
                except ValidationError as exc:
                    raise ModelResponseError(f"{url} sent a stream event of the wrong shape "
                                             f"({_shape_problem(exc)}): {_quote(payload)}") from exc
                first = False
                admitted = budget.admit(delta)
                if admitted is not delta:
                    logger.warning("%s: the answer passed its limit (%d events, %d bytes); stopped reading", url,
                                   budget.tokens, budget.bytes)
                    if admitted is not None:
                        yield admitted
                    yield Delta(finish_reason="length")
                    return
                yield delta
                finished = finished or delta.finish_reason is not None
                if finished and route == "infill":
                    # llama.cpp sends no [DONE]: its `stop: true` event is the last. Reading the few bytes left
                    # puts the connection back in the pool instead of closing it.
                    await _drain(payloads)
                    return
            if not finished:
                raise ModelResponseError(f"{url} ended the stream before the answer was complete; try again, and "
                                         "check the server's log if it keeps happening")
        except openai.APIError as exc:
            raise self._mid_stream_error(exc, settings, url) from exc
        except ValueError as exc:  # not SSE, not JSON, not UTF-8
            raise ModelResponseError(f"{url} sent a malformed stream line: "
                                     f"{_quote(getattr(exc, 'doc', None) or str(exc))}") from exc
        finally:
            await payloads.aclose()
            await events.close()

    async def _open(self, settings: ModelSettings, url: str, body: dict[str, Any], headers: dict[str, Any],
                    clock: _Clock, route: Route) -> AsyncStream[object]:
        """The response stream, once the server answered with a success status (retrying 429 and 5xx)."""
        for attempt in range(1, settings.retries + 2):
            self.breaker.check(str(settings.base_url))
            try:
                async with asyncio.timeout(clock.remaining(first_token=True)):
                    events = await self._sdk.post(url, body=body, cast_to=object, stream=True,
                                                  stream_cls=AsyncStream[object], options={"headers": headers})
            except TimeoutError as exc:
                raise clock.expired(first_token=True) from exc
            except openai.APIStatusError as exc:
                error = status_error(exc.response, settings, route, attempt)
                delay = retry_delay(exc.response, settings, attempt)
                if delay is None or delay >= clock.remaining():
                    raise error from exc
                logger.info("%s answered HTTP %s; retrying in %.2fs", url, exc.status_code, delay)
                await asyncio.sleep(delay)
                continue
            except openai.APIError as exc:
                raise self.transport_error(exc, settings, route) from exc
            self.breaker.success()
            content_type = events.response.headers.get("content-type", "")
            kind = "an HTML page" if "html" in content_type else "one JSON body" if "json" in content_type else ""
            if kind:
                sample = await _sample(events)
                await events.close()
                raise ModelResponseError(f"{url} answered with {kind}, not an event stream (a proxy's error page, "
                                         f"or a server that does not stream?): {_quote(sample)}")
            return events
        raise AssertionError("unreachable: the last attempt returns or raises")

    # --- errors --------------------------------------------------------------------------------------------------

    def _mid_stream_error(self, exc: openai.APIError, settings: ModelSettings, url: str) -> ModelError:
        if isinstance(exc, openai.APIConnectionError):
            return self.transport_error(exc, settings, "stream")
        return ModelResponseError(f"{url} failed mid-answer: {exc.message}")

    def transport_error(self, exc: openai.APIError, settings: ModelSettings, route: str) -> ModelError:
        """A failure below HTTP (connect, silence, a cut stream) as one actionable error."""
        base = settings.base_url
        cause = exc.__cause__
        if isinstance(cause, httpx2.ConnectTimeout):
            self.breaker.failure()
            return ModelTimeout(f"connecting to {base} took longer than {settings.connect_timeout:g}s: check "
                                "QWEN_BASE_URL and the network, or raise QWEN_CONNECT_TIMEOUT")
        if isinstance(cause, httpx2.ConnectError):
            self.breaker.failure()
            return ModelUnavailable(f"cannot connect to {base} ({cause or type(cause).__name__}): is the server "
                                    f"running? Check QWEN_BASE_URL{doctor_hint(' or run `qwen-context doctor`')}")
        if isinstance(cause, httpx2.ReadTimeout):
            if route == "models":
                return ModelTimeout(f"{base}/models sent no answer within {settings.read_timeout:g}s; raise "
                                    "QWEN_READ_TIMEOUT if the server is just slow")
            return ModelTimeout(f"{base} went silent for more than {settings.read_timeout:g}s mid-answer; "
                                "raise QWEN_READ_TIMEOUT if the server is just slow")
        if isinstance(exc, openai.APITimeoutError):
            return ModelTimeout(f"talking to {base} timed out ({type(cause).__name__})")
        if isinstance(cause, (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.DecodingError)):
            return ModelResponseError(f"{base} cut the answer off mid-stream ({cause}); try again, and check the "
                                      "server's log if it keeps happening")
        return ModelUnavailable(f"talking to {base} failed: {cause or exc}")


async def _drain(payloads: AsyncGenerator[object, None]) -> None:
    """Read what follows the last event for a moment, ignoring it (a server that keeps sending is cut off)."""
    try:
        async with asyncio.timeout(_DRAIN_TIMEOUT):
            async for _ in payloads:
                pass
    except (TimeoutError, openai.APIError, ValueError):
        pass


async def _sample(events: AsyncStream[object]) -> str:
    """The start of a body that is not an event stream, to quote in the error."""
    data = b""
    async for chunk in events.response.aiter_bytes():
        data += chunk
        if len(data) >= _QUOTE:
            break
    return " ".join(data.decode("utf-8", "replace").split())


def auth_headers(settings: ModelSettings) -> dict[str, Any]:
    """The Authorization header of a request, explicitly absent when there is no key."""
    if settings.api_key is None:
        if settings.needs_key:
            raise ModelAuthError(f"{settings.base_url} needs an API key: set QWEN_API_KEY "
                                 "(DASHSCOPE_API_KEY and OPENAI_API_KEY are read too)")
        return {"Authorization": Omit()}
    return {"Authorization": f"Bearer {settings.api_key.get_secret_value()}"}


# --- resilience ----------------------------------------------------------------------------------------------------


class CircuitBreaker:
    """After `threshold` consecutive connection failures, fail fast for `cooldown` seconds."""

    def __init__(self, threshold: int, cooldown: float) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.open_until = 0.0

    def check(self, base_url: str) -> None:
        remaining = self.open_until - time.monotonic()
        if remaining > 0:
            raise ModelUnavailable(f"{base_url} failed {self.failures} times in a row; not trying again for "
                                   f"{remaining:.1f}s. Is the server running?{doctor_hint()}")

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.open_until = time.monotonic() + self.cooldown

    def success(self) -> None:
        self.failures = 0
        self.open_until = 0.0


def retry_delay(response: httpx2.Response, settings: ModelSettings, attempt: int) -> float | None:
    """Seconds to wait before retrying, or None when the error is final."""
    if response.status_code not in _RETRYABLE or attempt > settings.retries:
        return None
    asked = retry_after(response)
    if asked is not None:
        return asked if asked <= settings.max_retry_after else None
    return random.uniform(0, min(_BACKOFF_CAP, settings.retry_backoff * 2 ** (attempt - 1)))


def retry_after(response: httpx2.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def human_seconds(seconds: float) -> str:
    """A wait a person can read: `0.4s`, `600s`, `2 h`, `26,618 days`."""
    if seconds < 10:
        return f"{seconds:.1f}s".replace(".0s", "s")
    if seconds < 3600:
        return f"{seconds:.0f}s"
    if seconds < 172_800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86_400:,.0f} days"


def _server_message(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:300]
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        return str(error.get("message") or error.get("detail") or error)[:300]
    return str(error)[:300]


_MODEL_WORD = re.compile(r"model", re.IGNORECASE)
_MISSING = re.compile(r"not (?:exist|found|a valid)|does not exist|unknown|invalid|no such", re.IGNORECASE)
_UNSUPPORTED = re.compile(r"not support|unsupported|only support", re.IGNORECASE)


def status_error(response: httpx2.Response, settings: ModelSettings, route: str, attempts: int) -> ModelError:
    """An HTTP error status as one actionable error (what happened, which setting to change)."""
    status = response.status_code
    message = _server_message(response)
    base = settings.base_url
    model = settings.model if route == "chat" else settings.completion_model
    if status in (401, 403):
        hint = "the key was refused" if settings.api_key else "it needs an API key"
        return ModelAuthError(f"{base} answered HTTP {status} ({hint}: {message}): set QWEN_API_KEY "
                              "(or DASHSCOPE_API_KEY / OPENAI_API_KEY) to a valid key")
    if status in (400, 404) and _MODEL_WORD.search(message) and _MISSING.search(message) and route in (
            "chat", "completions"):
        return ModelNotFound(f"{base} does not serve the model {model!r} ({message}): set "
                             f"{'QWEN_MODEL' if route == 'chat' else 'QWEN_FIM_MODEL'} to a model it lists"
                             f"{doctor_hint(' (`qwen-context doctor` shows them)')}")
    if route == "completions" and (status in (404, 405, 501) or (status == 400 and _UNSUPPORTED.search(message))):
        return FimUnsupported(f"{base} has no raw completions for {model!r} (HTTP {status}: {message}): set "
                              "QWEN_FIM_MODE=chat")
    if route == "infill" and status in (404, 405, 501):
        return FimUnsupported(f"{base} has no /infill route (HTTP {status}); it is llama.cpp's: set "
                              "QWEN_FIM_MODE=completions or QWEN_FIM_MODE=chat")
    if status == 404:
        return ModelUnavailable(f"{response.request.url} was not found (HTTP 404): QWEN_BASE_URL must be the "
                                "OpenAI-compatible root, which usually ends in /v1")
    times = "" if attempts == 1 else f" {attempts} times in a row"
    if status == 429:
        asked = retry_after(response)
        wait = f"; it asks to wait {human_seconds(asked)}" if asked is not None else ""
        after = "" if attempts == 1 else f" after {attempts} attempts"
        return ModelRateLimited(f"{base} is rate limiting us (HTTP 429{after}{wait}): wait a moment, or use a "
                                "plan with a higher limit")
    if status >= 500:
        return ModelResponseError(f"{base} answered HTTP {status}{times} ({message}): the server is failing; "
                                  "check its log")
    return ModelResponseError(f"{base} refused the request (HTTP {status}): {message}")


__all__ = ["CircuitBreaker", "Delta", "Route", "ToolCallPiece", "Wire", "auth_headers", "diagnosing",
           "doctor_hint", "human_seconds", "retry_after", "status_error"]
