"""The symbol model: what parsing produces and what the index stores and answers with.

Positions are 0-based lines and 0-based columns counted in characters (Unicode code points); the CLI and the
servers convert to 1-based lines or LSP UTF-16 columns at their edges. Paths are POSIX paths relative to
the workspace root.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

#: The kinds a definition can have, shared by every language.
DEFINITION_KINDS = (
    "function",
    "method",
    "class",
    "struct",
    "interface",
    "trait",
    "enum",
    "type",
    "constant",
    "module",
    "field",
)

#: The kinds a reference can have.
REFERENCE_KINDS = ("call", "type", "attribute", "name")


@dataclass(frozen=True, slots=True)
class Definition:
    """A named definition in a file.

    ``line``/``end_line`` are 0-based and inclusive; ``column`` is the 0-based character column of the name.
    ``signature`` is the header up to the body (decorators included where the language has them), ``doc`` the
    first line of its doc comment or docstring (empty when there is none). ``parent`` is the qualified name of
    the enclosing definition, or empty at top level.
    """

    name: str
    kind: str
    qualname: str
    path: str
    line: int
    column: int
    end_line: int
    signature: str
    doc: str = ""
    parent: str = ""


class Reference(NamedTuple):
    """A use of a name: a call, a type use, an attribute or method use.

    A named tuple rather than a frozen dataclass, unlike its siblings: a repository has ten times more
    references than definitions, and a named tuple is built in half the time, which the cold index feels.
    """

    name: str
    kind: str
    path: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Import:
    """An import statement: ``module`` as written, the ``names`` it brings in, and the file it resolves to."""

    module: str
    names: tuple[str, ...]
    path: str
    line: int
    resolved: str | None = None


@dataclass(slots=True)
class ParsedFile:
    """Everything parsing extracts from one file; the unit the index stores."""

    path: str
    language: str
    definitions: list[Definition] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    #: Package or namespace the file declares (Go ``package``, Java/Kotlin ``package``, C# ``namespace``).
    package: str = ""
    has_errors: bool = False
