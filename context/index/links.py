"""Links between the files of a snapshot: imports resolved to files, and the weighted file graph built on them.

Both are derived data, computed on first use and patched as files change: a changed file forgets its own
resolved imports and, when it appeared, disappeared or changed package, those of the files that might import it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from pathlib import Path

from context.index.files import FileRefused
from context.index.files import read_text as read_file_text
from context.index.graph import FileGraph
from context.index.resolve import FileFacts, Resolver, TsConfig, go_module_path, ts_config
from context.index.scan import ScanConfig
from context.index.snapshot import FileSymbols, Snapshot


class Links:
    """Resolved imports and the file graph of the snapshot ``snapshot()`` returns, for the repository at ``root``.

    Not thread-safe on its own: the engine calls it under its lock.
    """

    def __init__(self, root: Path, snapshot: Callable[[], Snapshot]) -> None:
        self._root = root
        self._snapshot = snapshot
        self._resolver: Resolver | None = None
        self._resolved: dict[str, list[list[str]]] = {}
        self._graph: FileGraph | None = None

    def reset(self) -> None:
        """Forget everything (the snapshot was replaced, or a build file changed how imports resolve)."""
        self._resolver = None
        self._resolved.clear()
        self._graph = None

    def graph(self) -> FileGraph:
        """The file graph, built on first use."""
        if self._graph is None:
            self._graph = FileGraph(self._snapshot(), self.resolve_imports)
        return self._graph

    def resolve_imports(self, path: str) -> list[list[str]]:
        """For each import of ``path``, the files it brings in."""
        found = self._resolved.get(path)
        if found is None:
            entry = self._snapshot().files.get(path)
            if entry is None:
                return []
            resolver = self._get_resolver()
            found = [resolver.resolve(imp, entry.language) for imp in entry.imports]
            self._resolved[path] = found
        return found

    def changed(self, path: str, old: FileSymbols | None, new: FileSymbols | None) -> None:
        """Patch after ``path``'s entry went from ``old`` to ``new`` (None: absent) in the snapshot."""
        self._resolved.pop(path, None)
        stale = {path}
        if old is None or new is None or old.package != new.package:
            # created, deleted or moved to another package: imports elsewhere may resolve differently
            self._resolver = None
            stale |= self._importers(path)
            for importer in stale:
                self._resolved.pop(importer, None)
        if self._graph is not None:
            old_names = {name for name, _ in old.names()} if old else set()
            new_names = {name for name, _ in new.names()} if new else set()
            self._graph.invalidate(stale, old_names ^ new_names)

    def _importers(self, path: str) -> set[str]:
        """Files whose imports resolve, or might now resolve, to ``path``: those resolved to it, and those
        whose import names its stem or folder (cheap to over-approximate: only their edges get recomputed)."""
        found = {p for p, targets in self._resolved.items() if any(path in t for t in targets)}
        folder, base = posixpath.split(path)
        hints = {base.split(".", 1)[0], posixpath.basename(folder)} - {""}
        for p, entry in self._snapshot().files.items():
            for imp in entry.imports:
                if any(hint in imp.module or hint in imp.names for hint in hints):
                    found.add(p)
                    break
        return found

    def _get_resolver(self) -> Resolver:
        if self._resolver is None:
            files = self._snapshot().files
            facts = [FileFacts(p, e.language, e.package) for p, e in files.items()]
            go_modules: dict[str, str] = {}
            for folder, text in self._project_files(files, ("go",), ("go.mod",)):
                module = go_module_path(text)
                if module:
                    go_modules[folder] = module
            configs: dict[str, TsConfig] = {}
            for folder, text in self._project_files(files, ("javascript", "typescript", "tsx"),
                                                    ("tsconfig.json", "jsconfig.json")):
                config = ts_config(text)
                if config is not None:
                    configs.setdefault(folder, config)
            self._resolver = Resolver(facts, go_modules, configs)
        return self._resolver

    def _project_files(self, files: dict[str, FileSymbols], languages: tuple[str, ...],
                       names: tuple[str, ...]) -> Iterator[tuple[str, str]]:
        """(folder, text) of the build files called ``names`` in the folders holding files of ``languages`` or
        above them (``go.mod``, ``tsconfig.json``: not indexed themselves; read only to resolve imports)."""
        folders = {posixpath.dirname(p) for p, e in files.items() if e.language in languages}
        candidates: set[str] = set()
        for folder in folders:
            while folder not in candidates:
                candidates.add(folder)
                if not folder:
                    break
                folder = posixpath.dirname(folder)
        for folder in sorted(candidates):
            for name in names:
                try:
                    text = read_file_text(self._root, posixpath.join(folder, name), ScanConfig.max_file_bytes)
                except FileRefused:
                    continue
                yield folder, text


__all__ = ["Links"]
