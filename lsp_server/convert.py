"""Conversions between LSP wire types and the engine's model, kept in one module (jedi-language-server style).

The engine counts columns in Unicode code points and names files by POSIX paths relative to a workspace root;
LSP counts columns in the negotiated position encoding (UTF-16 unless the client offered UTF-8 or UTF-32) and
names files by URI. Everything that crosses that border goes through the functions here, so handlers never do
arithmetic on positions themselves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from context.prompt.alone import line_start

_LINES = re.compile(r"[^\n]*\n|[^\n]+$")

#: Bytes per code unit of each LSP position encoding; UTF-32 units are code points.
_UNIT_WIDTH = {"utf-8": 1, "utf-16": 2, "utf-32": 4}


def _units(char: str, encoding: str) -> int:
    """How many code units of ``encoding`` one code point takes."""
    if encoding == "utf-32":
        return 1
    return len(char.encode(encoding.replace("utf-16", "utf-16-le"))) // _UNIT_WIDTH[encoding]


def to_code_points(line: str, character: int, encoding: str) -> int:
    """An LSP column on ``line`` as a code-point column (clamped to the line; a split pair rounds down)."""
    if encoding == "utf-32" or line.isascii():
        return min(character, len(line))
    used = 0
    for index, char in enumerate(line):
        used += _units(char, encoding)
        if used > character:
            return index
    return len(line)


def from_code_points(line: str, column: int, encoding: str) -> int:
    """Turn a code-point column on ``line`` into an LSP column of ``encoding`` (clamped to the line)."""
    head = line[: max(column, 0)]
    if encoding == "utf-32" or head.isascii():
        return len(head)
    return sum(_units(char, encoding) for char in head)


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` with their line breaks, split on ``\n`` only, as LSP and the engine do.

    Not ``str.splitlines``: it also splits on form feeds and U+2028, which would shift later line numbers.
    """
    lines: list[str] = _LINES.findall(text)
    return lines


def line_at(lines: Sequence[str], line: int) -> str:
    """The text of ``line`` without its line break; the empty string past the end of the document."""
    if 0 <= line < len(lines):
        return lines[line].rstrip("\r\n")
    return ""


def engine_position(lines: Sequence[str], position: types.Position, encoding: str) -> tuple[int, int]:
    """An LSP position as the engine's ``(line, code-point column)``."""
    return position.line, to_code_points(line_at(lines, position.line), position.character, encoding)


def locate(text: str, position: types.Position, encoding: str) -> tuple[int, int, int]:
    """An LSP position in ``text`` as the engine's ``(line, code-point column)`` and the code-point offset into
    ``text``, reading only the lines up to it (a huge buffer is not split per keystroke). Past the end of a
    line the column is clamped; past the last line it is the end of ``text``."""
    start = line_start(text, position.line)
    end = text.find("\n", start)
    line = text[start : len(text) if end < 0 else end].rstrip("\r")
    column = to_code_points(line, position.character, encoding)
    return position.line, column, start + column


def lsp_position(lines: Sequence[str], line: int, column: int, encoding: str) -> types.Position:
    """The engine's ``(line, code-point column)`` as an LSP position."""
    return types.Position(line=line, character=from_code_points(line_at(lines, line), column, encoding))


def offset_of(lines: Sequence[str], line: int, column: int) -> int:
    """The code-point offset into the whole text of ``(line, column)``."""
    return sum(len(text) for text in lines[:line]) + column


def uri_to_path(uri: str) -> Path | None:
    """The local file a ``file:`` URI names, or None for other schemes (untitled buffers, remote files)."""
    path = to_fs_path(uri) if uri.startswith("file:") else None
    return Path(path) if path else None


def path_to_uri(path: Path) -> str:
    """The ``file:`` URI of a local path."""
    return path.absolute().as_uri()


def replace_lines(uri: str, lines: Sequence[str], first: int, last: int, code: str,
                  encoding: str) -> types.WorkspaceEdit:
    """A WorkspaceEdit replacing lines ``first..last`` (inclusive, with their line break) by ``code``.

    ``code`` ends with a newline; on a last line without one, so does the replacement.
    """
    last = min(last, len(lines) - 1)
    start = types.Position(line=first, character=0)
    if last < 0 or lines[last].endswith("\n"):
        end = types.Position(line=last + 1, character=0)
    else:
        end = types.Position(line=last, character=from_code_points(lines[last], len(lines[last]), encoding))
        code = code.removesuffix("\n")
    return types.WorkspaceEdit(changes={uri: [types.TextEdit(range=types.Range(start, end), new_text=code)]})


def create_and_insert(uri: str, position: types.Position, new_text: str) -> types.WorkspaceEdit:
    """A WorkspaceEdit creating ``uri`` unless it exists, then inserting ``new_text`` at ``position``."""
    return types.WorkspaceEdit(
        document_changes=[
            types.CreateFile(uri=uri, options=types.CreateFileOptions(ignore_if_exists=True)),
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                edits=[types.TextEdit(range=types.Range(position, position), new_text=new_text)],
            ),
        ]
    )


def _accepted(command: str, uri: str, text: str) -> types.Command:
    """The command an editor runs when the user accepts ``text``: it tells the server what was accepted."""
    return types.Command(title="Qwen: suggestion accepted", command=command, arguments=[uri, text])


def inline_list(texts: Sequence[str], lead: str, replace: types.Range, accept_command: str,
                uri: str) -> types.InlineCompletionList:
    """Inline completion items: each inserts ``lead`` + its text over ``replace`` and reports acceptance."""
    return types.InlineCompletionList(items=[
        types.InlineCompletionItem(insert_text=lead + text, range=replace,
                                   command=_accepted(accept_command, uri, text))
        for text in texts
    ])


def snippet_text(text: str) -> str:
    """``text`` as a snippet that inserts exactly ``text``: ``\\``, ``$`` and ``}`` escaped with a backslash."""
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("}", "\\}")


#: The identifier being typed at the end of the text before a cursor (what an editor filters completions by).
_TYPED_WORD = re.compile(r"[\w$]+\Z")


def typed_word(before: str) -> str:
    """The word being typed before the cursor: the identifier characters that end ``before``."""
    match = _TYPED_WORD.search(before[-256:])
    return match.group() if match is not None else ""


def completion_list(texts: Sequence[str], typed: str, position: types.Position, accept_command: str, uri: str,
                    encoding: str, *, snippets: bool = False) -> types.CompletionList:
    """Completion items for editors without inline completion: first line as label, whole text as edit.

    Editors filter items by the word being typed (``typed``, ending at ``position``): each item's edit
    replaces that word with the word plus the suggestion, and its label and filter text start with the word,
    so the item survives the filtering of VS Code, Neovim, Helix, Emacs and Zed (all prefix or fuzzy matches
    of the typed word against the filter text). With ``snippets`` (the client supports them) the edit is an
    escaped snippet: some clients (Neovim 0.11) insert only the first word of a plain-text edit. The list is
    incomplete so the editor asks again as the user types on.
    """
    text_format = types.InsertTextFormat.Snippet if snippets else types.InsertTextFormat.PlainText
    start = types.Position(line=position.line,
                           character=max(position.character - from_code_points(typed, len(typed), encoding), 0))
    items = []
    for text in texts:
        whole = typed + text
        first = whole.split("\n")[0]
        label = first if first.strip() else whole.strip().splitlines()[0]
        items.append(types.CompletionItem(
            label=label, kind=types.CompletionItemKind.Text, detail="Qwen", sort_text="0", filter_text=whole,
            insert_text_format=text_format,
            text_edit=types.TextEdit(range=types.Range(start, position),
                                     new_text=snippet_text(whole) if snippets else whole),
            command=_accepted(accept_command, uri, text)))
    return types.CompletionList(is_incomplete=True, items=items)
