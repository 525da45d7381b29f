"""Model commands: complete, ask, doctor, fake-server."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from context.cli import base
from context.cli.prompts import add_cursor_arguments, cursor_prompt
from context.errors import UsageError

if TYPE_CHECKING:
    from context.agent import AgentLimits
    from context.engine import Engine

# context.model.client and context.model.fakeserver are imported inside these commands: the HTTP and settings stack costs
# a quarter of a second at start-up, which the indexing commands should not pay.


async def print_stream(make: Callable[[Any], Any], empty: str) -> int:
    """Write the pieces of `make(client)` to stdout as they arrive (Ctrl-C closes the request at once); an
    answer with no text is an error saying `empty`, never a silent success."""
    from context.errors import ModelResponseError
    from context.model.client import ModelClient

    wrote = ""
    async with ModelClient() as client:
        async for piece in make(client):
            sys.stdout.write(piece)
            sys.stdout.flush()
            wrote = piece or wrote
        if not wrote:
            raise ModelResponseError(f"{(await client.endpoint()).base_url} {empty}")
    if not wrote.endswith("\n"):  # a shell prompt or the next line of a script starts on a line of its own
        sys.stdout.write("\n")
    return base.EXIT_OK


def _complete_arguments(parser: argparse.ArgumentParser) -> None:
    add_cursor_arguments(parser)


@base.command("complete", "complete the code at a cursor with the model (streams to the terminal)", _complete_arguments)
def run_complete(args: argparse.Namespace) -> int:
    """Stream the model's completion at a cursor to stdout."""
    with base.open_engine(args) as engine:
        prompt = cursor_prompt(engine, args.target, args.budget, args.buffer)
    return asyncio.run(print_stream(lambda client: client.fim(prompt),
                                     f"answered with nothing to insert at {args.target}"))


def _ask_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("question", nargs="?", metavar="QUESTION", help="the question, in words")
    base.add_repo_argument(parser)
    base.add_focus_argument(parser, "files the question is about")
    base.add_budget_argument(parser, 16384)
    parser.add_argument("--no-tools", action="store_true",
                        help="answer in one shot from the ranked context, without letting the model look things up")
    parser.add_argument("--max-rounds", type=int, default=8, metavar="N",
                        help="rounds of tool calls before the model must answer (default 8)")
    parser.add_argument("--tool-budget", type=int, default=32768, metavar="N",
                        help="tokens of tool results in all (default 32768)")
    parser.add_argument("--verbose", dest="show_tools", action="store_true",
                        help="show each tool call and its result's size on stderr as it happens")


@base.command("ask", "answer a question about the repository with the model, which looks things up with the "
              "engine's tools", _ask_arguments)
def run_ask(args: argparse.Namespace) -> int:
    """Stream the model's answer to a question about the repository to stdout (tool calls on stderr with
    ``--verbose``)."""
    from context.agent import AgentLimits

    question = base.take_words_after_focus(args, "question")
    limits = AgentLimits(max_rounds=args.max_rounds, tool_budget=args.tool_budget)
    with base.open_engine(args) as engine:
        focus = base.focus_paths(engine, args.focus)
        return asyncio.run(_ask(engine, question, focus, args, limits))


async def _ask(engine: Engine, question: str, focus: list[str], args: argparse.Namespace,
               limits: AgentLimits) -> int:
    """The agentic (or, with ``--no-tools``, one-shot) answer, streamed to stdout."""
    from context.agent import AgentEvent, Notice, ToolCalled, ask
    from context.model.client import ModelClient

    async def write(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    async def show(event: AgentEvent) -> None:
        if args.show_tools or isinstance(event, Notice):
            mark = "→" if isinstance(event, ToolCalled) else "←" if not isinstance(event, Notice) else "!"
            sys.stderr.write(f"{mark} {event.describe()}\n")
            sys.stderr.flush()

    async with ModelClient() as client:
        answer = await ask(engine, client, question, focus=focus, budget=args.budget, limits=limits,
                           tools=not args.no_tools, on_text=write, on_event=show)
    if not answer.text.endswith("\n"):  # a shell prompt or the next line of a script starts on a line of its own
        sys.stdout.write("\n")
    return base.EXIT_OK


def _doctor_arguments(parser: argparse.ArgumentParser) -> None:
    base.add_repo_argument(parser)  # accepted like every command's; the model settings do not depend on it
    base.add_json_argument(parser)


@base.command("doctor", "check the model endpoint and say what to fix", _doctor_arguments)
def run_doctor(args: argparse.Namespace) -> int:
    """Check the model endpoint; exit 1 when a check fails."""
    from context.model.client import ModelClient

    async def diagnose() -> list[Any]:
        async with ModelClient() as client:
            return await client.diagnose()

    checks = asyncio.run(diagnose())
    if args.json:
        base.print_json([{"check": c.name, "ok": c.ok, "detail": c.detail} for c in checks])
    else:
        for check in checks:
            print(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    return base.EXIT_OK if all(check.ok for check in checks) else base.EXIT_FAILURE


def _fake_server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8000, metavar="N", help="port on 127.0.0.1 (default 8000; 0: any)")
    parser.add_argument("--reply", metavar="TEXT", help="what the fake model answers (default: a canned text)")
    parser.add_argument("--token", metavar="T", help="require this API key")
    parser.add_argument("--model", nargs="+", default=["qwen3-coder"], metavar="NAME", help="model names served")


@base.command("fake-server", "run a local OpenAI-compatible fake model, to try everything without a GPU",
         _fake_server_arguments)
def run_fake_server(args: argparse.Namespace) -> int:
    """Serve the fake OpenAI-compatible model until Ctrl-C."""
    from context.model.fakeserver import FakeOpenAIServer

    try:
        server = FakeOpenAIServer(reply=args.reply, token=args.token, models=args.model, port=args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc} "
                         "(another server is there? --port N picks another, --port 0 any free one)") from None
    print(f"fake model endpoint on {server.base_url} (Ctrl-C stops it); try:\n"
          f"  QWEN_BASE_URL={server.base_url} QWEN_MODEL={args.model[0]}"
          f"{' QWEN_API_KEY=' + args.token if args.token else ''} qwen-context doctor", flush=True)
    server.serve_forever()
    return base.EXIT_OK
