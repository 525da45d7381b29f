"""The engine's one door to the model: fill-in-the-middle, chat with tools, questions — over any
OpenAI-compatible endpoint serving Qwen3-Coder. The requests are built here; `context.model.wire` sends them
through the openai SDK, bounded in time and size and checked in shape.

FIM goes one of three ways (`QWEN_FIM_MODE`): `completions` sends the repository-level prompt raw to
`/v1/completions` with Qwen's stop tokens; `infill` sends prefix, suffix and the context files to llama.cpp's
`/infill`; `chat` puts the prompt in a user turn under a system prompt asking for the missing code only (for
endpoints without raw completions, such as DashScope and Ollama). Everything streams; cancelling the task that
reads a stream closes its HTTP connection at once, so the server stops generating. 429 and 5xx are retried with
jittered backoff (honouring Retry-After), a dead endpoint trips a short circuit breaker instead of being hit on
every keystroke, and every failure becomes one `ModelError` whose message says what to do.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, Self

from context.errors import ModelAuthError, ModelError, ModelNotConfigured, ModelResponseError
from context.index.languages import language_for
from context.model.cleanup import CompletionStream
from context.model.settings import LOCAL_PORTS, ModelSettings, load_settings
from context.model.wire import Delta, Route, Wire, auth_headers, diagnosing

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

_CONFIGURE = ("set QWEN_PRESET (vllm, sglang, llamacpp, ollama, lmstudio, dashscope, dashscope-cn, openrouter) or "
              "QWEN_BASE_URL, or try `qwen-context fake-server`. Context features work without a model.")

NOT_CONFIGURED = ("no model endpoint is configured and none answered on 127.0.0.1 ports "
                  f"{', '.join(str(port) for port, _ in LOCAL_PORTS)}: {_CONFIGURE}")

NOT_CONFIGURED_NO_PROBE = ("no model endpoint is configured (and QWEN_NO_AUTODETECT is set, so no local port was "
                           f"probed): {_CONFIGURE}")

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
    """One call the model asks for, with arguments decoded from JSON (or from Qwen's XML). ``error`` says why
    the arguments could not be decoded (they are then empty): the caller answers the call with it, so that the
    model can send them again."""

    id: str
    name: str
    arguments: dict[str, Any]
    error: str = ""


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


class VisibleText:
    """The part of a streamed turn a person should see: its text up to Qwen's XML tool-call markup, which is
    held back (a piece that may be the start of a marker waits for the next one)."""

    MARKERS = ("<tool_call>", "<function=")

    def __init__(self) -> None:
        self._held = ""
        self._hidden = False

    def feed(self, piece: str) -> str:
        """The text that can be shown now."""
        if self._hidden:
            return ""
        text = self._held + piece
        starts = [text.find(marker) for marker in self.MARKERS if marker in text]
        if starts:
            self._hidden, self._held = True, ""
            return text[:min(starts)]
        keep = max((k for marker in self.MARKERS for k in range(1, len(marker)) if text.endswith(marker[:k])),
                   default=0)
        self._held = text[len(text) - keep:]
        return text[:len(text) - keep]

    def finish(self) -> str:
        """What was held back at the end of the turn, when it turned out not to be a marker."""
        rest, self._held = ("" if self._hidden else self._held), ""
        return rest


def _typed(value: str, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if kind in (None, "string") or (isinstance(kind, list) and "string" in kind):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


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
        self._wire = Wire(self.settings)

    async def aclose(self) -> None:
        await self._wire.aclose()

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
                    settings = _with_model(settings, await self._wire.models(settings))
                self._endpoint = settings
        return self._endpoint

    async def _located(self) -> ModelSettings:
        """The configured endpoint, or the first local server that answers."""
        return self.settings if self.settings.configured else await self._detect()

    async def _detect(self) -> ModelSettings:
        if self.settings.no_autodetect:
            raise ModelNotConfigured(NOT_CONFIGURED_NO_PROBE)
        if time.monotonic() < self._no_local_server_until:
            raise ModelNotConfigured(NOT_CONFIGURED)
        probes = [self._wire.probe(port) for port, _ in LOCAL_PORTS]
        for (port, preset), models in zip(LOCAL_PORTS, await asyncio.gather(*probes), strict=True):
            if models is not None:
                base_url = f"http://127.0.0.1:{port}/v1"
                # Not a warning: the command line would print it on every call; `doctor` says it instead.
                logger.info("no model endpoint configured; using the %s-like server at %s (serving %s)",
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

    # --- fill-in-the-middle -------------------------------------------------------------------------------------

    async def complete(self, prompt: PromptLike | str, *, max_tokens: int | None = None,
                       stop: Sequence[str] = (), temperature: float | None = None) -> AsyncGenerator[str, None]:
        """Raw completion deltas for a FIM prompt, on the configured route (no clean-up).

        ``temperature`` overrides the configured one for this request (several suggestions for one cursor ask
        with different temperatures so that they differ).
        """
        settings = await self.endpoint()
        temperature = settings.temperature if temperature is None else temperature
        limit = max_tokens or settings.max_tokens
        url, body = _fim_request(settings, fim_parts(prompt), limit, stop, temperature)
        route: Route = settings.fim_mode
        async with aclosing(self._wire.stream(settings, url, body, route=route, kind="fim",
                                              max_tokens=limit)) as deltas:
            async for delta in deltas:
                if delta.text:
                    yield delta.text

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
                   max_tokens: int | None = None, temperature: float | None = None,
                   on_text: Callable[[str], Awaitable[None]] | None = None) -> ChatReply:
        """One assistant turn (streamed underneath), with tool calls from `tool_calls` or from Qwen's XML.

        `finish_reason` is `"length"` when the answer was cut, by the server's `max_tokens` or by our own limit on
        an answer's size: such an answer is not whole and must not be applied as an edit. ``on_text`` is given
        the turn's text as it arrives, without XML tool-call markup (`VisibleText`).
        """
        visible = VisibleText()
        settings = await self.endpoint()
        body = self._chat_body(settings, messages, max_tokens, temperature)
        if tools:
            body["tools"] = list(tools)
        content: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        finish: str | None = None
        async with aclosing(self._chat_deltas(settings, body)) as deltas:
            async for delta in deltas:
                content.append(delta.text)
                if on_text is not None and (shown := visible.feed(delta.text)):
                    await on_text(shown)
                for piece in delta.tool_calls:
                    slot = calls.setdefault(len(calls) if piece.index is None else piece.index,
                                            {"id": "", "name": "", "args": ""})
                    slot["id"] = piece.id or slot["id"]
                    slot["name"] += piece.name
                    slot["args"] += piece.arguments
                finish = delta.finish_reason or finish
        if on_text is not None and (rest := visible.finish()):
            await on_text(rest)
        text = "".join(content)
        tool_calls = [ToolCall(slot["id"] or f"call_{index}", slot["name"], *_arguments(slot["args"]))
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
                if delta.text:
                    yield delta.text

    async def ask_stream(self, question: str, context: PromptLike | str) -> AsyncGenerator[str, None]:
        """The answer to a question about the repository, streamed; `context` from `Engine.chat_context`.

        An answer without any text raises `ModelResponseError`: an empty answer is a failure, not a reply.
        """
        text = context if isinstance(context, str) else context.text
        messages = [{"role": "system", "content": ASK_SYSTEM_PROMPT},
                    {"role": "user", "content": f"{text}\n\n## Question\n\n{question}"}]
        answered = False
        async with aclosing(self.chat_stream(messages)) as pieces:
            async for piece in pieces:
                answered = True
                yield piece
        if not answered:
            raise ModelResponseError(f"{(await self.endpoint()).base_url} answered the question with an empty "
                                     "answer; try again, or check the model's log")

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

    def _chat_deltas(self, settings: ModelSettings, body: dict[str, Any]) -> AsyncGenerator[Delta, None]:
        return self._wire.stream(settings, f"{settings.base_url}/chat/completions", body, route="chat",
                                 kind="chat", max_tokens=int(body["max_tokens"]))

    # --- doctor --------------------------------------------------------------------------------------------------

    async def diagnose(self) -> list[Check]:
        """Check the endpoint step by step; stops at the first failure that makes later checks meaningless."""
        token = diagnosing.set(True)
        try:
            return await self._diagnose()
        finally:
            diagnosing.reset(token)

    async def _diagnose(self) -> list[Check]:
        checks: list[Check] = []
        try:
            settings = await self._located()
        except ModelError as exc:
            return [Check("endpoint", False, str(exc))]
        source = ("nothing configured; found by probing local ports" if not self.settings.configured
                  else f"preset {settings.preset}" if settings.preset else "QWEN_BASE_URL")
        checks.append(Check("endpoint", True, f"{settings.base_url} ({source}; FIM route {settings.fim_mode})"))
        try:
            auth_headers(settings)
        except ModelAuthError as exc:
            return [*checks, Check("api key", False, str(exc))]
        started = time.perf_counter()
        try:
            served = await self._wire.models(settings)
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
        """Time a request to its first token; an answer with no text fails the check."""
        started = time.perf_counter()
        try:
            async with aclosing(stream):
                async for _ in stream:
                    return Check(name, True, f"first token after {(time.perf_counter() - started) * 1000:.0f} ms")
            return Check(name, False, f"the endpoint answered with no text at all (in "
                                      f"{(time.perf_counter() - started) * 1000:.0f} ms): the model may be "
                                      "misconfigured; check the server's log")
        except ModelError as exc:
            return Check(name, False, str(exc))


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


def _arguments(raw: str) -> tuple[dict[str, Any], str]:
    """A call's arguments decoded, or nothing and why they could not be."""
    try:
        value = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError:
        return {}, f"the arguments are not JSON: {raw[:200]!r}"
    if not isinstance(value, dict):
        return {}, f"the arguments are not a JSON object: {raw[:200]!r}"
    return value, ""


__all__ = [
    "FIM_STOP", "ChatReply", "Check", "FimParts", "ModelClient", "PromptLike", "ToolCall", "VisibleText",
    "fim_parts", "parse_xml_tool_calls",
]
