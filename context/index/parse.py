"""Parse one source file with tree-sitter and extract its definitions, references, imports and package.

This is the only module (with `context.index.languages`) that touches tree-sitter or the grammar wheels, so a change
of the native API is confined here. What to extract is data, not code: each language has tag queries in
``context/queries/<name>-tags.scm`` using standard capture names, run once per file in a single query pass:

- ``@definition.<kind>`` on the whole definition and ``@name`` on its name (kinds of `symbols.DEFINITION_KINDS`);
  optional ``@body`` where the body is not the node's ``body`` field, ``@receiver`` for a definition declared
  outside its type or table (Go receivers, Lua ``M.f``) whose qualified name is ``Receiver.name``; a name
  qualified ``Type::name`` (C++ out-of-class definitions) is split the same way;
- ``@scope`` with ``@name``: a block that qualifies the definitions inside it without being one (Rust ``impl``);
- ``@reference.<kind>`` (call, type, attribute, name) on the name itself, the last identifier of the use
  (one capture per match: references are most of the matches, and each capture costs a node object);
- ``@import`` on the statement, ``@import.module`` on the module as written, ``@import.name`` on each name it
  brings in (string quotes are stripped); ``(#set! import.prefix "self::")`` prepends text to the module
  (Rust ``mod x;`` becomes ``self::x``, Ruby ``require_relative "x"`` becomes ``./x``);
- ``@package`` on the name of the declared package or namespace.

The Python code here only pairs captures, nests definitions by byte range into qualified names, and slices
signatures and doc comments out of the source bytes. Compiled queries are cached per process and parsers per
thread (a tree-sitter parser must not be used by two threads at once; the servers parse from worker threads).

Long on purpose: every tree-sitter call lives in this one module (the extraction, the shape checks of code
actions' edits), so a change of the tree-sitter API touches one file.
"""

from __future__ import annotations

import importlib
import importlib.resources
import itertools
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from tree_sitter import Language, Node, Parser, Query, QueryCursor

from context.errors import UsageError
from context.index.symbols import DEFINITION_KINDS, REFERENCE_KINDS, Definition, Import, ParsedFile, Reference

#: Language name -> (grammar module, function returning the grammar).
GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "php": ("tree_sitter_php", "language_php"),
    "kotlin": ("tree_sitter_kotlin", "language"),
    "bash": ("tree_sitter_bash", "language"),
    "lua": ("tree_sitter_lua", "language"),
}

#: Languages whose query is several files concatenated (JavaScript and TypeScript share their common patterns).
QUERY_FILES: dict[str, tuple[str, ...]] = {
    "javascript": ("ecmascript", "javascript", "jsx"),
    "typescript": ("ecmascript", "typescript"),
    "tsx": ("ecmascript", "typescript", "jsx"),
    "cpp": ("c", "cpp"),
}

#: Longest signature kept, in characters.
MAX_SIGNATURE = 300
#: Longest doc line kept, and how much of a comment or docstring is looked at to find it (a hostile file's
#: one-megabyte docstring costs no more than a short one, in parsing and in secret masking).
MAX_DOC = 300
MAX_DOC_SCAN = 4096

#: Definition kinds inside which a function is a method.
_METHOD_CONTAINERS = frozenset({"class", "struct", "interface", "trait", "enum", "scope"})

#: Definition kinds that never enclose other definitions (a C ``typedef struct {...} t`` holds the struct).
_LEAF_KINDS = frozenset({"type", "constant", "field"})

#: When patterns capture one node as several kinds, the specific kind wins (a Kotlin enum is also a class).
_GENERIC_KINDS = {"constant": 2, "type": 2, "class": 1}

#: Node types that wrap a definition and belong to its signature (decorators, ``export``, ``template <...>``).
_WRAPPERS = frozenset(
    {"decorated_definition", "export_statement", "template_declaration", "ambient_declaration"}
)

#: A C/C++ function is captured on its ``function_declarator``: the definition is the declaration holding it,
#: reached through these declarators (``char *(*f(void))(int)``); under anything else (a function-typed
#: parameter) it is no definition.
_DECLARATORS = frozenset(
    {"function_declarator", "pointer_declarator", "reference_declarator", "parenthesized_declarator"}
)
_DECLARATIONS = frozenset({"function_definition", "declaration", "field_declaration"})

#: Node types of comments, across the grammars.
_COMMENTS = frozenset({"comment", "line_comment", "block_comment", "multiline_comment"})

#: Nodes that may sit between a doc comment and its definition (Rust ``#[derive]``, Kotlin/Java annotations).
_BETWEEN_DOC_AND_DEFINITION = frozenset({"attribute_item", "annotation", "marker_annotation", "decorator"})

#: Reference kinds by precedence: when two patterns capture the same name, the first kind here wins.
_REFERENCE_RANK = {kind: rank for rank, kind in enumerate(("call", "type", "attribute", "name"))}

_COMMENT_MARKERS = ("///", "//!", "//", "/**", "/*!", "/*", "--[[", "---", "--", "#", "*")
_QUOTES = "\"'`"
#: C# XML documentation tags around the text of a doc comment.
_XML_DOC_TAG = re.compile(r"</?(?:summary|remarks|returns|value|para|example|c|code)\s*>")


#: What a query pattern extracts: (role, kind, detail, rank). Role is definition, reference, import, package or
#: scope ("" for a pattern extracting nothing); detail is the capture name of a reference (its name node) or
#: the text an import pattern prefixes to its module; rank is a reference kind's `_REFERENCE_RANK`.
_Role = tuple[str, str, str, int]


@dataclass(frozen=True, slots=True)
class _Grammar:
    """A loaded language: the grammar, its compiled tag query and what each pattern of the query extracts."""

    language: Language
    query: Query
    roles: tuple[_Role, ...]


#: A captured definition or scope: (start byte, -end byte, precedence, order, kind, name, name node, node, body,
#: receiver); see `_found`.
_Found = tuple[int, int, int, int, str, str, Node, Node, "Node | None", str]

_grammars: dict[str, _Grammar] = {}
_grammars_lock = threading.Lock()
_threads = threading.local()


def query_source(language: str) -> str:
    """Return the tag query text of ``language`` (its ``.scm`` files concatenated)."""
    root = importlib.resources.files("context.index.queries")
    names = QUERY_FILES.get(language, (language,))
    return "\n".join(root.joinpath(f"{name}-tags.scm").read_text(encoding="utf-8") for name in names)


def _grammar(language: str) -> _Grammar:
    """Load (once per process) the grammar and query of ``language``."""
    grammar = _grammars.get(language)
    if grammar is None:
        if language not in GRAMMARS:
            raise UsageError(f"no parser for language {language!r}; known: {', '.join(GRAMMARS)}")
        with _grammars_lock:
            grammar = _grammars.get(language)
            if grammar is None:
                module_name, function = GRAMMARS[language]
                lang = Language(getattr(importlib.import_module(module_name), function)())
                text = query_source(language)
                query = Query(lang, text)
                grammar = _Grammar(lang, query, _roles(query, text.encode()))
                _grammars[language] = grammar
    return grammar


def preload(languages: Iterable[str]) -> None:
    """Load the grammars and compile the queries of ``languages`` now.

    Compiling a query takes 5-150 ms per language (C++, C#, PHP and TypeScript are the slow ones). Call this
    before forking worker processes so that they inherit the compiled queries instead of each compiling them
    again. Raises `UsageError` for an unknown language.
    """
    for language in languages:
        _grammar(language)


def _parser(language: str, grammar: _Grammar) -> Parser:
    """This thread's parser for ``language``."""
    parsers: dict[str, Parser] | None = getattr(_threads, "parsers", None)
    if parsers is None:
        parsers = _threads.parsers = {}
    parser = parsers.get(language)
    if parser is None:
        parser = parsers[language] = Parser(grammar.language)
    return parser


#: In query text: a string, a comment, or a capture name (group 1).
_QUERY_TOKEN = re.compile(rb'"(?:\\.|[^"\\])*"|;[^\n]*|@([\w.]+)')


def _roles(query: Query, text: bytes) -> tuple[_Role, ...]:
    """Tell what each pattern of ``query`` extracts, from the capture names in its text (``text``, the query
    source) and its ``#set!`` settings."""
    roles = []
    for pattern in range(query.pattern_count):
        source = text[query.start_byte_for_pattern(pattern) : query.end_byte_for_pattern(pattern)]
        captures = [token[1].decode() for token in _QUERY_TOKEN.finditer(source) if token[1]]
        roles.append(_role(query, pattern, captures))
    return tuple(roles)


def _role(query: Query, pattern: int, captures: list[str]) -> _Role:
    """The role of ``pattern``, whose capture names are ``captures``."""
    for key in captures:
        role, _, kind = key.partition(".")
        if role == "definition" and kind in DEFINITION_KINDS:
            return role, kind, "", 0
        if role == "reference" and kind in REFERENCE_KINDS:
            return role, kind, key, _REFERENCE_RANK[kind]
        if key in ("import", "package", "scope"):
            return key, "", str(query.pattern_settings(pattern).get("import.prefix") or ""), 0
    return "", "", "", 0


class _Text:
    """Slices of one file's source bytes as text, and code-point columns of nodes.

    A byte column is the character column on every line that is pure ASCII, so only nodes on the few lines
    holding other characters (``wide_rows``) pay for decoding the start of their line (`wide_column`).
    """

    __slots__ = ("_mark", "source", "wide_rows")

    def __init__(self, source: bytes) -> None:
        self.source = source
        self.wide_rows = _rows_with_non_ascii(source)
        #: (row, byte offset, its character column) of the last column computed on a wide row.
        self._mark = (-1, 0, 0)

    def of(self, node: Node) -> str:
        """The source text of ``node``."""
        return self.source[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def wide_column(self, row: int, column: int, start: int) -> int:
        """The character column of byte ``start``, at byte ``column`` of ``row`` (one of ``wide_rows``).

        Counts from the previous position asked on the same row when there is one, so the nodes of a long
        line cost one pass over it, not one per node.
        """
        mark_row, at, at_column = self._mark
        if mark_row != row or at > start:
            at, at_column = start - column, 0
        at_column += len(self.source[at:start].decode("utf-8", "replace"))
        self._mark = (row, start, at_column)
        return at_column


#: From a byte outside ASCII to the end of its line.
_WIDE_LINE_REST = re.compile(rb"[\x80-\xff][^\n]*")


def _rows_with_non_ascii(source: bytes) -> frozenset[int]:
    """The 0-based rows of ``source`` holding a byte outside ASCII."""
    if source.isascii():
        return frozenset()
    rows: set[int] = set()
    row = last = 0
    for wide in _WIDE_LINE_REST.finditer(source):  # one match per such line, from its first wide byte
        start = wide.start()
        row += source.count(b"\n", last, start)
        last = start
        rows.add(row)
    return frozenset(rows)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _signature(text: _Text, outer: Node, body: Node | None, kind: str, name: str) -> str:
    """The header of a definition on one line: from its first decorator or keyword to its body.

    Without a body (a prototype, a constant, an alias) it is the whole definition; for constants, fields and
    type aliases only its first line when that line holds the name (a long value says little).
    """
    if body is not None and body.start_byte > outer.start_byte:
        end = body.start_byte
        before = body.prev_sibling
        while before is not None and before.type in _COMMENTS:  # `def f():  # note` keeps no note
            end = before.start_byte
            before = before.prev_sibling
        raw = text.source[outer.start_byte : end].decode("utf-8", "replace")
    else:
        raw = text.of(outer)
        if kind in _LEAF_KINDS:
            first_line = raw.split("\n", 1)[0]
            if name in first_line:
                raw = first_line
    return _collapse(raw)[:MAX_SIGNATURE]


def _doc_line(raw: str) -> str:
    """The first non-empty line of a comment or docstring, without comment markers or quotes (at most `MAX_DOC`
    characters, found in the first `MAX_DOC_SCAN`)."""
    for line in raw[:MAX_DOC_SCAN].splitlines():
        line = line.strip()
        for marker in _COMMENT_MARKERS:
            if line.startswith(marker):
                line = line[len(marker) :].lstrip("-*/!# ")
                break
        if "<" in line:
            line = _XML_DOC_TAG.sub("", line).strip()
        line = line.lstrip(_QUOTES)
        if line.startswith(('r"', "r'", 'b"', 'u"', 'f"')):
            line = line[1:].lstrip(_QUOTES)
        for end in ('"""', "'''", "*/", "]]"):
            line = line.removesuffix(end)
        line = line.rstrip(_QUOTES).strip()
        if line:
            return line[:MAX_DOC]
    return ""


def _docstring(text: _Text, body: Node | None) -> str:
    """A Python docstring: the string that is the first statement of the body."""
    first = _first_named_child(body) if body is not None else None
    if first is not None and first.type == "expression_statement":
        string = _first_named_child(first)
        if string is not None and string.type == "string":
            return _doc_line(text.of(string))
    return ""


def _first_named_child(node: Node) -> Node | None:
    """``node.named_child(0)``, which walks all the children: the first child is nearly always named."""
    if not node.named_child_count:
        return None
    first = node.child(0)
    if first is not None and not first.is_named:
        return node.named_child(0)
    return first


def _leading_comment(text: _Text, outer: Node) -> str:
    """The first line of the comment block directly above a definition (no blank line between)."""
    block: list[Node] = []
    row = outer.start_point[0]
    sibling = outer.prev_sibling
    while sibling is None and outer.parent is not None and outer.parent.start_byte == outer.start_byte:
        outer = outer.parent  # the first statement of a body: the comment sits before the body node
        sibling = outer.prev_sibling
    while sibling is not None:
        if sibling.type in _BETWEEN_DOC_AND_DEFINITION and not block:
            row = sibling.start_point[0]
        elif sibling.type in _COMMENTS and _last_row(sibling) >= row - 1:
            before = sibling.prev_sibling
            if before is not None and _last_row(before) == sibling.start_point[0]:
                break  # a trailing comment of the previous statement
            block.append(sibling)
            row = sibling.start_point[0]
        else:
            break
        sibling = sibling.prev_sibling
    for comment in reversed(block):
        line = _doc_line(text.of(comment))
        if line:
            return line
    return ""


def _last_row(node: Node) -> int:
    """The last line a node has text on (a line comment's node may end at column 0 of the next line)."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point[0] else row


def _outer(node: Node) -> Node:
    """The node a definition's signature starts at: its decorators, ``export`` or ``template`` wrapper."""
    parent = node.parent
    while parent is not None and parent.type in _WRAPPERS:
        node, parent = parent, parent.parent
    return node


def _declaration_of(declarator: Node) -> Node | None:
    """The function definition or declaration a C/C++ function declarator belongs to, if any."""
    parent = declarator.parent
    while parent is not None and parent.type in _DECLARATORS:
        parent = parent.parent
    return parent if parent is not None and parent.type in _DECLARATIONS else None


def _without_template_arguments(name: str) -> str:
    """``Widget<T>::Inner<U>`` -> ``Widget::Inner``."""
    while "<" in name:
        start = name.rfind("<")
        end = name.find(">", start)
        if end < 0:
            break
        name = name[:start] + name[end + 1 :]
    return name


def _strip_quotes(value: str) -> str:
    if len(value) >= 2 and value[0] in _QUOTES and value[-1] == value[0]:
        return value[1:-1]
    return value


def parse_source(path: str, source: bytes, language: str) -> ParsedFile:
    """Parse ``source`` (the bytes of ``path``) as ``language`` and extract its symbols.

    Never raises on the content: broken syntax gives ``has_errors=True`` and the symbols tree-sitter could
    recover; invalid UTF-8 is decoded with replacement characters. Raises `UsageError` for an unknown language.
    One query run collects every capture; each kind of capture is then turned into symbols by its own step.
    """
    grammar = _grammar(language)
    roles = grammar.roles
    tree = _parser(language, grammar).parse(source)
    root = tree.root_node
    text = _Text(source)
    found: list[_Found] = []
    # name start byte -> (rank, kind, name node): the best-ranked pattern wins a name captured twice
    references: dict[int, tuple[int, str, Node]] = {}
    # (statement start byte, module) -> (statement, imported names)
    imports: dict[tuple[int, str], tuple[Node, list[str]]] = {}
    package = ""
    for pattern, captures in QueryCursor(grammar.query).matches(root):
        role, kind, key, rank = roles[pattern]
        if role == "reference":
            name_node = captures[key][0]
            seen = references.get(name_node.start_byte)
            if seen is None or rank < seen[0]:
                references[name_node.start_byte] = (rank, kind, name_node)
        elif role == "definition" or role == "scope":
            captured = _found(role, kind, captures, text, len(found))
            if captured is not None:
                found.append(captured)
        elif role == "import":
            _collect_import(imports, key, captures, text)
        elif role == "package" and not package:
            package = text.of(captures["package"][0])
    definitions, name_starts = _definitions(path, language, text, found)
    return ParsedFile(
        path=path,
        language=language,
        definitions=definitions,
        references=_references(path, text, references, name_starts),
        imports=[
            Import(module, tuple(names), path, statement.start_point[0])
            for (_, module), (statement, names) in sorted(imports.items(), key=lambda item: item[0])
            if module
        ],
        package=package,
        has_errors=root.has_error,
    )


def _found(role: str, kind: str, captures: dict[str, list[Node]], text: _Text, order: int) -> _Found | None:
    """The sortable record of one definition or scope match (see `_Found`), or None when it has no real name.

    Sorted, enclosing definitions come first, and a generic kind (constant, type) after a specific one captured
    at the same node.
    """
    names = captures.get("name")
    if not names:
        return None
    name_node = names[-1]
    if name_node.start_byte == name_node.end_byte:
        return None  # a name tree-sitter invented to recover from a syntax error
    node = captures["definition." + kind][0] if role == "definition" else captures["scope"][0]
    if node.type == "function_declarator":  # C/C++: the whole declaration, with its return type
        declaration = _declaration_of(node)
        if declaration is None:
            return None
        node = declaration
    bodies = captures.get("body")
    receivers = captures.get("receiver")
    return (node.start_byte, -node.end_byte, _GENERIC_KINDS.get(kind, 0), order,
            kind if role == "definition" else "scope", text.of(name_node), name_node, node,
            bodies[0] if bodies else None, text.of(receivers[0]) if receivers else "")


def _collect_import(imports: dict[tuple[int, str], tuple[Node, list[str]]], prefix: str,
                    captures: dict[str, list[Node]], text: _Text) -> None:
    """Add one import match to ``imports``: several matches of one statement and module merge their names."""
    statement = captures["import"][0]
    modules = captures.get("import.module")
    module = prefix + _strip_quotes(text.of(modules[0])) if modules else ""
    entry = imports.get((statement.start_byte, module))
    if entry is None:
        entry = imports[statement.start_byte, module] = (statement, [])
    for name_node in captures.get("import.name", ()):
        name = _strip_quotes(text.of(name_node))
        if name not in entry[1]:
            entry[1].append(name)


def _references(
    path: str, text: _Text, found: dict[int, tuple[int, str, Node]], name_starts: set[int]
) -> list[Reference]:
    """Build the references in source order, leaving out the names of definitions and empty names (which
    tree-sitter invents to recover from syntax errors)."""
    source = text.source
    wide_rows = text.wide_rows
    wide_column = text.wide_column
    names: list[str] = []
    kinds: list[str] = []
    rows: list[int] = []
    columns: list[int] = []
    for start, (_, kind, node) in sorted(found.items()):
        if start in name_starts:
            continue
        name = source[start : node.end_byte].decode("utf-8", "replace")
        if not name:
            continue
        row, column = node.start_point
        if row in wide_rows:
            column = wide_column(row, column, start)
        names.append(name)
        kinds.append(kind)
        rows.append(row)
        columns.append(column)
    # map() calls the class without building an argument tuple per object: 40% cheaper than a loop of calls.
    return list(map(Reference, names, kinds, itertools.repeat(path), rows, columns))


def _definitions(
    path: str,
    language: str,
    text: _Text,
    found: list[_Found],
) -> tuple[list[Definition], set[int]]:
    """Nest the captured definitions by byte range into qualified names and build `Definition` objects.

    Returns them in source order with the byte offsets of their names (so a definition's own name is not
    also counted as a reference).
    """
    found.sort()
    definitions: list[Definition] = []
    name_starts: set[int] = set()
    # Open enclosing definitions: (end_byte, qualname, kind).
    stack: list[tuple[int, str, str]] = []
    seen: set[int] = set()
    for start, neg_end, _, _, kind, name, name_node, node, body, receiver in found:
        if name_node.start_byte in seen:
            continue  # two patterns captured the same name: the outermost node (then non-constant) wins
        seen.add(name_node.start_byte)
        while stack and stack[-1][0] <= start:
            stack.pop()
        if name_node.type == "qualified_identifier":  # C++ `Type::method` defined out of its class
            name_node, name, receiver = _split_qualified(text, name_node)
        parent, parent_kind = _parent(receiver, stack)
        if kind == "function" and parent_kind in _METHOD_CONTAINERS:
            kind = "method"
        qualname = f"{parent}.{name}" if parent else name
        if kind not in _LEAF_KINDS:
            stack.append((-neg_end, qualname, kind))
        if kind == "scope":
            continue
        name_starts.add(name_node.start_byte)
        definitions.append(_definition(path, language, text, kind, name, qualname, parent, name_node, node, body))
    return definitions, name_starts


def _split_qualified(text: _Text, qualified: Node) -> tuple[Node, str, str]:
    """The last name of a C++ qualified name (``ns::Type::method``), its text, and the scope before it as a
    dotted receiver (``ns.Type``, template arguments dropped)."""
    name_node = qualified
    while name_node.type == "qualified_identifier" and name_node.child_by_field_name("name"):
        name_node = name_node.child_by_field_name("name") or name_node
    scope = text.source[qualified.start_byte : name_node.start_byte].decode("utf-8", "replace")
    receiver = _without_template_arguments("".join(scope.split())).strip(":").replace("::", ".")
    return name_node, text.of(name_node), receiver


def _parent(receiver: str, stack: list[tuple[int, str, str]]) -> tuple[str, str]:
    """The qualified name and kind of what a definition belongs to: its explicit receiver (a Go method's type,
    a C++ ``Type::``), nested in the enclosing definition unless it already names it, else the enclosing
    definition. A receiver's kind is unknown (empty)."""
    enclosing = stack[-1][1] if stack else ""
    if receiver:
        if enclosing and receiver != enclosing and not receiver.startswith(enclosing + "."):
            return f"{enclosing}.{receiver}", ""
        return receiver, ""
    return (enclosing, stack[-1][2]) if stack else ("", "")


def _definition(path: str, language: str, text: _Text, kind: str, name: str, qualname: str, parent: str,
                name_node: Node, node: Node, body: Node | None) -> Definition:
    """One `Definition`: position of its name (in characters), last line, signature and first line of doc."""
    if body is None:
        body = node.child_by_field_name("body")
    outer = _outer(node)
    doc = _docstring(text, body) if language == "python" else ""
    if not doc:
        doc = _leading_comment(text, outer)
    line, column = name_node.start_point
    if line in text.wide_rows:
        column = text.wide_column(line, column, name_node.start_byte)
    return Definition(name, kind, qualname, path, line, column, _last_row(node),
                      _signature(text, outer, body, kind, name), doc, parent)


# --- checking code a model wrote -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeShape:
    """What a file's syntax tree says about code that a model rewrote (see `code_shape`).

    ``error_rows`` are the 0-based rows holding a syntax error or a missing token; ``code`` is the tree with
    every comment and Python docstring left out, as node types and token texts in order: two versions of a
    file whose ``code`` is equal differ at most in comments, docstrings and layout that the grammar ignores.
    """

    error_rows: frozenset[int]
    code: tuple[str, ...]


def _is_docstring(node: Node) -> bool:
    """Whether ``node`` is a Python docstring: a lone string statement first in a module, class or function."""
    if node.type != "expression_statement" or node.named_child_count != 1:
        return False
    if node.named_children[0].type not in ("string", "concatenated_string"):
        return False
    parent = node.parent
    return parent is not None and parent.type in ("module", "block") and parent.named_children[0] == node


def code_shape(source: bytes, language: str) -> CodeShape:
    """Parse ``source`` as ``language`` and return its `CodeShape`; used to check a model's edit before it
    is applied (it parses; a docstring edit changes nothing but the docstring). Raises `UsageError` for an
    unknown language."""
    tree = _parser(language, _grammar(language)).parse(source)
    errors: set[int] = set()
    code: list[str] = []
    stack: list[Node | None] = [tree.root_node]  # None closes the node opened before its children
    while stack:
        node = stack.pop()
        if node is None:
            code.append(")")
            continue
        if node.is_error or node.is_missing:
            errors.update(range(node.start_point[0], node.end_point[0] + 1))
        if node.type in _COMMENTS or "comment" in node.type or (language == "python" and _is_docstring(node)):
            continue
        if node.child_count == 0:
            code.append(source[node.start_byte : node.end_byte].decode("utf-8", "replace") or node.type)
        else:
            code.append(f"({node.type}")
            stack.append(None)
            stack.extend(reversed(node.children))
    return CodeShape(frozenset(errors), tuple(code))
