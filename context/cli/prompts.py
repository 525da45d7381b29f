"""Prompt commands: prompt, map, context."""

from __future__ import annotations

import argparse
import json
import sys

from context.cli.base import (
    EXIT_OK,
    add_budget_argument,
    add_focus_argument,
    add_json_argument,
    add_repo_argument,
    command,
    focus_paths,
    open_engine,
    open_input,
    print_json,
    repo_relative,
    take_words_after_focus,
)
from context.engine import Engine
from context.errors import InvalidPosition, QwenContextError, UsageError
from context.prompt.budget import check_budget
from context.prompt.result import Prompt


def add_cursor_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """A cursor for a fill-in-the-middle prompt: ``PATH:LINE:COL``, ``--repo``, ``--budget`` and ``--buffer``."""
    parser.add_argument("target", nargs=None if required else "?", metavar="PATH:LINE:COL",
                        help="the cursor (1-based line and column)")
    add_repo_argument(parser)
    add_budget_argument(parser, 8192)
    parser.add_argument("--buffer", metavar="FILE", help="unsaved content of PATH (replaces the file on disk)")


def parse_cursor(target: str) -> tuple[str, int, int]:
    """``PATH:LINE:COL`` (1-based) -> ``(path, line, column)`` (0-based)."""
    path, _, rest = target.rpartition(":")
    path, _, line = path.rpartition(":")
    try:
        line_number, column = int(line), int(rest)
    except ValueError:
        raise UsageError(f"expected PATH:LINE:COL with 1-based numbers, got {target!r}") from None
    if not path or line_number < 1 or column < 1:
        raise UsageError(f"expected PATH:LINE:COL with 1-based numbers, got {target!r}")
    return path, line_number - 1, column - 1


def fim_prompt_with_buffer(engine: Engine, path: str, line: int, character: int, budget: int,
                           buffer: str | None) -> Prompt:
    """A FIM prompt where ``buffer`` (when given) replaces the file on disk everywhere, for this prompt only."""
    if buffer is None:
        return engine.fim_prompt(path, line, character, budget=budget)
    engine.set_overlay(path, buffer)
    try:
        return engine.fim_prompt(path, line, character, budget=budget, buffer=buffer)
    finally:
        engine.clear_overlay(path)


def cursor_prompt(engine: Engine, target: str, budget: int, buffer_file: str | None) -> Prompt:
    """The FIM prompt at ``PATH:LINE:COL`` (1-based, ``PATH`` as `repo_relative` takes it), with the content of
    ``buffer_file`` (when given) standing in for the file on disk. A line past the end is reported 1-based,
    as it was given."""
    path, line, column = parse_cursor(target)
    buffer = None
    if buffer_file is not None:
        with open_input(buffer_file, "--buffer") as handle:
            buffer = handle.read()
    path = repo_relative(engine, path)
    try:
        return fim_prompt_with_buffer(engine, path, line, column, budget, buffer)
    except InvalidPosition:
        lines = len((engine.text(path) if buffer is None else buffer).split("\n"))
        raise InvalidPosition(f"line {line + 1} is outside {path}, which has lines 1..{lines}") from None


def _prompt_arguments(parser: argparse.ArgumentParser) -> None:
    add_cursor_arguments(parser, required=False)
    parser.add_argument("--batch", metavar="IN.jsonl",
                        help='one cursor per line: {"path", "line", "character" (0-based), "buffer"?, "budget"?}')
    add_json_argument(parser)


def _batch_prompts(engine: Engine, source: str, default_budget: int) -> None:
    with open_input(source, "--batch") as handle:
        for raw in handle:
            if not raw.strip():
                continue
            try:
                request = json.loads(raw)
                path = repo_relative(engine, str(request["path"]))
                prompt = fim_prompt_with_buffer(engine, path, int(request["line"]), int(request["character"]),
                                                int(request.get("budget", default_budget)), request.get("buffer"))
                print_json(prompt.to_dict())
            except (QwenContextError, KeyError, TypeError, ValueError) as exc:
                print_json({"error": " ".join(str(exc).split()) or type(exc).__name__})
            sys.stdout.flush()


@command("prompt", "print the repository-level FIM prompt for a cursor", _prompt_arguments)
def run_prompt(args: argparse.Namespace) -> int:
    """Print the FIM prompt for one cursor, or one JSON prompt per line of a batch file."""
    if (args.target is None) == (args.batch is None):
        raise UsageError("give either PATH:LINE:COL or --batch IN.jsonl")
    with open_engine(args) as engine:
        if args.batch is not None:
            _batch_prompts(engine, args.batch, args.budget)
            return EXIT_OK
        prompt = cursor_prompt(engine, args.target, args.budget, args.buffer)
    if args.json:
        print_json(prompt.to_dict())
    else:
        sys.stdout.write(prompt.text + "\n")
    return EXIT_OK


def _map_arguments(parser: argparse.ArgumentParser) -> None:
    add_repo_argument(parser)
    add_budget_argument(parser, 4096)
    add_focus_argument(parser, "rank toward these files")


@command("map", "print the ranked repository map", _map_arguments)
def run_map(args: argparse.Namespace) -> int:
    """Print the repository map, ranked toward the focus files, within the budget ``prompt`` allows too."""
    check_budget(args.budget)
    with open_engine(args) as engine:
        text = engine.repo_map(focus=focus_paths(engine, args.focus), budget=args.budget)
    sys.stdout.write(text)
    return EXIT_OK


def _context_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", nargs="?", metavar="QUERY", help="the task, in words")
    add_repo_argument(parser)
    add_focus_argument(parser, "files the task is about")
    add_budget_argument(parser, 16384)
    add_json_argument(parser)


@command("context", "print the repository context for a task (Markdown, for chat and agents)", _context_arguments)
def run_context(args: argparse.Namespace) -> int:
    """Print the Markdown context a chat model gets for a task."""
    query = take_words_after_focus(args, "query")
    with open_engine(args) as engine:
        prompt = engine.chat_context(query, focus=focus_paths(engine, args.focus), budget=args.budget)
    if args.json:
        print_json(prompt.to_dict())
    else:
        sys.stdout.write(prompt.text)
    return EXIT_OK
