"""What the cursor can reach: the members of the types around it, found without a type checker.

A completion after ``self.io.`` needs the members of ``self.io``'s type, which the buffer seldom names. Cheap
inference finds that type where the buffer says it:

- annotations and declared types: ``io: InputOutput``, ``x: &mut Parser``, ``Parser p = ...``, Go's
  ``func (c *Context)`` and ``var c Context``;
- constructors: ``self.io = InputOutput(...)``, ``x := &Foo{``, ``Foo::new(``, ``new Foo(``, ``Foo.new``;
- the name itself: ``request`` is most likely a ``Request``, ``sourceCode`` a ``SourceCode``, ``segment`` a
  ``CodePathSegment`` of an imported file;
- a receiver that is a type or module (``Utils.escape``, ``Rack::Multipart.``) and ``self``/``this``/``@x``
  (the enclosing type, its members in other files and its bases);
- a receiver that names an imported module (``_utils.`` after ``from ._internal import _utils``, ``utils.``
  after ``import * as utils from './utils'``, Rust's ``io::``): its top-level definitions.

`reachable` returns those members, nearest first: the receiver's type at the cursor, then the enclosing type's
bases, then the types of the buffer's variables by their proximity to the cursor. The caller ranks them as one
candidate source (``reach`` in `context.weights.SOURCE_WEIGHTS`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence

from context.index.symbols import Definition
from context.index.view import IndexView, definitions_of
from context.prompt.memo import PromptCaches
from context.prompt.rank import subwords
from context.weights import (
    REACH_BASE_DEPTH,
    REACH_NAME_SUFFIX_MIN,
    REACH_NEAR_WEIGHT,
    REACH_SCOPE_LINES,
    REACH_TYPES_PER_NAME,
    REACH_VARIABLES,
    TYPE_KINDS,
)

#: The identifier chain right before the cursor, ending in a member operator (``self.io.``, ``Rack::Utils.``).
_RECEIVER = re.compile(r"((?:[@$]?[A-Za-z_][\w$]*(?:\(\))?\s*(?:\?\.|\.|::|->)\s*)+)$")
_NAME = re.compile(r"[@$]?[A-Za-z_][\w$]*")
#: The binding patterns, with ``{names}`` the alternation of the variables asked about (a scan for a few
#: names is an order of magnitude cheaper than collecting every binding of a long buffer):
#: ``name: Type`` (Python, TypeScript, Rust, Kotlin annotations; parameters and fields alike) ...
_ANNOTATION = r"(?<![\w$@])[@$]?({names})\s*\??:\s*(?:&\s*)?(?:mut\s+)?(?:\*\s*)?([A-Z]\w*)"
#: ... ``name = Type(``, ``name := &Type{``, ``name = Type::new(``, ``@name = Type.new``, ``name = new Type(`` ...
_CONSTRUCTED = r"(?<![\w$@])[@$]?({names})\s*:?=\s*(?:new\s+|&\s*)?([A-Z]\w*)\s*(?:\(|\{{|::|\.new\b|<)"
#: ... ``Type name =``/``Type name;``/``(Type name,`` (Java, C#, C, C++ declarations) ...
_DECLARED = r"\b([A-Z]\w*)(?:<[^<>\n]*>)?(?:\s*[*&])?\s+({names})\s*(?=[=;,)])"
#: ... Go: ``(c *Context``, ``, c Context``, ``var c Context`` (a type may be lower case in Go).
_GO_DECLARED = r"(?:[(,]|\bvar)\s*({names})\s+\*?(?:\w+\.)?([A-Za-z_]\w*)"
#: Languages whose declarations put the type first, and whose declarations are Go's.
_TYPE_FIRST = frozenset({"java", "csharp", "c", "cpp", "kotlin"})
#: Receivers that mean the enclosing type.
_SELF = frozenset({"self", "this", "Self", "super", "@"})
#: Kinds whose members a receiver reaches: types, and modules used as namespaces (Ruby ``Utils.escape``).
_CONTAINER_KINDS = TYPE_KINDS | {"module"}
#: File names that stand for their folder (a package's own file): the folder's name is the module's.
_PACKAGE_FILES = frozenset({"__init__", "index", "mod", "lib"})
#: Members listed first: what a receiver is mostly used for.
_CALLABLE_KINDS = frozenset({"method", "function"})


def cursor_receiver(prefix: str) -> tuple[str, ...]:
    """The identifier chain the text before the cursor ends with: ``x = self.io.`` -> ``("self", "io")``;
    ``@app.`` -> ``("@app",)``; empty when the cursor follows no member operator."""
    found = _RECEIVER.search(prefix)
    return tuple(_NAME.findall(found.group(1))) if found else ()


def _plain(name: str) -> str:
    return name.lstrip("@$").replace("_", "").lower()


def type_bindings(text: str, language: str | None, names: Iterable[str]) -> dict[str, list[str]]:
    """Variable (or field) name -> the type names the buffer gives it, in the order written, for ``names``
    (``@x`` and ``x`` alike)."""
    wanted = sorted({name.lstrip("@$") for name in names if name.lstrip("@$")}, key=lambda n: (-len(n), n))
    if not wanted:
        return {}
    alternation = "|".join(map(re.escape, wanted))
    bindings: dict[str, list[str]] = {}
    patterns = [(_ANNOTATION, 1, 2), (_CONSTRUCTED, 1, 2)]
    if language in _TYPE_FIRST:
        patterns.append((_DECLARED, 2, 1))
    if language == "go":
        patterns.append((_GO_DECLARED, 1, 2))
    for pattern, name_group, type_group in patterns:
        for match in re.finditer(pattern.format(names=alternation), text):
            found = bindings.setdefault(match.group(name_group), [])
            if match.group(type_group) not in found:
                found.append(match.group(type_group))
    return bindings


class Reach:
    """Resolves type names and lists members for one prompt (memoised within it)."""

    def __init__(
        self, view: IndexView, caches: PromptCaches, path: str, near_files: Iterable[str]
    ) -> None:
        self.view = view
        self.caches = caches
        self.path = path
        self.folder = posixpath.dirname(path)
        self.language = view.language(path)
        self.near = set(near_files)
        self._types: dict[str, list[Definition]] = {}

    def types_named(self, name: str) -> list[Definition]:
        """The type (or namespace module) definitions called ``name``, nearest first: in a file the current
        one imports or in its folder, then elsewhere."""
        found = self._types.get(name)
        if found is None:
            namesakes = [
                d for d in self.view.definitions_named(name) if d.name == name and d.kind in _CONTAINER_KINDS
            ]
            namesakes.sort(
                key=lambda d: (
                    d.path not in self.near,
                    posixpath.dirname(d.path) != self.folder,
                    d.qualname.count("."),  # ``Rack.Request`` before ``Rack.Auth.Basic.Request``
                    d.path,
                    d.line,
                )
            )
            found = self._types[name] = namesakes[:REACH_TYPES_PER_NAME]
        return found

    def types_of_variable(
        self, name: str, bindings: Mapping[str, list[str]], named: Iterable[str] | None = None
    ) -> list[Definition]:
        """The types a variable most likely has: as the buffer binds it, else by its name (``request`` ->
        ``Request``), else as the end of a type's name among ``named`` (the buffer's capitalised names) or
        the types of the files near the cursor (``segment`` -> ``CodePathSegment``); this last search, the
        costly one, only when ``named`` is given."""
        plain = name.lstrip("@$")
        for type_name in bindings.get(plain, ()):
            found = self.types_named(type_name)
            if found:
                return found
        wanted = _plain(plain)
        if not wanted:
            return []
        exact = self.types_named(_camel(plain))
        if exact or named is None or len(wanted) < REACH_NAME_SUFFIX_MIN:
            return exact
        for type_name in named:
            if _plain(type_name).endswith(wanted) and (found := self.types_named(type_name)):
                return found
        return [
            d
            for file in sorted(self.near)
            for d in self.caches.facts(self.view, file).top_level
            if d.kind in TYPE_KINDS and _plain(d.name).endswith(wanted)
        ][:REACH_TYPES_PER_NAME]

    def module_members(self, name: str, weights: Mapping[str, float], cursor_text: str) -> list[Definition]:
        """The top-level definitions of the module ``name`` stands for (`module_files`): names the buffer uses
        first, the nearest to the cursor first; then names sharing words with the cursor's line
        (``currency = pricing.`` -> ``DEFAULT_CURRENCY``); then each file's definitions in turn, in source
        order."""
        near_words = set(subwords(cursor_text)) - set(subwords(name))  # every ``pricing_*`` shares ``pricing.``
        found = [
            (-weights.get(d.name, 0.0), -len(near_words.intersection(subwords(d.name))), position, order, d)
            for order, file in enumerate(self.module_files(name))
            for position, d in enumerate(self.caches.facts(self.view, file).top_level)
        ]
        return [entry[4] for entry in sorted(found, key=lambda entry: entry[:4])]

    def module_files(self, name: str) -> list[str]:
        """The files the module name ``name`` stands for: ``name.*``, or a folder ``name``'s own file
        (``__init__``, ``index``, ``mod``, ``lib``). Those the current file imports count, else those near the
        cursor (``./schemas.js`` before ``../core/schemas.ts``); ``from pkg import a, name`` resolves to ``a``'s
        file only, so ``name``'s is looked for beside it."""
        imported: list[str] = []
        for imp in self.view.imports(self.path):
            resolved = imp.resolved
            if resolved is None:
                continue
            module = _module_name(resolved, self.view.language(resolved))
            if module == name:
                imported.append(resolved)
            elif module in imp.names and name in imp.names:
                folder, extension = posixpath.dirname(resolved), posixpath.splitext(resolved)[1]
                beside = (
                    posixpath.join(folder, name + extension),
                    posixpath.join(folder, name, "__init__" + extension),
                )
                imported.extend(file for file in beside if definitions_of(self.view, file))
        if imported:
            return list(dict.fromkeys(imported))
        return [file for file in sorted(self.near) if _module_name(file, self.view.language(file)) == name]

    def members(self, definition: Definition, depth: int = REACH_BASE_DEPTH) -> list[Definition]:
        """The members of a type: its own (in its file; in Go and Rust also those of its folder and of the files
        near the cursor, where methods live apart from the type), those where it is reopened, those of the
        containers nested in it (Ruby's ``module Helpers`` inside ``class Request``), then its bases', ``depth``
        levels up."""
        facts = self.caches.facts(self.view, definition.path)
        own = _callables_first(facts.members.get(definition.qualname, ()))
        nested = [d for d in own if d.kind in _CONTAINER_KINDS]
        own.extend(self.reopened_members(definition))
        for container in nested:
            own.extend(_callables_first(facts.members.get(container.qualname, ())))
        if self.view.language(definition.path) in ("go", "rust"):
            folder = posixpath.dirname(definition.path)
            files = {f for f in self.near if posixpath.dirname(f) == folder} | {self.path}
            for file in sorted(files - {definition.path}):
                own.extend(self.caches.facts(self.view, file).members.get(definition.name, ()))
        if depth <= 0:
            return own
        for base in self.bases(definition):
            own.extend(self.members(base, depth - 1))
        return own

    def reopened_members(self, definition: Definition) -> list[Definition]:
        """The members a type gets where it is reopened in other files (Ruby's ``class Adapter`` in every
        adapter file, C#'s partial classes), the file with the most methods first (its main definition).
        Elsewhere a qualified name says nothing of the file (Python's ``Config`` in two modules are two types)."""
        language = self.view.language(definition.path)
        if language != "ruby" and not (language == "csharp" and "partial" in definition.signature):
            return []
        groups = [
            _callables_first(self.caches.facts(self.view, other.path).members.get(other.qualname, ()))
            for other in self.view.definitions_named(definition.name)
            if other.qualname == definition.qualname and other.path != definition.path and other.kind in TYPE_KINDS
        ]
        groups.sort(key=lambda group: -sum(d.kind in _CALLABLE_KINDS for d in group))
        return [member for group in groups for member in group]

    def bases(self, definition: Definition) -> list[Definition]:
        """The repository types a type's header names after its own name (bases, interfaces, traits)."""
        header = definition.signature.split(definition.name, 1)[-1]
        names = dict.fromkeys(n for n in re.findall(r"[A-Z]\w*", header) if n != definition.name)
        return [base for name in names for base in self.types_named(name)[:1] if base is not definition]

    def scope(self, cursor_line: int) -> tuple[int, int]:
        """The lines (first, past the last) of the outermost definition around the cursor, or of the
        `REACH_SCOPE_LINES` around it when it is at top level."""
        for d in self.caches.facts(self.view, self.path).top_level:
            if d.line <= cursor_line <= d.end_line:
                return d.line, d.end_line + 1
        return max(cursor_line - REACH_SCOPE_LINES, 0), cursor_line + REACH_SCOPE_LINES

    def enclosing_type(self, cursor_line: int) -> Definition | None:
        """The type around the cursor: the innermost enclosing type, or the type of the method around it."""
        inner: Definition | None = None
        for d in definitions_of(self.view, self.path):
            inside = d.line <= cursor_line <= d.end_line and (d.kind in TYPE_KINDS or bool(d.parent))
            if inside and (inner is None or d.line >= inner.line):
                inner = d
        if inner is None or inner.kind in TYPE_KINDS:
            return inner
        by_qualname = self.caches.facts(self.view, self.path).by_qualname
        owner = by_qualname.get(inner.parent)
        if owner is not None and owner.kind in TYPE_KINDS:
            return owner
        found = self.types_named(inner.parent.rpartition(".")[2])
        return found[0] if found else None

    def receiver_types(
        self, receiver: Sequence[str], bindings: Mapping[str, list[str]], cursor_line: int, named: Iterable[str]
    ) -> list[Definition]:
        """The types of the receiver chain at the cursor (``self.io`` -> ``InputOutput``)."""
        last = receiver[-1]
        if last.lstrip("@$") in _SELF or last == "@":
            enclosing = self.enclosing_type(cursor_line)
            return [enclosing] if enclosing is not None else []
        if last[:1].isupper():
            return self.types_named(last)
        return self.types_of_variable(last, bindings, named)


def _module_name(path: str, language: str | None) -> str | None:
    """The name code uses for the module of ``path``: ``pkg/_utils.py`` -> ``_utils``, ``pkg/utils/index.ts``
    -> ``utils``. None for Go: a package is a folder of many files whose definitions would crowd a small
    budget, and what a Go buffer uses from one is found through its imports already."""
    if language == "go":
        return None
    folder, file = posixpath.split(path)
    stem = file.split(".", 1)[0]
    return posixpath.basename(folder) if stem in _PACKAGE_FILES else stem


def _callables_first(members: Iterable[Definition]) -> list[Definition]:
    """``members`` with methods and functions first, each kind in source order."""
    return sorted(members, key=lambda d: (d.kind not in _CALLABLE_KINDS, d.line))


def _camel(name: str) -> str:
    """``query_parser`` -> ``QueryParser``; ``sourceCode`` -> ``SourceCode``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def reachable(
    view: IndexView,
    caches: PromptCaches,
    path: str,
    lines: Sequence[str],
    cursor_line: int,
    receiver: Sequence[str],
    weights: Mapping[str, float],
    near_files: Iterable[str],
    cursor_text: str = "",
) -> tuple[list[Definition], list[Definition]]:
    """Members the cursor can reach (see the module docstring), as two lists without duplicates or the current
    file's own: those of the receiver's type at the cursor, and the rest nearest first. ``lines`` is the
    buffer without the cursor's line, ``cursor_text`` that line; types are looked for in the outermost
    definition around the cursor (where ``self.x`` is assigned and parameters are declared), else in the
    lines near it."""
    reach = Reach(view, caches, path, near_files)
    first, last = reach.scope(cursor_line)
    text = "\n".join(lines[first:last])
    near = sorted((n for n in weights if weights[n] >= REACH_NEAR_WEIGHT and n[:1].islower()), key=lambda n: (-weights[n], n))
    variables = near[:REACH_VARIABLES]
    bindings = type_bindings(text, reach.language, [*variables, *receiver[-1:]])
    at_receiver: list[list[Definition]] = []
    around: list[list[Definition]] = []
    if receiver:
        named = sorted((n for n in weights if n[:1].isupper()), key=lambda n: (-weights[n], n))
        for found in reach.receiver_types(receiver, bindings, cursor_line, named):
            at_receiver.append(reach.members(found))
        if not at_receiver and receiver[-1].isidentifier():
            at_receiver.append(reach.module_members(receiver[-1], weights, cursor_text))
    if not receiver or receiver[-1].lstrip("@$") in _SELF:
        enclosing = reach.enclosing_type(cursor_line)
        if enclosing is not None:
            around.append(reach.members(enclosing))
    for name in variables:
        for found in reach.types_of_variable(name, bindings):
            around.append(reach.members(found, depth=0))
    seen: set[int] = set()
    return _unique(at_receiver, path, seen), _unique(around, path, seen)


def _unique(groups: Iterable[Iterable[Definition]], path: str, seen: set[int]) -> list[Definition]:
    """The definitions of ``groups`` in order, each once (``seen`` holds those already listed), none of
    ``path``."""
    out: list[Definition] = []
    for group in groups:
        for member in group:
            if id(member) not in seen and member.path != path:
                seen.add(id(member))
                out.append(member)
    return out


__all__ = ["Reach", "cursor_receiver", "reachable", "type_bindings"]
