"""The engine's one door to the model: fill-in-the-middle, chat with tools, questions — over any
OpenAI-compatible endpoint serving Qwen3-Coder. The only module that speaks HTTP (httpx).

FIM goes one of three ways (`QWEN_FIM_MODE`): `completions` sends the repository-level prompt raw to
`/v1/completions` with Qwen's stop tokens; `infill` sends prefix, suffix and the context files to llama.cpp's
`/infill`; `chat` puts the prompt in a user turn under a system prompt asking for the missing code only (for
endpoints without raw completions, such as DashScope and Ollama). Everything streams; cancelling the task that
reads a stream closes its HTTP connection at once, so the server stops generating. 429 and 5xx are retried with
jittered backoff (honouring Retry-After), a dead endpoint trips a short circuit breaker instead of being hit on
every keystroke, and every failure becomes one `ModelError` whose message says what to do.

httpx rather than the openai SDK: one connection pool for the OpenAI routes and llama.cpp's `/infill`, exact
control over closing a stream on cancellation, and a few hundred microseconds per request instead of milliseconds.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import re
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, Self

import httpx

from context.errors import (
    FimUnsupported,
    ModelAuthError,
    ModelError,
    ModelNotConfigured,
    ModelNotFound,
    ModelRateLimited,
    ModelResponseError,
    ModelTimeout,
    ModelUnavailable,
)
from context.index.languages import language_for
from context.model.cleanup import CompletionStream
from context.model.settings import LOCAL_PORTS, ModelSettings, load_settings

logger = logging.getLogger(__name__)

#: Qwen3-Coder's FIM stop tokens as text (ids 151659, 151661-151664, 151643, 151645 of the reference).
FIM_STOP = ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
            "<|endoftext|>", "<|im_end|>")

FIM_SYSTEM_PROMPT = (
    "You are a code completion engine. The user message is a fill-in-the-middle prompt: files of the repository, "
    "each after <|file_sep|> and its path, then the current file as <|fim_prefix|>the code before the cursor"
    "<|fim_suffix|>the code after the cursor<|fim_middle|>. Reply with only the code that belongs at the cursor, "
    "exactly as it should be inserted: no explanation, no Markdown fences, and do not repeat the code before or "
    "after the cursor.")

ASK_SYSTEM_PROMPT = (
    "You are Qwen3-Coder, answering a developer's question about their repository. The user message holds the "
    "relevant parts of the repository (a map of its definitions and excerpts of files), then the question. Answer "
    "from that context, cite files as path:line, and say so when the context does not hold the answer.")

NOT_CONFIGURED = (
    "no model endpoint is configured and none answered on 127.0.0.1 ports "
    + ", ".join(str(port) for port, _ in LOCAL_PORTS)
    + ": set QWEN_PRESET (vllm, sglang, llamacpp, ollama, lmstudio, dashscope, dashscope-cn, openrouter) or "
    "QWEN_BASE_URL, or try `qwen-context fake-server`. Context features work without a model.")

_PROBE_TIMEOUT = 0.5  # seconds per local port while autodetecting
_RETRYABLE = frozenset({429, 500, 502, 503, 504})
_BACKOFF_CAP = 8.0
_XML_CALL_RE = re.compile(r"(?:<tool_call>\s*)?<function=([^>\n]+)>(.*?)</function>\s*(?:</tool_call>)?", re.DOTALL)
_XML_PARAM_RE = re.compile(r"<parameter=([^>\n]+)>\n?(.*?)\n?</parameter>", re.DOTALL)


class PromptLike(Protocol):
    """What the client reads from `context.prompt.build.Prompt`: the assembled FIM or chat prompt text."""

    @property
    def text(self) -> str: ...


# --- prompt parts ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FimParts:
    """A repository-level FIM prompt taken apart (what `/infill` and the clean-up need)."""

    text: str  # the whole prompt, sent raw on the completions route
    prefix: str
    suffix: str
    path: str | None
    files: tuple[tuple[str, str], ...]  # (path, content) of the context files, in prompt order


def fim_parts(prompt: PromptLike | str) -> FimParts:
    """Split `<|repo_name|>..<|file_sep|>path\\ncontent..<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>`.

    A string without FIM markers is all prefix (plain completion).
    """
    text = prompt if isinstance(prompt, str) else prompt.text
    head, marker, tail = text.rpartition("<|fim_prefix|>")
    if not marker:
        return FimParts(text, text, "", getattr(prompt, "path", None), ())
    prefix, _, suffix = tail.partition("<|fim_suffix|>")
    suffix = suffix.removesuffix("<|fim_middle|>")
    files: list[tuple[str, str]] = []
    for block in head.split("<|file_sep|>")[1:]:
        path, _, content = block.partition("\n")
        files.append((path.strip(), content.removesuffix("\n")))
    current = files.pop()[0] if files and not files[-1][1] else None
    return FimParts(text, prefix, suffix, getattr(prompt, "path", None) or current, tuple(files))


# --- chat results ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolCall:
    """One call the model asks for, with arguments decoded from JSON (or from Qwen's XML)."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ChatReply:
    """One assistant turn: its text (without any XML tool calls) and the tools it wants called."""

    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None


def parse_xml_tool_calls(content: str, tools: Sequence[Mapping[str, Any]] = ()) -> tuple[str, list[ToolCall]]:
    """Qwen3-Coder's XML tool calls left in message text -> (text without them, calls).

    Parameter values are text in the XML; they are decoded by the JSON-schema type the tool declares (as vLLM's
    qwen3_coder parser does), and kept as strings where no type says otherwise.
    """
    schemas = {tool["function"]["name"]: tool["function"].get("parameters", {}) for tool in tools
               if "function" in tool}
    calls = []
    for number, match in enumerate(_XML_CALL_RE.finditer(content)):
        name = match.group(1).strip()
        properties = schemas.get(name, {}).get("properties", {})
        arguments = {key.strip(): _typed(value, properties.get(key.strip(), {}))
                     for key, value in _XML_PARAM_RE.findall(match.group(2))}
        calls.append(ToolCall(f"call_xml_{number}", name, arguments))
    if not calls:
        return content, []
    remaining = _XML_CALL_RE.sub("", content).replace("<tool_call>", "").replace("</tool_call>", "")
    return remaining.strip(), calls


def _typed(value: str, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if kind in (None, "string") or (isinstance(kind, list) and "string" in kind):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


# --- resilience ----------------------------------------------------------------------------------------------


class _CircuitBreaker:
    """After `threshold` consecutive connection failures, fail fast for `cooldown` seconds."""

    def __init__(self, threshold: int, cooldown: float) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.open_until = 0.0

    def check(self, base_url: str) -> None:
        remaining = self.open_until - time.monotonic()
        if remaining > 0:
            raise ModelUnavailable(
                f"{base_url} failed {self.failures} times in a row; not trying again for {remaining:.1f}s. "
                "Is the server running? `qwen-context doctor` checks the endpoint.")

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.open_until = time.monotonic() + self.cooldown

    def success(self) -> None:
        self.failures = 0
        self.open_until = 0.0


def _retry_after(response: httpx.Response) -> float | None:
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


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300]
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        return str(error.get("message") or error.get("detail") or error)[:300]
    return str(error)[:300]


# --- the client --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One line of `qwen-context doctor`: what was checked, whether it passed, and what was seen or to fix."""

    name: str
    ok: bool
    detail: str


class ModelClient:
    """Async client for one endpoint. Create once per process and share; `await aclose()` at the end.

    Iterate streams inside the task that may be cancelled; a consumer that stops early should wrap the
    iterator in `contextlib.aclosing` so the connection closes immediately rather than at garbage collection.
    """

    def __init__(self, settings: ModelSettings | None = None) -> None:
        self.settings = settings if settings is not None else load_settings()
        self._endpoint: ModelSettings | None = None
        self._resolving = asyncio.Lock()
        self._no_local_server_until = 0.0  # autodetection found nothing: do not probe on every keystroke
        timeout = httpx.Timeout(connect=self.settings.connect_timeout, read=self.settings.read_timeout,
                                write=self.settings.read_timeout, pool=self.settings.connect_timeout)
        self._http = httpx.AsyncClient(timeout=timeout, headers={"User-Agent": "qwen-context"})
        self._breaker = _CircuitBreaker(self.settings.breaker_threshold, self.settings.breaker_cooldown)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    # --- endpoint resolution ------------------------------------------------------------------------------------

    async def endpoint(self) -> ModelSettings:
        """The settings in use: the configured ones, or a detected local server, with model names filled in."""
        if self._endpoint is not None:
            return self._endpoint
        async with self._resolving:
            if self._endpoint is None:
                settings = await self._located()
                if settings.model is None:
                    settings = _with_model(settings, await self._list_models(settings))
                self._endpoint = settings
        return self._endpoint

    async def _located(self) -> ModelSettings:
        """The configured endpoint, or the first local server that answers."""
        return self.settings if self.settings.configured else await self._detect()

    async def _detect(self) -> ModelSettings:
        if self.settings.no_autodetect or time.monotonic() < self._no_local_server_until:
            raise ModelNotConfigured(NOT_CONFIGURED)
        probes = [self._probe(port) for port, _ in LOCAL_PORTS]
        for (port, preset), models in zip(LOCAL_PORTS, await asyncio.gather(*probes), strict=True):
            if models is not None:
                base_url = f"http://127.0.0.1:{port}/v1"
                logger.warning("no model endpoint configured; using the %s-like server at %s (serving %s)",
                               preset, base_url, ", ".join(models) or "no models")
                update: dict[str, Any] = {"base_url": base_url, "preset": preset}
                picked = _pick_model(models, self.settings)
                update["model"] = self.settings.model or picked
                update["fim_model"] = self.settings.fim_model or picked
                # Ollama's renderer drops the suffix; llama.cpp is best served by /infill.
                update["fim_mode"] = {"ollama": "chat", "llamacpp": "infill"}.get(preset, self.settings.fim_mode)
                return self.settings.model_copy(update=update)
        self._no_local_server_until = time.monotonic() + self.settings.breaker_cooldown
        raise ModelNotConfigured(NOT_CONFIGURED)

    async def _probe(self, port: int) -> list[str] | None:
        try:
            response = await self._http.get(f"http://127.0.0.1:{port}/v1/models", timeout=_PROBE_TIMEOUT)
            data = response.json().get("data") if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        if not isinstance(data, list):
            return None
        return [str(item.get("id")) for item in data if isinstance(item, dict)]

    async def _list_models(self, settings: ModelSettings) -> list[str]:
        response = await self._request("GET", f"{settings.base_url}/models", settings, route="models")
        data = response.json().get("data", [])
        return [str(item.get("id")) for item in data if isinstance(item, dict)]

    # --- fill-in-the-middle -------------------------------------------------------------------------------------

    async def complete(self, prompt: PromptLike | str, *, max_tokens: int | None = None,
                       stop: Sequence[str] = (), temperature: float | None = None) -> AsyncGenerator[str, None]:
        """Raw completion deltas for a FIM prompt, on the configured route (no clean-up).

        ``temperature`` overrides the configured one for this request (several suggestions for one cursor ask
        with different temperatures so that they differ).
        """
        settings = await self.endpoint()
        temperature = settings.temperature if temperature is None else temperature
        url, body = _fim_request(settings, fim_parts(prompt), max_tokens or settings.max_tokens, stop, temperature)
        async with aclosing(self._stream(settings, url, body, route=settings.fim_mode)) as events:
            async for event in events:
                if text := _event_text(settings.fim_mode, event):
                    yield text

    async def fim(self, prompt: PromptLike | str, *, max_tokens: int | None = None,
                  temperature: float | None = None) -> AsyncGenerator[str, None]:
        """Cleaned completion deltas; the request is closed as soon as the clean-up has cut the completion."""
        settings = await self.endpoint()
        parts = fim_parts(prompt)
        language = language_for(parts.path) if parts.path else None
        cleaner = CompletionStream(parts.prefix, parts.suffix, language, settings.max_lines,
                                   chat=settings.fim_mode == "chat")
        async with aclosing(self.complete(prompt, max_tokens=max_tokens, temperature=temperature)) as deltas:
            async for delta in deltas:
                if text := cleaner.feed(delta):
                    yield text
                if cleaner.done:
                    break
        if rest := cleaner.finish():
            yield rest

    async def fim_text(self, prompt: PromptLike | str, *, max_tokens: int | None = None,
                       temperature: float | None = None) -> str:
        """The cleaned completion to insert at the cursor (``temperature``: this request's, see `complete`)."""
        async with aclosing(self.fim(prompt, max_tokens=max_tokens, temperature=temperature)) as pieces:
            return "".join([piece async for piece in pieces])

    # --- chat ----------------------------------------------------------------------------------------------------

    async def chat(self, messages: Sequence[Mapping[str, Any]], *, tools: Sequence[Mapping[str, Any]] = (),
                   max_tokens: int | None = None, temperature: float | None = None) -> ChatReply:
        """One assistant turn (streamed underneath), with tool calls from `tool_calls` or from Qwen's XML."""
        settings = await self.endpoint()
        body = self._chat_body(settings, messages, max_tokens, temperature)
        if tools:
            body["tools"] = list(tools)
        content: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        finish: str | None = None
        async with aclosing(self._chat_deltas(settings, body)) as deltas:
            async for delta in deltas:
                content.append(delta.get("content") or "")
                for call in delta.get("tool_calls") or []:
                    slot = calls.setdefault(int(call.get("index", len(calls))), {"id": "", "name": "", "args": ""})
                    slot["id"] = call.get("id") or slot["id"]
                    function = call.get("function") or {}
                    slot["name"] += function.get("name") or ""
                    slot["args"] += function.get("arguments") or ""
                finish = delta.get("finish_reason") or finish
        text = "".join(content)
        tool_calls = [ToolCall(slot["id"] or f"call_{index}", slot["name"], _arguments(slot["name"], slot["args"]))
                      for index, slot in sorted(calls.items())]
        if not tool_calls and "<function=" in text:
            text, tool_calls = parse_xml_tool_calls(text, tools)
            finish = "tool_calls" if tool_calls else finish
        return ChatReply(text, tool_calls, finish)

    async def chat_stream(self, messages: Sequence[Mapping[str, Any]], *, max_tokens: int | None = None,
                          temperature: float | None = None) -> AsyncGenerator[str, None]:
        """The assistant's text as it arrives (no tools)."""
        settings = await self.endpoint()
        body = self._chat_body(settings, messages, max_tokens, temperature)
        async with aclosing(self._chat_deltas(settings, body)) as deltas:
            async for delta in deltas:
                if delta.get("content"):
                    yield delta["content"]

    async def ask_stream(self, question: str, context: PromptLike | str) -> AsyncGenerator[str, None]:
        """The answer to a question about the repository, streamed; `context` from `Engine.chat_context`."""
        text = context if isinstance(context, str) else context.text
        messages = [{"role": "system", "content": ASK_SYSTEM_PROMPT},
                    {"role": "user", "content": f"{text}\n\n## Question\n\n{question}"}]
        async with aclosing(self.chat_stream(messages)) as pieces:
            async for piece in pieces:
                yield piece

    async def ask(self, question: str, context: PromptLike | str) -> str:
        """The whole answer to a question about the repository."""
        async with aclosing(self.ask_stream(question, context)) as pieces:
            return "".join([piece async for piece in pieces])

    def _chat_body(self, settings: ModelSettings, messages: Sequence[Mapping[str, Any]], max_tokens: int | None,
                   temperature: float | None) -> dict[str, Any]:
        return {"model": settings.model, "messages": [dict(message) for message in messages],
                "max_tokens": max_tokens or settings.chat_max_tokens,
                "temperature": settings.chat_temperature if temperature is None else temperature,
                "top_p": 0.8, "stream": True}

    async def _chat_deltas(self, settings: ModelSettings, body: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """Each chunk's `delta`, with the chunk's finish_reason folded in."""
        async with aclosing(self._stream(settings, f"{settings.base_url}/chat/completions", body,
                                         route="chat")) as events:
            async for event in events:
                for choice in event.get("choices") or []:
                    delta = dict(choice.get("delta") or {})
                    if choice.get("finish_reason"):
                        delta["finish_reason"] = choice["finish_reason"]
                    yield delta

    # --- doctor --------------------------------------------------------------------------------------------------

    async def diagnose(self) -> list[Check]:
        """Check the endpoint step by step; stops at the first failure that makes later checks meaningless."""
        checks: list[Check] = []
        try:
            settings = await self._located()
        except ModelError as exc:
            return [Check("endpoint", False, str(exc))]
        source = f"preset {settings.preset}" if settings.preset else "QWEN_BASE_URL"
        checks.append(Check("endpoint", True, f"{settings.base_url} ({source}; FIM route {settings.fim_mode})"))
        try:
            self._headers(settings)
        except ModelAuthError as exc:
            return [*checks, Check("api key", False, str(exc))]
        started = time.perf_counter()
        try:
            served = await self._list_models(settings)
        except ModelAuthError as exc:
            return [*checks, Check("reachable", True, str(settings.base_url)), Check("api key", False, str(exc))]
        except ModelError as exc:
            return [*checks, Check("reachable", False, str(exc))]
        checks.append(Check("reachable", True, f"{settings.base_url}/models answered in "
                                               f"{(time.perf_counter() - started) * 1000:.0f} ms"))
        checks.append(Check("api key", True, "accepted" if settings.api_key else "none needed"))
        if settings.model is None:
            settings = _with_model(settings, served)
        self._endpoint = settings
        for role, name in (("chat model", settings.model), ("completion model", settings.completion_model)):
            present = name in served or settings.fim_mode == "infill" or not served
            detail = f"{name!r} is served" if present else (
                f"{name!r} is not served; it serves {', '.join(served)}: set "
                f"{'QWEN_MODEL' if role == 'chat model' else 'QWEN_FIM_MODEL'} to one of them")
            checks.append(Check(role, present, detail))
        route = {"completions": "raw completions", "infill": "llama.cpp /infill", "chat": "FIM over chat"}
        checks.append(await self._timed(f"fill-in-the-middle ({route[settings.fim_mode]})",
                                        self.complete("<|fim_prefix|>def add(a, b):\n    return <|fim_suffix|>\n"
                                                      "<|fim_middle|>", max_tokens=8)))
        checks.append(await self._timed("chat", self.chat_stream(
            [{"role": "user", "content": "Reply with the word OK."}], max_tokens=4)))
        return checks

    async def _timed(self, name: str, stream: AsyncGenerator[str, None]) -> Check:
        started = time.perf_counter()
        try:
            async with aclosing(stream):
                async for _ in stream:
                    return Check(name, True, f"first token after {(time.perf_counter() - started) * 1000:.0f} ms")
            return Check(name, True, f"answered (empty) in {(time.perf_counter() - started) * 1000:.0f} ms")
        except ModelError as exc:
            return Check(name, False, str(exc))

    # --- HTTP ----------------------------------------------------------------------------------------------------

    def _headers(self, settings: ModelSettings) -> dict[str, str]:
        if settings.api_key is None:
            if settings.needs_key:
                raise ModelAuthError(f"{settings.base_url} needs an API key: set QWEN_API_KEY "
                                     "(DASHSCOPE_API_KEY and OPENAI_API_KEY are read too)")
            return {}
        return {"Authorization": f"Bearer {settings.api_key.get_secret_value()}"}

    async def _request(self, method: str, url: str, settings: ModelSettings, *, route: str) -> httpx.Response:
        """A small non-streamed request (model list), with the same error mapping and breaker."""
        self._breaker.check(str(settings.base_url))
        try:
            response = await self._http.request(method, url, headers=self._headers(settings))
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, settings) from exc
        if response.status_code >= 400:
            raise self._status_error(response, settings, route, attempts=1)
        self._breaker.success()
        return response

    async def _stream(self, settings: ModelSettings, url: str, body: dict[str, Any], *,
                      route: str) -> AsyncGenerator[dict[str, Any], None]:
        """POST and yield the SSE events; retries before the first event only, never mid-answer."""
        headers = self._headers(settings)
        for attempt in range(1, settings.retries + 2):
            self._breaker.check(str(settings.base_url))
            started = time.monotonic()
            try:
                async with asyncio.timeout(settings.first_token_timeout):
                    response = await self._http.send(
                        self._http.build_request("POST", url, json=body, headers=headers), stream=True)
            except TimeoutError as exc:
                raise self._first_token_timeout(settings) from exc
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, settings) from exc
            try:
                if response.status_code >= 400:
                    await response.aread()
                    error = self._status_error(response, settings, route, attempt)
                    delay = self._retry_delay(response, settings, attempt)
                    if delay is None:
                        raise error
                    logger.info("%s answered HTTP %s; retrying in %.2fs", url, response.status_code, delay)
                else:
                    self._breaker.success()
                    async with aclosing(_sse_events(response, route)) as events:
                        remaining = settings.first_token_timeout - (time.monotonic() - started)
                        try:
                            async with asyncio.timeout(remaining):
                                first = await anext(events, None)
                        except TimeoutError as exc:
                            raise self._first_token_timeout(settings) from exc
                        if first is not None:
                            yield first
                            async for event in events:
                                yield event
                    return
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, settings) from exc
            finally:
                await response.aclose()
            await asyncio.sleep(delay)

    def _retry_delay(self, response: httpx.Response, settings: ModelSettings, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when the error is final."""
        if response.status_code not in _RETRYABLE or attempt > settings.retries:
            return None
        asked = _retry_after(response)
        if asked is not None:
            return asked if asked <= settings.max_retry_after else None
        return random.uniform(0, min(_BACKOFF_CAP, settings.retry_backoff * 2 ** (attempt - 1)))

    def _first_token_timeout(self, settings: ModelSettings) -> ModelTimeout:
        return ModelTimeout(
            f"{settings.base_url} sent nothing within {settings.first_token_timeout:g}s: the server may be "
            "overloaded or still loading the model; raise QWEN_FIRST_TOKEN_TIMEOUT if it is just slow")

    def _transport_error(self, exc: httpx.HTTPError, settings: ModelSettings) -> ModelError:
        base = settings.base_url
        if isinstance(exc, httpx.ConnectTimeout):
            self._breaker.failure()
            return ModelTimeout(f"connecting to {base} took longer than {settings.connect_timeout:g}s: check "
                                "QWEN_BASE_URL and the network, or raise QWEN_CONNECT_TIMEOUT")
        if isinstance(exc, httpx.ConnectError):
            self._breaker.failure()
            return ModelUnavailable(f"cannot connect to {base} ({exc or type(exc).__name__}): is the server "
                                    "running? Check QWEN_BASE_URL or run `qwen-context doctor`")
        if isinstance(exc, httpx.ReadTimeout):
            return ModelTimeout(f"{base} went silent for more than {settings.read_timeout:g}s mid-answer; "
                                "raise QWEN_READ_TIMEOUT if the server is just slow")
        if isinstance(exc, httpx.TimeoutException):
            return ModelTimeout(f"talking to {base} timed out ({type(exc).__name__})")
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
            return ModelResponseError(f"{base} cut the answer off mid-stream ({exc}); try again, and check the "
                                      "server's log if it keeps happening")
        return ModelUnavailable(f"talking to {base} failed: {exc}")

    def _status_error(self, response: httpx.Response, settings: ModelSettings, route: str,
                      attempts: int) -> ModelError:
        status = response.status_code
        message = _server_message(response)
        base = settings.base_url
        model = settings.model if route == "chat" else settings.completion_model
        if status in (401, 403):
            hint = "the key was refused" if settings.api_key else "it needs an API key"
            return ModelAuthError(f"{base} answered HTTP {status} ({hint}: {message}): set QWEN_API_KEY "
                                  "(or DASHSCOPE_API_KEY / OPENAI_API_KEY) to a valid key")
        mentions_model = re.search(r"model", message, re.IGNORECASE) and re.search(
            r"not (?:exist|found|a valid)|does not exist|unknown|invalid|no such", message, re.IGNORECASE)
        if status in (400, 404) and mentions_model and route != "infill":
            return ModelNotFound(f"{base} does not serve the model {model!r} ({message}): set "
                                 f"{'QWEN_MODEL' if route == 'chat' else 'QWEN_FIM_MODEL'} to a model it lists "
                                 "(`qwen-context doctor` shows them)")
        if route == "completions" and (status in (404, 405, 501) or (
                status == 400 and re.search(r"not support|unsupported|only support", message, re.IGNORECASE))):
            return FimUnsupported(f"{base} has no raw completions for {model!r} (HTTP {status}: {message}): set "
                                  "QWEN_FIM_MODE=chat")
        if route == "infill" and status in (404, 405, 501):
            return FimUnsupported(f"{base} has no /infill route (HTTP {status}); it is llama.cpp's: set "
                                  "QWEN_FIM_MODE=completions or QWEN_FIM_MODE=chat")
        if status == 404:
            return ModelUnavailable(f"{response.request.url} was not found (HTTP 404): QWEN_BASE_URL must be the "
                                    "OpenAI-compatible root, which usually ends in /v1")
        if status == 429:
            asked = _retry_after(response)
            wait = f"; it asks to wait {asked:g}s" if asked is not None else ""
            return ModelRateLimited(f"{base} is rate limiting us (HTTP 429 after {attempts} attempts{wait}): "
                                    "wait a moment, or use a plan with a higher limit")
        if status >= 500:
            return ModelResponseError(f"{base} answered HTTP {status} {attempts} times in a row ({message}): the "
                                      "server is failing; check its log")
        return ModelResponseError(f"{base} refused the request (HTTP {status}): {message}")


def _fim_request(settings: ModelSettings, parts: FimParts, limit: int, stop: Sequence[str],
                 temperature: float) -> tuple[str, dict[str, Any]]:
    """The URL and JSON body of a FIM request on the configured route."""
    extra_stop = {"stop": list(stop)} if stop else {}
    if settings.fim_mode == "infill":
        root = str(settings.base_url).removesuffix("/v1")
        return f"{root}/infill", {
            "input_prefix": parts.prefix, "input_suffix": parts.suffix,
            "input_extra": [{"filename": path, "text": text} for path, text in parts.files],
            "n_predict": limit, "temperature": temperature, "stream": True, "cache_prompt": True,
            **extra_stop}
    if settings.fim_mode == "chat":
        return f"{settings.base_url}/chat/completions", {
            "model": settings.completion_model, "messages": [{"role": "system", "content": FIM_SYSTEM_PROMPT},
                                                             {"role": "user", "content": parts.text}],
            "max_tokens": limit, "temperature": temperature, "stream": True, **extra_stop}
    return f"{settings.base_url}/completions", {
        "model": settings.completion_model, "prompt": parts.text, "max_tokens": limit,
        "temperature": temperature, "stop": [*FIM_STOP, *stop], "stream": True}


def _event_text(route: str, event: Mapping[str, Any]) -> str:
    """The generated text carried by one stream event of a route."""
    if route == "infill":
        return str(event.get("content") or "")
    choice = (event.get("choices") or [{}])[0]
    if route == "chat":
        return str((choice.get("delta") or {}).get("content") or "")
    return str(choice.get("text") or "")


def _with_model(settings: ModelSettings, served: Sequence[str]) -> ModelSettings:
    return settings.model_copy(update={"model": _pick_model(served, settings)})


def _pick_model(served: Sequence[str], settings: ModelSettings) -> str | None:
    """The configured model, else the first Qwen3-Coder the server lists, else its first model."""
    if settings.model:
        return settings.model
    for pattern in ("qwen3-coder", "qwen3_coder", "coder"):
        match = next((name for name in served if pattern in name.lower()), None)
        if match:
            return match
    return served[0] if served else None


def _arguments(name: str, raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        raise ModelResponseError(f"the model called {name!r} with arguments that are not JSON: {raw[:200]!r}") from exc
    if not isinstance(value, dict):
        raise ModelResponseError(f"the model called {name!r} with arguments that are not an object: {raw[:200]!r}")
    return value


async def _sse_events(response: httpx.Response, route: str) -> AsyncGenerator[dict[str, Any], None]:
    """The JSON payloads of a Server-Sent Events stream; errors if it is malformed or ends early.

    After the last event the body is still read to its end (a few bytes), so the connection goes back to the
    pool instead of being closed.
    """
    finished = False
    async for line in response.aiter_lines():
        if not line.startswith("data:") or finished and route == "infill":
            continue  # blank separators, comments (":"), event names, the end of the body
        payload = line[5:].strip()
        if payload == "[DONE]":
            finished = True
            continue
        try:
            event = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise ModelResponseError(f"{response.request.url} sent a malformed stream line: {payload[:120]!r}") from exc
        if not isinstance(event, dict):
            raise ModelResponseError(f"{response.request.url} sent a malformed stream event: {payload[:120]!r}")
        if "error" in event:
            raise ModelResponseError(f"{response.request.url} failed mid-answer: {event['error']}")
        yield event
        choices = event.get("choices") or [{}]
        finished = finished or bool(choices[0].get("finish_reason")) or bool(event.get("stop"))
    if not finished:
        raise ModelResponseError(f"{response.request.url} ended the stream before the answer was complete; try "
                                 "again, and check the server's log if it keeps happening")


__all__ = [
    "FIM_STOP", "ChatReply", "Check", "FimParts", "ModelClient", "PromptLike", "ToolCall",
    "fim_parts", "parse_xml_tool_calls",
]
