"""Golden tests: each snippet under tests/fixtures/languages/<language>/ parses to exactly the symbols in the JSON
file next to it (``<snippet>.json``), which was generated once, read line by line and then frozen.

In the JSON, ``line`` is 1-based (as editors and ``qwen-context search --json`` show it) and ``column`` is
0-based in characters; ``references`` is the sorted set of ``kind:name`` uses. On a mismatch the test prints a
unified diff. After a deliberate change to the queries, regenerate with
``QWEN_CONTEXT_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/context_tests/test_parse_golden.py`` and
review the diff of the JSON files before committing it.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from context.index.languages import language_for
from context.index.parse import parse_source
from context.index.symbols import ParsedFile

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "languages"
SNIPPETS = sorted(path for path in FIXTURES.glob("*/*") if path.suffix != ".json")


def golden(parsed: ParsedFile) -> dict[str, Any]:
    """The reviewed, human-readable form of a parse result."""
    return {
        "language": parsed.language,
        "package": parsed.package,
        "has_errors": parsed.has_errors,
        "definitions": [
            {
                "name": d.name,
                "kind": d.kind,
                "qualname": d.qualname,
                "parent": d.parent,
                "line": d.line + 1,
                "column": d.column,
                "end_line": d.end_line + 1,
                "signature": d.signature,
                "doc": d.doc,
            }
            for d in parsed.definitions
        ],
        "imports": [{"module": i.module, "names": list(i.names), "line": i.line + 1} for i in parsed.imports],
        "references": sorted({f"{r.kind}:{r.name}" for r in parsed.references}),
    }


def test_every_supported_language_has_a_golden_snippet() -> None:
    languages = {language_for(path.name) for path in SNIPPETS}
    assert languages == {
        "python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp",
        "csharp", "ruby", "php", "kotlin", "bash", "lua",
    }  # fmt: skip


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_snippet_parses_to_its_reviewed_symbols(snippet: Path) -> None:
    language = language_for(snippet.name)
    assert language is not None, f"{snippet.name} has no known language"
    rel = f"{snippet.parent.name}/{snippet.name}"
    actual = golden(parse_source(rel, snippet.read_bytes(), language))
    expected_path = snippet.with_name(snippet.name + ".json")
    actual_text = json.dumps(actual, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("QWEN_CONTEXT_REGENERATE_GOLDEN") == "1":
        expected_path.write_text(actual_text, encoding="utf-8")
    expected_text = expected_path.read_text(encoding="utf-8")
    if actual_text != expected_text:
        diff = "".join(
            difflib.unified_diff(
                expected_text.splitlines(keepends=True),
                actual_text.splitlines(keepends=True),
                fromfile=str(expected_path.relative_to(FIXTURES)),
                tofile="parsed now",
            )
        )
        pytest.fail(f"{rel} no longer parses to its golden symbols:\n{diff}")
