"""Indexing commands: index, search, outline, stats."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from context.cli.base import (
    EXIT_FAILURE,
    EXIT_OK,
    PROG,
    add_json_argument,
    add_repo_argument,
    command,
    definition_json,
    open_engine,
    print_json,
    progress_bar,
    repo_relative,
)
from context.engine import IndexReport, OutlineNode, iter_outline
from context.errors import UsageError


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
