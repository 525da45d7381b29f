"""What the engine hands back besides symbols: reports of index runs, index statistics, nested outlines."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from context.index.symbols import Definition


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


__all__ = ["IndexReport", "IndexStats", "OutlineNode", "iter_outline", "outline"]
