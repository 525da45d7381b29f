"""The engine API on the multi-language fixture: search, definitions, outline, references, imports, graph."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from context.engine import Engine, iter_outline
from context.errors import PathOutsideWorkspace, SecretPathRefused, UnknownFile, UsageError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "multilang_repo"

MODELS = "python/app/models.py"
SERVICE = "python/app/service.py"
MAIN_PY = "python/main.py"
STORE_TS = "web/src/store.ts"
SHAPES_GO = "go/geometry/shapes.go"
PARSER_RS = "rust/src/parser.rs"
INVENTORY = "java/src/main/java/com/example/inventory/Inventory.java"
ITEM = "java/src/main/java/com/example/inventory/Item.java"
APP = "java/src/main/java/com/example/App.java"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo") / "multilang"
    shutil.copytree(FIXTURE, root)
    return root


@pytest.mark.parametrize(
    ("name", "kind", "path", "line"),
    [
        ("User", "class", MODELS, 9),
        ("register_user", "function", SERVICE, 6),
        ("fetchTodos", "function", "web/src/api.ts", 10),
        ("TodoStore", "class", STORE_TS, 4),
        ("NewCircle", "function", SHAPES_GO, 22),
        ("Circle", "struct", SHAPES_GO, 12),
        ("tokenize", "function", "rust/src/tokenizer.rs", 10),
        ("Parser", "struct", PARSER_RS, 4),
        ("Inventory", "class", INVENTORY, 7),
        ("getPrice", "method", ITEM, 17),
    ],
)
def test_search_finds_each_languages_definitions_at_their_line(
    engine: Engine, name: str, kind: str, path: str, line: int
) -> None:
    best = engine.search(name, limit=5)[0]
    assert (best.name, best.kind, best.path, best.line + 1) == (name, kind, path, line)


def test_search_ranks_exact_then_prefix_then_fuzzy(engine: Engine) -> None:
    names = [d.name for d in engine.search("User", limit=10)]
    assert names[:2] == ["User", "UserRepository"]
    assert "register_user" in names  # the word "user" inside a snake_case name comes after the prefixes


@pytest.mark.parametrize(("query", "expected"), [("regUs", "register_user"), ("reg_user", "register_user"),
                                                 ("TS", "TodoStore"), ("totVal", "totalValue"),
                                                 ("findbyemail", "find_by_email"), ("fetchtodos", "fetchTodos")])
def test_search_matches_camel_and_snake_case_words(engine: Engine, query: str, expected: str) -> None:
    assert engine.search(query, limit=3)[0].name == expected


def test_search_by_qualified_name_and_kind(engine: Engine) -> None:
    assert [(d.qualname, d.path) for d in engine.search("Circle.Area")] == [("Circle.Area", SHAPES_GO)]
    assert {d.kind for d in engine.search("a", kind="method", limit=50)} == {"method"}


def test_search_refuses_an_unknown_kind(engine: Engine) -> None:
    with pytest.raises(UsageError, match="unknown kind 'klass'"):
        engine.search("User", kind="klass")


def test_search_is_deterministic_and_limited(engine: Engine) -> None:
    first = engine.search("e", limit=7)
    assert len(first) == 7
    assert first == engine.search("e", limit=7)
    assert engine.search("", limit=5) == []
    assert engine.search("zzzzqqq") == []


def test_definitions_are_in_source_order_with_signatures_and_docs(engine: Engine) -> None:
    defs = engine.definitions(MODELS)
    assert [d.qualname for d in defs] == ["MAX_USERS", "User", "User.greeting", "UserRepository",
                                           "UserRepository.add", "UserRepository.find_by_email"]
    add = defs[4]
    assert add.signature == "def add(self, user: User) -> None:"
    assert add.doc == "Store a user, replacing any with the same email."
    assert add.parent == "UserRepository"


def test_outline_nests_methods_inside_their_class(engine: Engine) -> None:
    outline = engine.outline(STORE_TS)
    assert [node.definition.name for node in outline] == ["TodoStore"]
    assert [child.definition.name for child in outline[0].children] == ["constructor", "load", "pending"]
    assert [(depth, d.name) for depth, d in iter_outline(engine.outline(PARSER_RS))] == [
        (0, "Parser"), (1, "new"), (1, "evaluate")]


def test_definitions_named_matches_names_and_qualified_names(engine: Engine) -> None:
    assert {d.qualname for d in engine.definitions_named("Area")} == {"Shape.Area", "Circle.Area"}
    assert [d.path for d in engine.definitions_named("UserRepository.add")] == [MODELS]
    assert engine.definitions_named("nothing_like_this") == []


def test_references_find_calls_across_files(engine: Engine) -> None:
    calls = engine.references("register_user")
    assert [(r.path, r.line + 1, r.kind) for r in calls if r.kind == "call"] == [(MAIN_PY, 9, "call")]
    assert any(r.path == INVENTORY and r.line + 1 == 17 for r in engine.references("getPrice"))
    assert len(engine.references("getPrice", limit=1)) == 1
    names = {r.name for r in engine.references_in(STORE_TS)}
    assert "fetchTodos" in names


@pytest.mark.parametrize(
    ("path", "module", "resolved"),
    [
        (SERVICE, ".models", MODELS),
        (MAIN_PY, "app.service", SERVICE),
        (STORE_TS, "./api", "web/src/api.ts"),
        ("go/main.go", "example.com/shapes/geometry", SHAPES_GO),
        (PARSER_RS, "crate::tokenizer", "rust/src/tokenizer.rs"),
        ("rust/src/lib.rs", "self::parser", PARSER_RS),
        (APP, "com.example.inventory.Item", ITEM),
    ],
)
def test_imports_resolve_to_repository_files(engine: Engine, path: str, module: str, resolved: str) -> None:
    imports = {imp.module: imp for imp in engine.imports(path)}
    assert imports[module].resolved == resolved


def test_external_imports_stay_unresolved(engine: Engine) -> None:
    assert {imp.module: imp.resolved for imp in engine.imports("go/main.go")}["fmt"] is None
    assert {imp.module: imp.resolved for imp in engine.imports(MODELS)}["dataclasses"] is None


def test_dependencies_and_dependents_follow_imports_and_references(engine: Engine) -> None:
    assert engine.dependencies(MAIN_PY)[:2] == [SERVICE, MODELS] or set(engine.dependencies(MAIN_PY)) == {
        SERVICE, MODELS}
    assert set(engine.dependents(MODELS)) == {SERVICE, MAIN_PY}
    assert engine.dependencies(INVENTORY) == [ITEM]  # a call of getPrice, never `add` of Python's models
    graph = engine.file_graph()
    assert set(graph) == set(engine.files())
    assert graph["web/src/index.ts"] == {STORE_TS: pytest.approx(graph["web/src/index.ts"][STORE_TS])}
    assert all(weight > 0 for edges in graph.values() for weight in edges.values())


def test_definition_at_resolves_a_call_to_its_definition(engine: Engine) -> None:
    # python/main.py line 9: `    register_user(repo, "Ada", "ada@example.com")`
    found = engine.definition_at(MAIN_PY, 8, 6)
    assert found is not None and (found.path, found.line + 1) == (SERVICE, 6)
    # python/app/service.py line 9: `    repo.add(user)` -> the method, not anything else named add
    method = engine.definition_at(SERVICE, 8, 10)
    assert method is not None and method.qualname == "UserRepository.add"
    # on a definition's own name: that definition
    own = engine.definition_at(MODELS, 8, 7)
    assert own is not None and own.qualname == "User"
    assert engine.definition_at(MAIN_PY, 0, 0) is None  # inside a docstring word with no definition


def test_files_and_languages(engine: Engine) -> None:
    files = engine.files()
    assert len(files) == 15 and files == sorted(files)
    assert "README.md" not in files and "go/go.mod" not in files
    assert engine.language(STORE_TS) == "typescript"
    assert engine.language("nope.py") is None


def test_text_returns_the_file_and_refuses_unsafe_paths(engine: Engine, repo: Path) -> None:
    assert engine.text(MODELS) == (repo / MODELS).read_text()
    assert engine.text(str(repo / MODELS)) == engine.text(MODELS)  # absolute paths inside the root are fine
    with pytest.raises(PathOutsideWorkspace):
        engine.text("../outside.py")
    with pytest.raises(PathOutsideWorkspace):
        engine.text("/etc/passwd")
    with pytest.raises(UnknownFile):
        engine.text("python/app/missing.py")
    with pytest.raises(UnknownFile):
        engine.definitions("README.md")
    with pytest.raises(SecretPathRefused):
        engine.definitions(".env")


def test_stats_count_languages_files_and_symbols(engine: Engine) -> None:
    stats = engine.stats()
    assert stats.languages == {"go": 2, "java": 3, "python": 4, "rust": 3, "typescript": 3}
    assert stats.files == 15
    assert stats.symbols == sum(len(engine.definitions(f)) for f in engine.files())
    assert stats.references > 50 and stats.index_bytes > 0 and stats.last_indexed > 0
    assert stats.skipped.get("unsupported_language", 0) >= 3


def test_definition_at_prefers_the_same_language_family(engine: Engine) -> None:
    engine.set_overlay("python/tools.py", "def NewCircle(r):\n    return r\n")
    engine.set_overlay("go/other/use.go", "package other\n\nfunc f() { NewCircle(1) }\n")
    found = engine.definition_at("go/other/use.go", 2, 12)
    assert found is not None and found.path == SHAPES_GO
    # App.java line 9: `inventory.addItem(...)` -> the Java method
    add_item = engine.definition_at(APP, 8, 20)
    assert add_item is not None and add_item.qualname == "Inventory.addItem"


def test_definition_at_prefers_source_over_a_test_helper_of_the_same_name(tmp_path: Path) -> None:
    (tmp_path / "web" / "core").mkdir(parents=True)
    (tmp_path / "tests").mkdir()
    (tmp_path / "web" / "core" / "engine.py").write_text("def make_engine():\n    return 1\n")
    (tmp_path / "tests" / "helpers.py").write_text("def make_engine():\n    return 2\n")
    (tmp_path / "web" / "main.py").write_text("def main():\n    return make_engine()\n")
    (tmp_path / "tests" / "test_main.py").write_text("def test_main():\n    assert make_engine()\n")
    # both candidates are in another folder of the same language: only being a test tells them apart (and the
    # path order alone would pick tests/helpers.py)
    with Engine(tmp_path) as engine:
        engine.index()
        from_source = engine.definition_at("web/main.py", 1, 12)
        from_test = engine.definition_at("tests/test_main.py", 1, 12)
    assert from_source is not None and from_source.path == "web/core/engine.py"
    assert from_test is not None and from_test.path == "tests/helpers.py"  # same folder wins inside the tests
