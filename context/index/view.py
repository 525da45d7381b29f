"""`IndexView`: the narrow, read-only face of an index that prompt building and the repository map read.

`context.engine.Engine` satisfies it structurally. The prompt stage depends on this Protocol, never on the
engine, so the import graph has no circle (the engine imports the prompt stage, not the other way round) and a
prompt can be built and tested over anything that answers these questions.

Every path going in and out is relative POSIX; every text coming out is secret-masked; the unknown files raise
`context.errors.UnknownFile`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from context.errors import UnknownFile
from context.index.symbols import Definition, Import


class IndexView(Protocol):
    """What the prompt stage may ask of an index: files, texts, definitions and the links between files."""

    @property
    def root(self) -> Path:
        """The repository's folder (its name heads a FIM prompt)."""
        ...

    @property
    def version(self) -> int:
        """Bumps on every change of files or overlays: caches key on it."""
        ...

    def files(self) -> list[str]:
        """Every indexed (or overlaid) file, sorted."""
        ...

    def language(self, path: str) -> str | None:
        """The language of a file (None when unknown)."""
        ...

    def text(self, path: str) -> str:
        """The secret-masked text of a file: its unsaved buffer when it has one."""
        ...

    def definitions(self, path: str) -> list[Definition]:
        """The definitions of one file, in source order (the same objects while the file is unchanged)."""
        ...

    def definitions_named(self, name: str) -> list[Definition]:
        """Definitions whose name (or qualified name) is exactly ``name``."""
        ...

    def search(self, query: str, kind: str | None = None, limit: int = 20) -> list[Definition]:
        """Definitions by name, best first."""
        ...

    def imports(self, path: str) -> list[Import]:
        """The imports of one file, each with the file it brings in when that is known."""
        ...

    def dependencies(self, path: str) -> list[str]:
        """Files this file imports or references, strongest link first."""
        ...

    def dependents(self, path: str) -> list[str]:
        """Files that import or reference this file, strongest link first."""
        ...

    def file_graph(self) -> dict[str, dict[str, float]]:
        """Weighted edges file -> files it depends on (shared: do not modify)."""
        ...

    def reference_counts(self, path: str) -> dict[str, int]:
        """How often each name is used in one file."""
        ...


def definitions_of(view: IndexView, path: str) -> list[Definition]:
    """The definitions of ``path``; none for a file the index does not know (any more)."""
    try:
        return view.definitions(path)
    except UnknownFile:
        return []


__all__ = ["IndexView", "definitions_of"]
