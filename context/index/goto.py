"""Go to definition: which of the definitions sharing a name the identifier under a cursor means."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence

from context.index.graph import language_family
from context.index.snapshot import is_test_path
from context.index.symbols import Definition
from context.weights import (
    KIND_IMPORTANCE,
    PLACE_IMPORTED,
    PLACE_OTHER_FAMILY,
    PLACE_SAME_FAMILY,
    PLACE_SAME_FILE,
    PLACE_SAME_FOLDER,
    UNKNOWN_KIND_IMPORTANCE,
)

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def identifier_at(source: str, column: int) -> tuple[str, int] | None:
    """The identifier of the line ``source`` touching ``column`` (a cursor just after it counts) and its start."""
    for match in _IDENTIFIER.finditer(source):
        if match.start() <= column <= match.end():
            return match.group(), match.start()
    return None


def best_definition(candidates: Sequence[Definition], path: str, language: str, *, attribute: bool,
                    imported: set[str], language_of: Callable[[str], str]) -> Definition:
    """The candidate an identifier in ``path`` (of ``language``) most likely names.

    Prefers, in order: the definition in the same file, one in a file ``path`` imports (``imported``), one in the
    same folder, one in the same language family; from source code, definitions outside tests (a test's fixture
    or helper often shares the name it tests); methods and fields after a dot (``attribute``); then by kind and
    path. ``language_of`` gives the language of a candidate's file.
    """
    folder = posixpath.dirname(path)
    family = language_family(language)
    from_source = not is_test_path(path)

    def rank(d: Definition) -> tuple[int, bool, int, int, str, int]:
        if d.path == path:
            place = PLACE_SAME_FILE
        elif d.path in imported:
            place = PLACE_IMPORTED
        elif language_family(language_of(d.path)) != family:
            place = PLACE_OTHER_FAMILY
        else:
            place = PLACE_SAME_FOLDER if posixpath.dirname(d.path) == folder else PLACE_SAME_FAMILY
        member = 0 if (d.kind in ("method", "field")) == attribute else 1
        return (place, from_source and is_test_path(d.path), member,
                KIND_IMPORTANCE.get(d.kind, UNKNOWN_KIND_IMPORTANCE), d.path, d.line)

    return min(candidates, key=rank)


__all__ = ["best_definition", "identifier_at"]
