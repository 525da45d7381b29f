"""The command line's framework: how a command registers, and the helpers commands share."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from context.engine import Engine, EngineConfig, default_cache_dir
from context.errors import IndexDiskFull, UsageError
from context.index.store import index_path
from context.index.symbols import Definition

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
