"""Every language's golden snippet, indexed and read back through the engine: what parsing found is what
`search`, `definitions` and `imports` answer, line for line, after the round trip through the on-disk index.

The golden files (``tests/fixtures/languages/<lang>/<snippet>.json``, owned by the parser's tests) hold 1-based
lines and 0-based columns."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from context.engine import Engine, EngineConfig

LANGUAGES = Path(__file__).parents[1] / "fixtures" / "languages"
GOLDEN = sorted(LANGUAGES.glob("*/*.json"))


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    root = tmp_path_factory.mktemp("languages") / "repo"
    shutil.copytree(LANGUAGES, root)
    cache = tmp_path_factory.mktemp("languages-cache")  # module-scoped: the per-test cache would change
    with Engine(root, EngineConfig(cache_dir=cache)) as engine:
        engine.index()
        yield engine


def golden(path: Path) -> tuple[str, dict[str, object]]:
    return path.relative_to(LANGUAGES).as_posix().removesuffix(".json"), json.loads(path.read_text())


def test_the_snippets_cover_at_least_eight_languages(engine: Engine) -> None:
    assert len(engine.stats().languages) >= 8


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.parent.name + "/" + p.stem)
def test_definitions_survive_the_index_exactly(engine: Engine, path: Path) -> None:
    rel, expected = golden(path)
    got = [{"name": d.name, "kind": d.kind, "qualname": d.qualname, "parent": d.parent, "line": d.line + 1,
            "column": d.column, "end_line": d.end_line + 1, "signature": d.signature, "doc": d.doc}
           for d in engine.definitions(rel)]
    assert got == expected["definitions"]
    assert engine.language(rel) == expected["language"]


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.parent.name + "/" + p.stem)
def test_search_finds_every_definition_at_its_line(engine: Engine, path: Path) -> None:
    rel, expected = golden(path)
    definitions = expected["definitions"]
    assert isinstance(definitions, list)
    for d in definitions:
        found = {(x.path, x.line + 1) for x in engine.search(d["qualname"], limit=50)}
        assert (rel, d["line"]) in found, d["qualname"]


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.parent.name + "/" + p.stem)
def test_imports_survive_the_index(engine: Engine, path: Path) -> None:
    rel, expected = golden(path)
    got = [{"module": i.module, "names": list(i.names), "line": i.line + 1} for i in engine.imports(rel)]
    imports = expected["imports"]
    assert isinstance(imports, list)
    assert got == [{"module": i["module"], "names": list(i["names"]), "line": i["line"]} for i in imports]
