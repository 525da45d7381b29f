"""The ``qwen-context`` command line.

A small framework (`context.cli.base`) and the commands, one module per area (`index`, `prompts`, `model`,
`review`): each command is a function taking the parsed arguments and returning an exit status, registered with
the `command` decorator together with a function declaring its arguments, so adding one is adding a function to
its area's module (or a module for a new area, imported below), never touching the others.

Output goes to stdout (``--json`` for tools), logs and errors to stderr. An engine error, or a file or port the
command cannot use, prints one line ``qwen-context: error: <message>`` and exits with status 2; there are no
tracebacks for expected failures. Without ``--repo`` a command works on the repository around the current
folder (`find_repo_root`), so running it from a subfolder never builds a second index of that subfolder.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from context.cli import index, model, prompts, review  # noqa: F401  (registers their commands, in --help's order)
from context.cli.base import (
    COMMANDS,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    PROG,
    find_repo_root,
    progress_bar,
)
from context.errors import QwenContextError
from context.version import package_version


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


__all__ = ["COMMANDS", "build_parser", "find_repo_root", "main", "progress_bar"]
