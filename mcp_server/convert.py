"""Conversions between the engine's results and the MCP tools' typed results.

The engine counts lines and columns from 0; the tools' results and arguments count them from 1, as editors,
diffs and `read_code` do. This module is the one place where the two meet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from context.agent import lookup
from context.index.symbols import Definition, Reference
from mcp_server.paging import fit_lines
from mcp_server.schemas import ContextSection, DefinitionWithCode, OutlineItem, ReferenceHit, Symbol

if TYPE_CHECKING:
    from context.engine import Engine, OutlineNode
    from context.prompt.result import Section

def symbol(definition: Definition) -> Symbol:
    """A definition as a tool result."""
    return Symbol(
        name=definition.name,
        kind=definition.kind,
        qualname=definition.qualname,
        path=definition.path,
        line=definition.line + 1,
        end_line=definition.end_line + 1,
        column=definition.column + 1,
        signature=definition.signature,
        doc=definition.doc,
    )


def outline_item(node: OutlineNode) -> OutlineItem:
    """An outline node and the nodes nested in it."""
    definition = node.definition
    return OutlineItem(
        name=definition.name,
        kind=definition.kind,
        line=definition.line + 1,
        end_line=definition.end_line + 1,
        signature=definition.signature,
        children=[outline_item(child) for child in node.children],
    )


def sections(parts: Sequence[Section]) -> list[ContextSection]:
    """What a prompt holds, section by section."""
    return [
        ContextSection(path=section.path, kind=section.kind, tokens=section.tokens, reason=section.reason)
        for section in parts
    ]


def with_code(engine: Engine, definition: Definition, budget: int) -> DefinitionWithCode:
    """A definition with as much of its code as fits ``budget`` tokens."""
    lines = lookup.definition_lines(engine, definition)
    shown = fit_lines(lines, budget)
    return DefinitionWithCode(
        **symbol(definition).model_dump(), code="\n".join(lines[:shown]), code_truncated=shown < len(lines)
    )


def hits(engine: Engine, references: Sequence[Reference]) -> list[ReferenceHit]:
    """References with their source lines (each file read once)."""
    return [
        ReferenceHit(
            path=reference.path,
            line=reference.line + 1,
            column=reference.column + 1,
            kind=reference.kind,
            source=source,
        )
        for reference, source in lookup.reference_sources(engine, references)
    ]
