"""Which definitions a change touched, found by parsing each changed file before and after it.

A definition counts as changed when a changed line falls in it and in none of its nested definitions (the
innermost one holding the line), on either side: a line added in the new text, a line removed from the old
one. A definition of the old text whose qualified name the new text no longer has was removed or renamed: it
counts as changed too, under its old name, since the callers that still use that name are what breaks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from unidiff.patch import PatchedFile

from context.index.languages import language_for
from context.index.parse import parse_source
from context.index.symbols import Definition
from context.review.source import Change

#: Definition kinds whose uses are worth following (a local field's uses are the definition's own business).
FOLLOWED_KINDS = frozenset({"function", "method", "class", "struct", "interface", "trait", "enum", "type",
                            "constant", "module"})


@dataclass(frozen=True)
class ChangedFile:
    """One file of a change: where it is, its changed lines, and the definitions the change touched."""

    path: str
    old_path: str
    #: The definitions of the new text the change touched (changed or added), in source order.
    changed: tuple[Definition, ...]
    #: The definitions of the old text that the new text no longer has (removed or renamed).
    removed: tuple[Definition, ...]
    #: 0-based lines of the new text that the change added.
    added_lines: frozenset[int]
    deleted_file: bool = False

    @property
    def symbols(self) -> list[str]:
        """The names of every changed, added, removed or renamed definition, sorted."""
        return sorted({d.name for d in (*self.changed, *self.removed)})


def _definitions(path: str, text: str) -> list[Definition]:
    language = language_for(path)
    if language is None or not text:
        return []
    return parse_source(path, text.encode("utf-8", "surrogatepass"), language).definitions


def _innermost(definitions: list[Definition], lines: Iterable[int]) -> list[Definition]:
    """The innermost definition holding each line (lines outside every definition hold none)."""
    touched: dict[tuple[str, int], Definition] = {}
    for line in lines:
        holding = [d for d in definitions if d.line <= line <= d.end_line]
        if holding:
            best = min(holding, key=lambda d: (d.end_line - d.line, -d.line))
            touched[(best.qualname, best.line)] = best
    return sorted(touched.values(), key=lambda d: (d.line, d.column))


def changed_file(change: Change, patched: PatchedFile) -> ChangedFile:
    """The definitions ``patched`` (one file of ``change``'s diff) touched, on both sides."""
    path = patched.target_file[2:] if patched.target_file.startswith("b/") else patched.path
    old_path = patched.source_file[2:] if patched.source_file.startswith("a/") else patched.path
    if patched.is_removed_file:
        path = old_path
    added = frozenset(line.target_line_no - 1 for hunk in patched for line in hunk
                      if line.is_added and line.target_line_no)
    removed_lines = [line.source_line_no - 1 for hunk in patched for line in hunk
                     if line.is_removed and line.source_line_no]
    old = [] if patched.is_added_file else _definitions(old_path, change.before(old_path))
    new = [] if patched.is_removed_file else _definitions(path, change.after(path))
    old = [d for d in old if d.kind in FOLLOWED_KINDS]
    new = [d for d in new if d.kind in FOLLOWED_KINDS]
    new_names = {d.qualname for d in new}
    touched_before = {d.qualname for d in _innermost(old, removed_lines)}
    changed = {(d.qualname, d.line): d for d in _innermost(new, added)}
    changed.update({(d.qualname, d.line): d for d in new if d.qualname in touched_before})
    gone = tuple(d for d in old if d.qualname not in new_names)
    return ChangedFile(path, old_path, tuple(sorted(changed.values(), key=lambda d: (d.line, d.column))), gone,
                       added, patched.is_removed_file)


def changed_files(change: Change) -> list[ChangedFile]:
    """Every file of ``change``, with the definitions it touched."""
    return [changed_file(change, patched) for patched in change.patch]


__all__ = ["FOLLOWED_KINDS", "ChangedFile", "changed_file", "changed_files"]
