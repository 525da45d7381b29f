"""What the engine hands back besides symbols: reports of index runs, index statistics, nested outlines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from context.index.symbols import Definition


@dataclass(frozen=True)
class IgnoredBy:
    """What one ignore rule left out of a scan: the ignore file holding it (relative to the root, e.g.
    ``.gitignore`` or ``.git/info/exclude``), the rule as written, and the files and folders it matched (a folder
    is not entered, so the files inside it are not counted)."""

    file: str
    rule: str
    files: int
    folders: int

    def to_json(self) -> dict[str, str | int]:
        """The plain-data form (for ``--json``, the index's meta table and the MCP status)."""
        return {"file": self.file, "rule": self.rule, "files": self.files, "folders": self.folders}


def ignored_to_json(ignored: Iterable[IgnoredBy]) -> str:
    """What ignore rules left out, as JSON text (kept in the index's meta table)."""
    return json.dumps([by.to_json() for by in ignored])


def ignored_from_json(text: str) -> tuple[IgnoredBy, ...]:
    """Read back `ignored_to_json`'s text; an unreadable one (a damaged meta table) reads as nothing ignored."""
    try:
        return tuple(IgnoredBy(str(item["file"]), str(item["rule"]), int(item["files"]), int(item["folders"]))
                     for item in json.loads(text))
    except (ValueError, TypeError, KeyError):
        return ()


def _counted(files: int, folders: int) -> str:
    """``"3 files and 29 folders"``, leaving out a zero count."""
    parts = [f"{n:,} {word}{'' if n == 1 else 's'}" for n, word in ((files, "file"), (folders, "folder")) if n]
    return " and ".join(parts) or "nothing"


#: Rules named one by one in `describe_ignored`; the rest are summed up.
_RULES_SHOWN = 3


def describe_ignored(ignored: Sequence[IgnoredBy]) -> str:
    """One sentence saying what ignore rules left out, most first, e.g. "ignore rules left out 3 files and 29
    folders: `/*` in .gitignore (3 files and 29 folders)" ("" when nothing was ignored)."""
    if not ignored:
        return ""
    total = _counted(sum(by.files for by in ignored), sum(by.folders for by in ignored))
    shown = [f"`{by.rule}` in {by.file} ({_counted(by.files, by.folders)})" for by in ignored[:_RULES_SHOWN]]
    if len(ignored) > _RULES_SHOWN:
        shown.append(f"{len(ignored) - _RULES_SHOWN} more rules")
    return f"ignore rules left out {total}: {'; '.join(shown)}"


@dataclass(frozen=True)
class IndexReport:
    """What an `Engine.index` or `Engine.update` call did."""

    #: Files in the index afterwards, and definitions in them.
    files: int
    symbols: int
    seconds: float
    #: Files the scan skipped, by reason (empty for `Engine.update`).
    skipped: dict[str, int]
    #: Files read and parsed (0 when nothing changed), and files dropped from the index.
    parsed: int
    removed: int
    #: What ignore rules left out of the scan, most first (empty for `Engine.update`).
    ignored: tuple[IgnoredBy, ...] = ()

    @property
    def ignored_summary(self) -> str:
        """`describe_ignored` of what ignore rules left out ("" when nothing)."""
        return describe_ignored(self.ignored)


@dataclass(frozen=True)
class IndexStats:
    """The index at a glance (``qwen-context stats``)."""

    languages: dict[str, int]
    files: int
    symbols: int
    references: int
    skipped: dict[str, int]
    index_bytes: int
    #: Unix time of the last full index (0.0 when never indexed).
    last_indexed: float
    index_path: str = ""
    #: What ignore rules left out of the last full scan, most first.
    ignored: tuple[IgnoredBy, ...] = ()

    @property
    def ignored_summary(self) -> str:
        """`describe_ignored` of what ignore rules left out ("" when nothing)."""
        return describe_ignored(self.ignored)


@dataclass(frozen=True)
class OutlineNode:
    """A definition of a file with the definitions nested inside it."""

    definition: Definition
    children: list[OutlineNode] = field(default_factory=list)


def outline(definitions: Iterable[Definition]) -> list[OutlineNode]:
    """Definitions (in source order) nested by containment: methods inside their class, ..."""
    nodes: list[OutlineNode] = []
    by_qualname: dict[str, OutlineNode] = {}
    for d in definitions:
        node = OutlineNode(d)
        parent = by_qualname.get(d.parent) if d.parent else None
        (parent.children if parent is not None else nodes).append(node)
        by_qualname[d.qualname] = node
    return nodes


def iter_outline(nodes: Iterable[OutlineNode], depth: int = 0) -> Iterator[tuple[int, Definition]]:
    """Walk an outline depth-first, yielding ``(depth, definition)``."""
    for node in nodes:
        yield depth, node.definition
        yield from iter_outline(node.children, depth + 1)


__all__ = ["IgnoredBy", "IndexReport", "IndexStats", "OutlineNode", "describe_ignored", "ignored_from_json", "ignored_to_json", "iter_outline", "outline"]
