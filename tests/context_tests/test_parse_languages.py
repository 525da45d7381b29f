"""language_for: every extension the engine indexes maps to a language parse_source accepts, others to None."""

from __future__ import annotations

import pytest

from context.index.languages import EXTENSIONS, LANGUAGES, language_for
from context.index.parse import GRAMMARS, parse_source, query_source


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("pkg/module.py", "python"),
        ("typings/stub.pyi", "python"),
        ("src/app.jsx", "javascript"),
        ("lib/index.mjs", "javascript"),
        ("lib/config.cjs", "javascript"),
        ("src/service.ts", "typescript"),
        ("src/worker.mts", "typescript"),
        ("src/App.tsx", "tsx"),
        ("cmd/main.go", "go"),
        ("src/lib.rs", "rust"),
        ("src/Main.java", "java"),
        ("src/list.c", "c"),
        ("include/list.h", "c"),
        ("src/widget.cc", "cpp"),
        ("src/widget.hpp", "cpp"),
        ("Program.cs", "csharp"),
        ("app/models/user.rb", "ruby"),
        ("public/index.php", "php"),
        ("build.gradle.kts", "kotlin"),
        ("scripts/install.sh", "bash"),
        ("lua/plugin.lua", "lua"),
        ("SRC/SHOUT.PY", "python"),
    ],
)
def test_known_extensions_map_to_their_language(path: str, language: str) -> None:
    assert language_for(path) == language


@pytest.mark.parametrize(
    "path", ["README.md", "Makefile", "data.json", "archive.tar.gz", ".bashrc", "noext", "a.py.bak"]
)
def test_files_without_a_parser_have_no_language(path: str) -> None:
    assert language_for(path) is None


def test_every_language_has_a_grammar_and_a_query_that_compiles() -> None:
    assert set(LANGUAGES) == set(GRAMMARS) == set(EXTENSIONS.values())
    for language in LANGUAGES:
        assert query_source(language).strip()
        parse_source("probe", b"", language)  # compiles the query; raises on a bad pattern
