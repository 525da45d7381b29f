"""parse_source on hostile input: broken syntax, binary bytes, invalid UTF-8, non-ASCII columns, odd sizes.

The promise under test: parsing never raises on content, keeps whatever symbols tree-sitter recovers, reports
``has_errors``, counts columns in characters, and returns a result that survives a trip to a worker process.
"""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from context.errors import UsageError
from context.index import parse as parse_module
from context.index.parse import GRAMMARS, parse_source, preload
from context.index.symbols import ParsedFile

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "languages"

BROKEN_PYTHON = b'''\
import os

def complete(a, b):
    """Still here."""
    return a + b

def broken(x):
    return x +

class Survivor:
    def method(self):
        return os.getcwd()
'''


def test_broken_python_keeps_the_definitions_around_the_error() -> None:
    parsed = parse_source("broken.py", BROKEN_PYTHON, "python")

    assert parsed.has_errors
    names = {d.qualname for d in parsed.definitions}
    assert {"complete", "broken", "Survivor", "Survivor.method"} <= names
    complete = next(d for d in parsed.definitions if d.name == "complete")
    assert (complete.line, complete.doc) == (2, "Still here.")
    assert [i.module for i in parsed.imports] == ["os"]


@pytest.mark.parametrize(
    ("language", "source"),
    [
        ("javascript", b"export function ok() { return 1 }\nfunction bad( {\nclass K { m() {} }\n"),
        ("typescript", b"interface A { x: number }\nfunction f(: string {\nexport class B {}\n"),
        ("go", b"package p\n\nfunc Good() {}\n\nfunc Bad( {\n\ntype T struct{}\n"),
        ("rust", b"fn good() {}\nfn bad( -> {\nstruct S;\n"),
        ("java", b"class A { void ok() {} void bad( { }\n"),
        ("c", b"int ok(void) { return 0; }\nint bad( {\nstruct s { int x; };\n"),
        ("cpp", b"class A { void ok() {} };\nvoid bad( {\nnamespace n { int f(); }\n"),
    ],
)
def test_broken_syntax_reports_errors_and_keeps_a_definition(language: str, source: bytes) -> None:
    parsed = parse_source(f"broken.{language}", source, language)

    assert parsed.has_errors
    assert parsed.definitions, "the definition before the error is lost"


@pytest.mark.parametrize("language", sorted(GRAMMARS))
def test_binary_garbage_and_nul_bytes_never_raise(language: str) -> None:
    garbage = bytes(range(256)) * 8 + b"\x00\x00def f(): pass\x00\xff\xfe{{{(((\n" + b"\x00" * 1000

    parsed = parse_source("garbage.bin", garbage, language)

    assert isinstance(parsed, ParsedFile)
    assert parsed.language == language


SNIPPETS = sorted(path for path in FIXTURES.glob("*/*") if path.suffix != ".json")


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda path: path.parent.name)
def test_every_prefix_of_a_golden_snippet_parses_with_positions_inside_the_text(snippet: Path) -> None:
    # Half-typed code is what editors send: cut each snippet at every 7th byte (often inside a UTF-8 sequence).
    source = snippet.read_bytes()
    language = snippet.parent.name
    for end in range(0, len(source) + 1, 7):
        parsed = parse_source(snippet.name, source[:end], language)
        lines = source[:end].count(b"\n") + 1
        for d in parsed.definitions:
            assert d.name and 0 <= d.line <= d.end_line < lines and d.column >= 0, (end, d)
        for r in parsed.references:
            assert r.name and 0 <= r.line < lines and r.column >= 0, (end, r)
        assert all(0 <= i.line < lines for i in parsed.imports), end


@pytest.mark.parametrize("language", sorted(GRAMMARS))
def test_an_empty_file_parses_to_nothing(language: str) -> None:
    parsed = parse_source("empty", b"", language)

    assert (parsed.definitions, parsed.references, parsed.imports, parsed.has_errors) == ([], [], [], False)


def test_invalid_utf8_names_are_decoded_with_replacement_characters() -> None:
    source = b"def caf\xe9(x):\n    return x\n\ndef after():\n    pass\n"

    parsed = parse_source("latin1.py", source, "python")

    names = [d.name for d in parsed.definitions]
    assert "after" in names
    assert all(isinstance(name, str) for name in names)
    assert parsed.definitions[-1].line == 3


def test_columns_count_characters_not_bytes_on_non_ascii_lines() -> None:
    source = "# ünïcödé\nπ = 3; résumé = 'é' ; x = 1\n\ndef straße(a): return größe(a)\n".encode()

    parsed = parse_source("unicode.py", source, "python")

    definition = parsed.definitions[0]
    assert (definition.name, definition.line, definition.column) == ("straße", 3, 4)
    call = next(r for r in parsed.references if r.name == "größe")
    assert (call.line, call.column) == (3, 22)


def test_columns_in_code_points_for_a_javascript_line_with_emoji() -> None:
    source = 'const label = "🎉🎉"; function party() { return celebrate(label); }\n'.encode()

    parsed = parse_source("party.js", source, "javascript")

    party = next(d for d in parsed.definitions if d.name == "party")
    assert party.column == 29
    assert next(r for r in parsed.references if r.name == "celebrate").column == 46


def test_every_reference_on_a_long_non_ascii_line_gets_its_character_column() -> None:
    calls = " + ".join(f"f{i}('é{'ü' * i}')" for i in range(60))
    line = f"total = [{calls}]  # straße"
    source = f"x = 1\n{line}\ny = g(2)\n".encode()

    parsed = parse_source("wide.py", source, "python")

    on_line = [r for r in parsed.references if r.line == 1]
    assert [r.name for r in on_line] == [f"f{i}" for i in range(60)]
    assert [r.column for r in on_line] == [line.index(f"f{i}(") for i in range(60)]
    assert [(r.name, r.line, r.column) for r in parsed.references if r.line == 2] == [("g", 2, 4)]


def test_every_query_pattern_extracts_a_definition_reference_import_package_or_scope() -> None:
    for language in GRAMMARS:
        roles = parse_module._grammar(language).roles

        assert all(role for role, _, _, _ in roles), language
        references = [detail for role, _, detail, _ in roles if role == "reference"]
        assert all(detail.startswith("reference.") for detail in references), language


def test_a_long_signature_is_cut_to_300_characters_on_one_line() -> None:
    params = ",\n    ".join(f"parameter_number_{i}: int = {i}" for i in range(40))
    source = f"def wide(\n    {params},\n) -> None:\n    pass\n".encode()

    definition = parse_source("wide.py", source, "python").definitions[0]

    assert len(definition.signature) == 300
    assert "\n" not in definition.signature
    assert definition.signature.startswith("def wide( parameter_number_0: int = 0, parameter_number_1")


def test_an_unknown_language_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="cobol"):
        parse_source("a.cob", b"IDENTIFICATION DIVISION.", "cobol")


def _parse_in_worker(source: bytes) -> ParsedFile:
    return parse_source("worker.go", source, "go")


def test_results_pickle_and_come_back_from_a_worker_process_unchanged() -> None:
    source = (
        b'package main\n\nimport "fmt"\n\n// Hello greets.\nfunc (g *Greeter) Hello() { fmt.Println(1) }\n'
    )
    local = parse_source("worker.go", source, "go")

    with ProcessPoolExecutor(max_workers=1) as pool:
        remote = pool.submit(_parse_in_worker, source).result(timeout=60)

    assert pickle.loads(pickle.dumps(local)) == local
    assert remote == local
    assert remote.definitions[0].qualname == "Greeter.Hello"


def test_threads_parsing_at_once_get_the_same_results_as_one_thread() -> None:
    snippets = sorted((FIXTURES / "python").glob("*.py")) + sorted((FIXTURES / "go").glob("*.go"))
    jobs = [
        (path.name, path.read_bytes(), "python" if path.suffix == ".py" else "go") for path in snippets
    ] * 20
    expected = [parse_source(*job) for job in jobs]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: parse_source(*job), jobs))

    assert results == expected


def _compiled_languages() -> set[str]:
    return set(parse_module._grammars)


def test_preloaded_queries_are_inherited_by_forked_workers() -> None:
    preload(["cpp", "csharp"])

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
        inherited = pool.submit(_compiled_languages).result(timeout=60)

    assert {"cpp", "csharp"} <= inherited
    with pytest.raises(UsageError, match="cobol"):
        preload(["cobol"])
