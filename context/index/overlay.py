"""Unsaved editor buffers in the index: the symbols of a buffer, parsed in this process, never stored."""

from __future__ import annotations

from context.index.languages import language_for
from context.index.parse import parse_source
from context.index.pool import mask_definitions
from context.index.snapshot import FileSymbols
from context.index.store import content_hash


def overlay_entry(path: str, text: str, disk: FileSymbols | None) -> FileSymbols | None:
    """The symbols of an unsaved buffer (None for a language no parser handles); the disk's entry ``disk`` when
    the buffer holds the same bytes (an editor opening a file sends its whole text: parsing it again would only
    repeat the index's work)."""
    language = language_for(path)
    if language is None:
        return None
    data = text.encode("utf-8", "surrogatepass")
    if disk is not None and disk.hash == content_hash(data):
        return disk
    parsed = mask_definitions(parse_source(path, data, language))
    return FileSymbols(path, language, content_hash(data), parsed.package, definitions=parsed.definitions,
                       imports=parsed.imports,
                       references=[(r.name, r.kind, r.line, r.column) for r in parsed.references])


__all__ = ["overlay_entry"]
