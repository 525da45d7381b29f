"""The review command: a change and the code it reaches, as a prompt or as the model's review."""

from __future__ import annotations

import argparse
import asyncio
import sys

from context.cli.base import (
    EXIT_OK,
    add_budget_argument,
    add_json_argument,
    add_repo_argument,
    command,
    open_engine,
    open_input,
    print_json,
)
from context.cli.model import print_stream
from context.review import review


def _review_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rev", nargs="?", metavar="REV | A..B",
                        help="a commit (against its parent) or a range; default: the uncommitted changes against HEAD")
    parser.add_argument("--diff", metavar="FILE", help="review this unified diff instead (- reads stdin)")
    add_repo_argument(parser)
    add_budget_argument(parser, 16384)
    add_json_argument(parser)
    parser.add_argument("--ask", action="store_true", help="send it to the model and stream its review")


@command("review", "review a change: the diff with its callers, tests and callees (or the model's review)",
         _review_arguments)
def run_review(args: argparse.Namespace) -> int:
    """Print the review prompt of a change (``--json``: with what went into it), or stream the model's review."""
    diff = None
    if args.diff is not None:
        with open_input(args.diff, "--diff") as handle:
            diff = handle.read()
    with open_engine(args) as engine:
        result = review(engine, args.rev, diff, budget=args.budget)
    if args.ask:
        return asyncio.run(print_stream(lambda client: client.chat_stream(result.messages),
                                        "answered the review with nothing"))
    if args.json:
        print_json(result.to_dict())
    else:
        sys.stdout.write(result.prompt)
    return EXIT_OK
