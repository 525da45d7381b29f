"""The ``qwen-context`` command line.

A small framework and the commands, all in this file: each command is a function taking the parsed arguments
and returning an exit status, registered with the `command` decorator together with a function declaring its
arguments. Commands of each area live in their own section below (indexing here; prompts, model and servers in
theirs), so adding one is adding a section, never touching the others.

Output goes to stdout (``--json`` for tools), logs and errors to stderr. An engine error, or a file or port the
command cannot use, prints one line ``qwen-context: error: <message>`` and exits with status 2; there are no
tracebacks for expected failures. Without ``--repo`` a command works on the repository around the current
folder (`find_repo_root`), so running it from a subfolder never builds a second index of that subfolder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from context.engine import Engine, EngineConfig, IndexReport, OutlineNode, default_cache_dir, iter_outline
from context.errors import IndexDiskFull, InvalidPosition, QwenContextError, UsageError
from context.index.store import index_path
from context.index.symbols import Definition
from context.prompt.budget import check_budget
from context.prompt.result import Prompt
from context.version import package_version

logger = logging.getLogger(__name__)

PROG = "qwen-context"
#: Exit statuses.
EXIT_OK, EXIT_FAILURE, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130

Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, one-line help, how it declares its arguments and what it runs."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Handler


#: Every subcommand, in the order ``--help`` lists them.
COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None]) -> Callable[[Handler], Handler]:
    """Register the decorated function as the subcommand ``name``."""

    def register(run: Handler) -> Handler:
        COMMANDS[name] = Command(name, help, arguments, run)
        return run

    return register


# --- shared helpers for commands ------------------------------------------------------------------------------


def add_repo_argument(parser: argparse.ArgumentParser) -> None:
    """``--repo R``: the repository to work on (default: the one around the current folder), and how to index it."""
    parser.add_argument("--repo", metavar="R",
                        help="repository root (default: the git top level or indexed folder around the current one)")
    add_max_file_bytes_argument(parser)


def find_repo_root(start: Path) -> Path:
    """The repository a command run in ``start`` works on: the nearest folder at or above ``start`` that already
    has an index or is a git work tree's top level (holds ``.git``); ``start`` itself when there is none."""
    start = start.resolve()
    cache = default_cache_dir()
    for folder in (start, *start.parents):
        if index_path(cache, folder).exists() or (folder / ".git").exists():
            if folder != start:
                logger.info("working on the repository at %s", folder)
            return folder
    return start


def open_input(path: str, what: str) -> TextIO:
    """The text file ``path`` (``-``: stdin) opened for reading; a file that cannot be opened is a one-line
    `UsageError` naming ``what`` it was given as."""
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8", errors="replace")  # the caller closes it
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def add_max_file_bytes_argument(parser: argparse.ArgumentParser) -> None:
    """``--max-file-bytes N``: the size cap of indexed files. Every command that indexes takes it, since an
    index built with one cap is brought back to the default by the next command run without it."""
    parser.add_argument("--max-file-bytes", type=int, metavar="N",
                        help="skip files larger than N bytes (default: $QWEN_CONTEXT_MAX_FILE_BYTES or 1 MiB)")


def open_engine(args: argparse.Namespace, *, index: bool = True) -> Engine:
    """An engine on ``args.repo`` with the scan limits of ``args``, brought up to date first when ``index``
    (fast when nothing changed)."""
    config = EngineConfig()
    if args.max_file_bytes is not None:
        if args.max_file_bytes <= 0:
            raise UsageError(f"--max-file-bytes must be a positive number of bytes, got {args.max_file_bytes}")
        config = replace(config, scan=replace(config.scan, max_file_bytes=args.max_file_bytes))
    engine = Engine(args.repo if args.repo is not None else find_repo_root(Path.cwd()), config)
    if index:
        try:
            engine.index(progress=progress_bar("indexing"))
        except IndexDiskFull as exc:  # answer from what is indexed, and say why it may be out of date
            print(f"qwen-context: warning: {exc}", file=sys.stderr)
    return engine


def add_cursor_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """A cursor for a fill-in-the-middle prompt: ``PATH:LINE:COL``, ``--repo``, ``--budget`` and ``--buffer``."""
    parser.add_argument("target", nargs=None if required else "?", metavar="PATH:LINE:COL",
                        help="the cursor (1-based line and column)")
    add_repo_argument(parser)
    add_budget_argument(parser, 8192)
    parser.add_argument("--buffer", metavar="FILE", help="unsaved content of PATH (replaces the file on disk)")


def add_budget_argument(parser: argparse.ArgumentParser, default: int) -> None:
    """``--budget N``: the token budget of what the command assembles."""
    parser.add_argument("--budget", type=int, default=default, metavar="N", help=f"token budget (default {default})")


def add_focus_argument(parser: argparse.ArgumentParser, about: str) -> None:
    """``--focus PATH ...``: files the command ranks toward; ``about`` says how, for the help text."""
    parser.add_argument("--focus", nargs="+", default=[], metavar="PATH", help=about)


def take_words_after_focus(args: argparse.Namespace, name: str) -> str:
    """The positional ``name`` (``QUESTION``) of a command that also takes ``--focus PATH ...``.

    ``ask --focus app.py "why?"`` hands the question to ``--focus`` (it takes one or more paths), so when the
    positional is missing the last word after ``--focus`` is it."""
    value: str | None = getattr(args, name)
    if value is None and len(args.focus) > 1:
        value = args.focus.pop()
    if value is None:
        raise UsageError(f"the {name.upper()} is missing (put it before --focus, or after its paths)")
    return value


def focus_paths(engine: Engine, paths: Sequence[str]) -> list[str]:
    """The ``--focus`` files relative to the repository; a file that is not in the index is an error, since
    ranking toward it would silently rank toward nothing."""
    relative = [repo_relative(engine, path) for path in paths]
    for path in relative:
        engine.text(path)  # raises UnknownFile for a missing, ignored or secret file
    return relative


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    """``--json``: print machine-readable JSON instead of text."""
    parser.add_argument("--json", action="store_true", help="print JSON")


def print_json(value: Any) -> None:
    """Print ``value`` as JSON on stdout."""
    json.dump(value, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def progress_bar(label: str) -> Callable[[int, int], None] | None:
    """A progress callback drawing a bar on stderr, or None when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None
    width = 30
    last = [-1]

    def draw(done: int, total: int) -> None:
        if total <= 0:
            return
        filled = width * done // total
        if filled == last[0] and done != total:
            return
        last[0] = filled
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
        if done >= total:
            sys.stderr.write("\r" + " " * (width + len(label) + 30) + "\r")
        sys.stderr.flush()

    return draw


def repo_relative(engine: Engine, path: str) -> str:
    """``path`` relative to the repository: a path relative to the current folder is accepted when it lies
    inside the repository and exists, anything else is passed on as written (the engine checks it)."""
    if not os.path.isabs(path):
        candidate = Path(path).resolve()
        if candidate.is_relative_to(engine.root) and candidate.exists():
            return candidate.relative_to(engine.root).as_posix()
    return path


def definition_json(d: Definition) -> dict[str, Any]:
    """The JSON shape of a definition: ``name kind path line signature`` (1-based line) and more."""
    return {"name": d.name, "kind": d.kind, "path": d.path, "line": d.line + 1, "signature": d.signature,
            "qualname": d.qualname, "column": d.column + 1, "end_line": d.end_line + 1, "doc": d.doc}


# --- indexing: index, search, outline, stats ------------------------------------------------------------------


def _index_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", nargs="?", metavar="REPO", help="repository root (the same as --repo R)")
    add_repo_argument(parser)
    add_json_argument(parser)


@command("index", "build or update the index of a repository", _index_arguments)
def run_index(args: argparse.Namespace) -> int:
    """Index the repository and print what was parsed, removed and skipped."""
    if args.folder is not None:
        if args.repo is not None and Path(args.repo).resolve() != Path(args.folder).resolve():
            raise UsageError(f"two repositories given: {args.folder} and --repo {args.repo}")
        args.repo = args.folder
    with open_engine(args, index=False) as engine:
        report: IndexReport = engine.index(progress=progress_bar("indexing"))
        if args.json:
            print_json({"files": report.files, "symbols": report.symbols, "seconds": round(report.seconds, 3),
                        "skipped": report.skipped, "ignored": [by.to_json() for by in report.ignored],
                        "parsed": report.parsed, "removed": report.removed, "index": str(engine.index_path)})
        else:
            skipped = ", ".join(f"{reason} {count}" for reason, count in sorted(report.skipped.items()) if count)
            print(f"{report.files} files, {report.symbols} symbols in {report.seconds:.2f} s "
                  f"({report.parsed} parsed, {report.removed} removed"
                  f"{'; skipped: ' + skipped if skipped else ''})")
            if report.ignored:
                print(("nothing was indexed: " if not report.files else "") + report.ignored_summary)
    return EXIT_OK


def _search_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", metavar="QUERY", help="a name, a prefix, Class.method, or initials like getUN")
    add_repo_argument(parser)
    parser.add_argument("--kind", metavar="K", help="only definitions of this kind (function, class, method, ...)")
    parser.add_argument("--limit", type=int, default=20, metavar="N", help="at most N results (default 20)")
    add_json_argument(parser)


@command("search", "find definitions by name (exact, prefix, fuzzy)", _search_arguments)
def run_search(args: argparse.Namespace) -> int:
    """Print the definitions best matching the query; exit 1 (saying so on stderr) when there are none."""
    with open_engine(args) as engine:
        found = engine.search(args.query, kind=args.kind, limit=args.limit)
    if args.json:
        print_json([definition_json(d) for d in found])
        return EXIT_OK
    for d in found:
        print(f"{d.path}:{d.line + 1}: {d.kind} {d.signature or d.qualname}")
    if not found:
        kind = f" of kind {args.kind}" if args.kind else ""
        sys.stderr.write(f"{PROG}: no definition{kind} matches {args.query!r}\n")
    return EXIT_OK if found else EXIT_FAILURE


def _outline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="a file, relative to the repository")
    add_repo_argument(parser)
    add_json_argument(parser)


def _outline_json(nodes: list[OutlineNode]) -> list[dict[str, Any]]:
    return [{**definition_json(n.definition), "children": _outline_json(n.children)} for n in nodes]


def _print_outline(nodes: list[OutlineNode]) -> None:
    for depth, d in iter_outline(nodes):
        print(f"{'  ' * depth}{d.line + 1:>5}  {d.kind:<9} {d.signature or d.name}")


@command("outline", "list the definitions of one file, nested", _outline_arguments)
def run_outline(args: argparse.Namespace) -> int:
    """Print the definitions of one file, children indented under their parents."""
    with open_engine(args) as engine:
        nodes = engine.outline(repo_relative(engine, args.path))
    if args.json:
        print_json(_outline_json(nodes))
    else:
        _print_outline(nodes)
    return EXIT_OK


def _stats_arguments(parser: argparse.ArgumentParser) -> None:
    add_repo_argument(parser)
    add_json_argument(parser)


@command("stats", "languages, files, symbols, skipped files and index size", _stats_arguments)
def run_stats(args: argparse.Namespace) -> int:
    """Print the index at a glance, without updating it first."""
    with open_engine(args, index=False) as engine:
        stats = engine.stats()
    if args.json:
        print_json({"languages": stats.languages, "files": stats.files, "symbols": stats.symbols,
                    "references": stats.references, "skipped": stats.skipped,
                    "ignored": [by.to_json() for by in stats.ignored], "index_bytes": stats.index_bytes,
                    "last_indexed": stats.last_indexed, "index": stats.index_path})
        return EXIT_OK
    print(f"files       {stats.files}")
    print(f"symbols     {stats.symbols}")
    print(f"references  {stats.references}")
    print(f"index       {stats.index_bytes / 1_048_576:.1f} MiB  {stats.index_path}")
    for language, count in sorted(stats.languages.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {language:<12} {count}")
    skipped = {reason: count for reason, count in stats.skipped.items() if count}
    if skipped:
        print("skipped")
        for reason, count in sorted(skipped.items()):
            print(f"  {reason:<22} {count}")
    if stats.ignored:
        print(stats.ignored_summary)
    return EXIT_OK


# --- prompts: prompt, map, context (owner: PROMPT) ------------------------------------------------------------


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


# --- the model: complete, ask, doctor, fake-server (owner: MODEL) ---------------------------------------------
# context.model.client and context.model.fakeserver are imported inside these commands: the HTTP and settings stack costs
# a quarter of a second at start-up, which the indexing commands should not pay.


async def _print_stream(make: Callable[[Any], Any], empty: str) -> int:
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
    return EXIT_OK


def _complete_arguments(parser: argparse.ArgumentParser) -> None:
    add_cursor_arguments(parser)


@command("complete", "complete the code at a cursor with the model (streams to the terminal)", _complete_arguments)
def run_complete(args: argparse.Namespace) -> int:
    """Stream the model's completion at a cursor to stdout."""
    with open_engine(args) as engine:
        prompt = cursor_prompt(engine, args.target, args.budget, args.buffer)
    return asyncio.run(_print_stream(lambda client: client.fim(prompt),
                                     f"answered with nothing to insert at {args.target}"))


def _ask_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("question", nargs="?", metavar="QUESTION", help="the question, in words")
    add_repo_argument(parser)
    add_focus_argument(parser, "files the question is about")
    add_budget_argument(parser, 16384)


@command("ask", "answer a question about the repository with the model", _ask_arguments)
def run_ask(args: argparse.Namespace) -> int:
    """Stream the model's answer to a question about the repository to stdout."""
    question = take_words_after_focus(args, "question")
    with open_engine(args) as engine:
        prompt = engine.chat_context(question, focus=focus_paths(engine, args.focus), budget=args.budget)
    return asyncio.run(_print_stream(lambda client: client.ask_stream(question, prompt),
                                     "answered the question with an empty answer"))


def _doctor_arguments(parser: argparse.ArgumentParser) -> None:
    add_repo_argument(parser)  # accepted like every command's; the model settings do not depend on it
    add_json_argument(parser)


@command("doctor", "check the model endpoint and say what to fix", _doctor_arguments)
def run_doctor(args: argparse.Namespace) -> int:
    """Check the model endpoint; exit 1 when a check fails."""
    from context.model.client import ModelClient

    async def diagnose() -> list[Any]:
        async with ModelClient() as client:
            return await client.diagnose()

    checks = asyncio.run(diagnose())
    if args.json:
        print_json([{"check": c.name, "ok": c.ok, "detail": c.detail} for c in checks])
    else:
        for check in checks:
            print(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    return EXIT_OK if all(check.ok for check in checks) else EXIT_FAILURE


def _fake_server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8000, metavar="N", help="port on 127.0.0.1 (default 8000; 0: any)")
    parser.add_argument("--reply", metavar="TEXT", help="what the fake model answers (default: a canned text)")
    parser.add_argument("--token", metavar="T", help="require this API key")
    parser.add_argument("--model", nargs="+", default=["qwen3-coder"], metavar="NAME", help="model names served")


@command("fake-server", "run a local OpenAI-compatible fake model, to try everything without a GPU",
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
    return EXIT_OK


# (new command sections go above this line, one per area, each registering its commands with @command)


# --- the entry point ------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered command."""
    parser = argparse.ArgumentParser(prog=PROG, description="Repository context for Qwen3-Coder.")
    parser.add_argument("--version", action="version", version=f"{PROG} {package_version()}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS.values():
        cmd.arguments(sub.add_parser(cmd.name, help=cmd.help, description=cmd.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``qwen-context`` with ``argv`` (default: the process's arguments); returns the exit status."""
    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format=f"{PROG}: %(levelname)s: %(message)s")
    try:
        return COMMANDS[args.command].run(args)
    except QwenContextError as exc:
        message = " ".join(str(exc).split())
        sys.stderr.write(f"{PROG}: error: {message}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `qwen-context search x | head`
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:  # a file or port the command could not use: say which, in one line
        where = f": {exc.filename}" if exc.filename else ""
        sys.stderr.write(f"{PROG}: error: {exc.strerror or exc}{where}\n")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
