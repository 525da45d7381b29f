"""The agentic `ask`: Qwen3-Coder answers a question about the repository, looking things up with the engine's
read-only tools (`context.agent.tools`) in a bounded loop.

The conversation starts like the one-shot `ask`: the engine's ranked context for the question, then the question.
Each round the model either answers or calls tools (OpenAI `tool_calls`, or Qwen3-Coder's XML when the server's
tool parser is off: `ModelClient.chat` reads both); the calls run on the engine and their answers go back in the
next request as `tool` messages. The loop is bounded twice: after ``max_rounds`` rounds of calls, or once the
tools' answers have used the ``tool_budget``, the model is asked to answer from what it has read, and the request
offers no tools. The text the model writes streams to ``on_text`` as it arrives; every call is reported to
``on_event`` as it happens. Cancelling the task that runs `ask` closes the model's stream at once.

An endpoint that refuses `tools` (vLLM started without `--enable-auto-tool-choice`, HTTP 400) gets the one-shot
question instead, and ``on_event`` says so; ``tools=False`` asks that way from the start.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from context.agent.tools import TOOLS, ToolBox, ToolResult
from context.engine import Engine
from context.errors import ModelResponseError, UsageError
from context.prompt.result import Prompt

if TYPE_CHECKING:
    from context.model.client import ModelClient, ToolCall

T = TypeVar("T")
#: Runs a blocking engine call off the event loop (`asyncio.to_thread`, or a server's own worker thread).
Runner = Callable[[Callable[[], T]], Awaitable[T]]

AGENT_SYSTEM_PROMPT = (
    "You are Qwen3-Coder, answering a developer's question about their repository. The user message holds "
    "context the engine ranked for the question (a map of its definitions and excerpts of files), then the "
    "question. You can call tools to look up more: search definitions by name, get a definition's code, find "
    "where a name is used, read numbered lines of a file, outline a file, or build context for a narrower task. "
    "Look up what you need rather than guess about code you have not read; when you know enough, answer without "
    "calling tools. Cite the code you rely on as path:line.")

FINAL_REQUEST = ("{why} Answer the question now from what you have read, without calling tools, citing the code "
                 "as path:line.")


@dataclass(frozen=True)
class AgentLimits:
    """How far the loop may go: rounds of tool calls, tokens of tool answers in all and in one answer."""

    max_rounds: int = 8
    tool_budget: int = 32_768
    result_tokens: int = 8_192
    calls_per_round: int = 16

    def __post_init__(self) -> None:
        if self.max_rounds < 1:
            raise UsageError(f"--max-rounds (rounds of tool calls) must be at least 1, got {self.max_rounds}")
        if self.tool_budget < 256:
            raise UsageError(f"--tool-budget must be at least 256 tokens, got {self.tool_budget}")


@dataclass(frozen=True)
class ToolCalled:
    """The model asked for a call (reported before it runs)."""

    round: int
    name: str
    arguments: Mapping[str, Any]

    def describe(self) -> str:
        """The call as a person reads it: ``read_code(path='app.py', start_line=10)``."""
        shown = ", ".join(f"{key}={value!r}" for key, value in self.arguments.items())
        return f"{self.name}({shown})"


@dataclass(frozen=True)
class ToolAnswered:
    """A call ran; its answer is what the model reads next."""

    round: int
    result: ToolResult

    def describe(self) -> str:
        """One line: how big the answer is, or why the call was refused."""
        if not self.result.ok:
            return f"{self.result.name}: {self.result.text.splitlines()[0] if self.result.text else 'refused'}"
        cut = ", cut to fit" if self.result.cut else ""
        return f"{self.result.name}: {self.result.tokens:,} tokens{cut}"


@dataclass(frozen=True)
class Notice:
    """Something the user should know about how the answer came about (a limit reached, tools refused)."""

    message: str

    def describe(self) -> str:
        return self.message


AgentEvent = ToolCalled | ToolAnswered | Notice


@dataclass
class AgentAnswer:
    """The whole answer and how it was reached."""

    text: str
    context: Prompt
    rounds: int = 0
    calls: list[ToolCalled] = field(default_factory=list)
    tool_tokens: int = 0
    stopped: str | None = None  # why the loop was cut short (a limit), None when the model finished by itself
    agentic: bool = True  # False: answered in one shot


async def _thread(fn: Callable[[], T]) -> T:
    return await asyncio.to_thread(fn)


async def _ignore(_: Any) -> None:
    return None


def _assistant_message(text: str, calls: Sequence[ToolCall]) -> dict[str, Any]:
    """The model's turn as it goes back in the history (native form; Qwen's template renders it as XML)."""
    return {"role": "assistant", "content": text or None, "tool_calls": [
        {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}
        for call in calls]}


def _refuses_tools(exc: ModelResponseError) -> bool:
    """The endpoint rejected the request because it offered tools (vLLM without a tool parser says so in a 400)."""
    message = str(exc).lower()
    return "http 400" in message and "tool" in message


class _Conversation:
    """One agentic answer in progress: the history, the tools, and the text shown so far."""

    def __init__(self, engine: Engine, client: ModelClient, limits: AgentLimits,
                 on_text: Callable[[str], Awaitable[None]], on_event: Callable[[AgentEvent], Awaitable[None]],
                 run: Runner[Any]) -> None:
        self.client, self.limits, self.run = client, limits, run
        self.on_text, self.on_event = on_text, on_event
        self.box = ToolBox(engine, budget=limits.tool_budget, result_tokens=limits.result_tokens)
        self.shown: list[str] = []
        self.ids: set[str] = set()

    async def show(self, piece: str) -> None:
        self.shown.append(piece)
        await self.on_text(piece)

    async def turn(self, messages: list[dict[str, Any]], offer_tools: bool) -> tuple[str, list[ToolCall]]:
        """One model turn; its text and the calls it asks for. Text is kept apart from the next turn's."""
        if self.shown and not self.shown[-1].endswith("\n"):
            await self.show("\n")
        reply = await self.client.chat(messages, tools=TOOLS if offer_tools else (), on_text=self.show)
        if reply.finish_reason == "length":
            await self.on_event(Notice("The answer was cut at the model's token limit (QWEN_CHAT_MAX_TOKENS)."))
        return reply.content, reply.tool_calls

    async def call(self, round_: int, number: int, call: ToolCall, result: AgentAnswer) -> dict[str, Any]:
        """Run the ``number``-th call of a round (or refuse it past `calls_per_round`) and report it; the `tool`
        message answering it."""
        called = ToolCalled(round_, call.name, call.arguments)
        result.calls.append(called)
        await self.on_event(called)
        if call.error:
            answered = self.box.refuse(call.name, call.arguments, f"Error: {call.error}; send them again as one "
                                                                   "JSON object.")
        elif number >= self.limits.calls_per_round:
            answered = self.box.refuse(call.name, call.arguments, f"Not run: at most {self.limits.calls_per_round} "
                                                                   "calls are run per round; ask for the rest next.")
        else:
            answered = await self.run(lambda: self.box.call(call.name, call.arguments))
        await self.on_event(ToolAnswered(round_, answered))
        return {"role": "tool", "tool_call_id": call.id, "content": answered.text}

    async def answer(self, messages: list[dict[str, Any]], result: AgentAnswer) -> None:
        """Run the loop on ``messages`` until the model answers or a limit makes it."""
        for round_ in range(1, self.limits.max_rounds + 2):
            why = self._limit_reached(round_)
            if why is not None:
                result.stopped = why
                await self.on_event(Notice(why))
                messages.append({"role": "user", "content": FINAL_REQUEST.format(why=why)})
            text, calls = await self.turn(messages, offer_tools=why is None)
            if not calls:
                return
            if why is not None:  # asked to answer without tools, it still called some
                await self._gave_up(result)
                return
            result.rounds = round_
            calls = [self._unique(call) for call in calls]
            messages.append(_assistant_message(text, calls))
            for number, call in enumerate(calls):
                messages.append(await self.call(round_, number, call, result))
            result.tool_tokens = self.box.used

    def _unique(self, call: ToolCall) -> ToolCall:
        """``call`` with an id no earlier call of the conversation had (servers number calls per turn, and Qwen's
        XML has no ids), so that each answer pairs with its call."""
        if call.id in self.ids:
            number = len(self.ids)
            while f"call_{number}" in self.ids:
                number += 1
            call = replace(call, id=f"call_{number}")
        self.ids.add(call.id)
        return call

    def _limit_reached(self, round_: int) -> str | None:
        if round_ > self.limits.max_rounds:
            return f"Stopped after {self.limits.max_rounds} rounds of tool calls."
        if self.box.remaining <= 0:
            return f"Stopped: the tools' answers used the budget of {self.limits.tool_budget:,} tokens."
        return None

    async def _gave_up(self, result: AgentAnswer) -> None:
        """The model would not answer without more tools: say so, with what it looked up, as the answer."""
        looked = "; ".join(dict.fromkeys(call.describe() for call in result.calls)) or "nothing"
        rounds = f"{result.rounds} round{'s' if result.rounds != 1 else ''}"
        await self.show(f"No answer: Qwen3-Coder still asked for tools after {rounds}. It looked up: {looked}.\n")


async def ask(engine: Engine, client: ModelClient, question: str, *, focus: Sequence[str] = (),
              budget: int = 16_384, limits: AgentLimits | None = None, tools: bool = True,
              on_text: Callable[[str], Awaitable[None]] | None = None,
              on_event: Callable[[AgentEvent], Awaitable[None]] | None = None,
              run: Runner[Any] | None = None) -> AgentAnswer:
    """Qwen3-Coder's answer to ``question`` about ``engine``'s repository, looking things up with the tools
    (``tools=False``: in one shot, from the ranked context alone). ``budget`` is the ranked context's; ``run``
    runs the engine's blocking calls (default: a thread)."""
    limits = limits or AgentLimits()
    runner: Runner[Any] = run or _thread
    prompt: Prompt = await runner(lambda: engine.chat_context(question, focus=focus, budget=budget))
    conversation = _Conversation(engine, client, limits, on_text or _ignore, on_event or _ignore, runner)
    result = AgentAnswer("", prompt, agentic=tools)
    if tools:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": AGENT_SYSTEM_PROMPT},
            {"role": "user", "content": f"{prompt.text}\n\n## Question\n\n{question}"}]
        try:
            await conversation.answer(messages, result)
        except ModelResponseError as exc:
            if conversation.shown or result.rounds or not _refuses_tools(exc):
                raise
            await conversation.on_event(Notice(f"The endpoint refused tools ({exc}); answering in one shot. "
                                               "For tools, start vLLM with --enable-auto-tool-choice "
                                               "--tool-call-parser qwen3_coder."))
            result.agentic = False
    if not result.agentic:
        async for piece in client.ask_stream(question, prompt):
            await conversation.show(piece)
    result.text = "".join(conversation.shown)
    if not result.text.strip():
        raise ModelResponseError(f"{(await client.endpoint()).base_url} answered the question with an empty "
                                 "answer; try again, or check the model's log")
    return result


__all__ = ["AGENT_SYSTEM_PROMPT", "AgentAnswer", "AgentEvent", "AgentLimits", "Notice", "ToolAnswered",
           "ToolCalled", "ask"]
