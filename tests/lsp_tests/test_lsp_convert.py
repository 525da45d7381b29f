"""Positions cross between LSP's encodings and the engine's code points without drifting."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from lsp_server import convert

LINES = ["x = '😀é' + y\n", "second\n"]


def test_a_utf16_column_after_an_astral_character_maps_to_the_right_code_point() -> None:
    # '😀' takes two UTF-16 units, 'é' one: the UTF-16 column of "+" is 11, its code-point column 10.
    assert convert.to_code_points(LINES[0].rstrip("\n"), 11, "utf-16") == 10
    assert convert.from_code_points(LINES[0].rstrip("\n"), 10, "utf-16") == 11


def test_utf8_columns_count_bytes_and_utf32_columns_count_code_points() -> None:
    line = LINES[0].rstrip("\n")
    assert convert.to_code_points(line, len("x = '😀é".encode()), "utf-8") == len("x = '😀é")
    assert convert.from_code_points(line, 10, "utf-32") == 10


def test_a_column_inside_a_surrogate_pair_or_past_the_end_is_clamped() -> None:
    line = LINES[0].rstrip("\n")
    assert convert.to_code_points(line, 6, "utf-16") == 5  # between the two halves of '😀'
    assert convert.to_code_points(line, 500, "utf-16") == len(line)


def test_engine_and_lsp_positions_round_trip() -> None:
    position = types.Position(line=0, character=11)
    line, column = convert.engine_position(LINES, position, "utf-16")
    assert (line, column) == (0, 10)
    assert convert.lsp_position(LINES, line, column, "utf-16") == position


def test_replacing_lines_takes_their_line_breaks_and_keeps_a_missing_final_one_missing() -> None:
    middle = convert.replace_lines("file:///a", LINES, 0, 0, "z\n", "utf-16")
    assert middle.changes == {"file:///a": [types.TextEdit(
        range=types.Range(types.Position(0, 0), types.Position(1, 0)), new_text="z\n")]}
    last = convert.replace_lines("file:///a", ["a\n", "end"], 1, 1, "z\n", "utf-16")
    assert last.changes == {"file:///a": [types.TextEdit(
        range=types.Range(types.Position(1, 0), types.Position(1, 3)), new_text="z")]}


def test_file_uris_and_paths_convert_both_ways_and_other_schemes_are_not_files(tmp_path: Path) -> None:
    path = tmp_path / "a b.py"
    assert convert.uri_to_path(convert.path_to_uri(path)) == path
    assert convert.uri_to_path("untitled:Untitled-1") is None


def test_lines_split_on_line_feeds_only_so_form_feeds_do_not_shift_line_numbers() -> None:
    assert convert.split_lines("a\n\x0cb\u2028c\r\nd") == ["a\n", "\x0cb\u2028c\r\n", "d"]
    assert convert.split_lines("a\n") == ["a\n"]


def test_a_snippet_escapes_dollars_braces_and_backslashes_so_it_inserts_the_text_unchanged() -> None:
    assert convert.snippet_text('f"${total}\\n" + {1: 2}') == 'f"\\${total\\}\\\\n" + {1: 2\\}'
