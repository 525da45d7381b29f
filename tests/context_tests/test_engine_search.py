"""Symbol search ranking on a literal snapshot: tiers, camelCase/snake_case words, tie-breaking."""

from __future__ import annotations

import pytest

from context.index.snapshot import FileSymbols, Snapshot, is_test_path
from context.index.symbols import Definition


def snapshot(*specs: tuple[str, str, str]) -> Snapshot:
    """A snapshot from (path, qualname, kind) triples, one definition each, in order."""
    by_path: dict[str, list[Definition]] = {}
    for path, qualname, kind in specs:
        parent, _, name = qualname.rpartition(".")
        defs = by_path.setdefault(path, [])
        defs.append(Definition(name, kind, qualname, path, len(defs), 0, len(defs), f"{kind} {name}", "", parent))
    return Snapshot(FileSymbols(path, "python", path, "", definitions=defs, imports=[], references=[])
                    for path, defs in by_path.items())


NAMES = snapshot(
    ("a.py", "getUserName", "function"), ("a.py", "getUniforms", "function"), ("b.py", "get_user_name", "function"),
    ("b.py", "GetUniqueCheckTests", "class"), ("c.py", "user", "constant"), ("c.py", "User", "class"),
    ("c.py", "UserRepository", "class"), ("c.py", "UserRepository.user_count", "method"),
    ("d.py", "register_user", "function"), ("e.py", "Outer.User", "class"), ("f.py", "parse_http_header", "function"),
)


def names(query: str, kind: str | None = None, limit: int = 20) -> list[str]:
    return [d.qualname for d in NAMES.search(query, kind, limit)]


def test_exact_beats_caseless_beats_prefix_beats_words_beats_substring() -> None:
    # exact, nested exact, caseless exact, prefix, then the word "user" inside names (fewest other words and
    # functions first), then the substring
    assert names("User") == ["User", "Outer.User", "user", "UserRepository", "register_user",
                             "UserRepository.user_count", "getUserName", "get_user_name"]


@pytest.mark.parametrize(
    ("query", "first"),
    [("getUN", "getUserName"), ("get_user", "get_user_name"), ("getUserN", "getUserName"),
     ("GUCT", "GetUniqueCheckTests"), ("parseHH", "parse_http_header"), ("phh", "parse_http_header"),
     ("httpheader", "parse_http_header")],
)
def test_fuzzy_queries_find_names_by_their_words(query: str, first: str) -> None:
    assert names(query)[0] == first


def test_initials_match_as_a_run_of_word_prefixes() -> None:
    assert {"get_user_name", "getUserName", "getUniforms"} <= set(names("gun"))


def test_the_query_s_own_words_rank_above_a_caseless_prefix() -> None:
    found = names("getUN")
    assert found.index("getUserName") < found.index("GetUniqueCheckTests")
    assert "getUniforms" not in found[:2]


def test_kind_filter_and_limit_apply_after_ranking() -> None:
    assert names("user", kind="class") == ["User", "Outer.User", "UserRepository"]
    assert names("user", limit=2) == ["user", "User"]


def test_qualified_names_match_exactly() -> None:
    assert names("UserRepository.user_count") == ["UserRepository.user_count"]


def test_nothing_matches_nonsense_or_empty_queries() -> None:
    assert names("qqqzzz") == [] and names("   ") == [] and names("User", limit=0) == []


def test_search_follows_changed_names_and_keeps_its_index_for_unchanged_ones() -> None:
    snap = snapshot(("a.py", "alpha_one", "function"), ("b.py", "beta_two", "function"))
    assert [d.name for d in snap.search("alpha", None, 5)] == ["alpha_one"]
    index = snap._names_sorted()
    moved = Definition("alpha_one", "function", "alpha_one", "a.py", 3, 0, 3, "def alpha_one()")
    same = FileSymbols("a.py", "python", "h2", "", imports=[], references=[], definitions=[moved])
    snap.put(same)
    assert snap._names_sorted() is index  # an edit that keeps the names keeps the search index
    assert snap.search("alpha_one", None, 5)[0].line == 3
    renamed = FileSymbols("a.py", "python", "h3", "", imports=[], references=[],
                          definitions=[Definition("gamma", "function", "gamma", "a.py", 0, 0, 0, "def gamma()")])
    snap.put(renamed)
    assert snap.search("alpha", None, 5) == []
    assert [d.name for d in snap.search("gam", None, 5)] == ["gamma"]


def test_the_source_s_exact_match_in_any_case_ranks_above_a_test_fixture_of_the_same_name() -> None:
    repo = snapshot(("tests/test_engine.py", "engine", "function"), ("conftest.py", "engine", "function"),
                    ("lib/engine.py", "Engine", "class"), ("lib/server.py", "Server.engine", "method"),
                    ("lib/engine_test.go", "engine", "function"), ("lib/engines.py", "engines", "function"))
    # the band of exact matches puts source first (exact before caseless), then the tests; prefixes after
    assert [d.path for d in repo.search("engine", None, 10)] == [
        "lib/server.py", "lib/engine.py", "conftest.py", "lib/engine_test.go", "tests/test_engine.py",
        "lib/engines.py"]


@pytest.mark.parametrize(
    ("path", "is_test"),
    [("tests/a.py", True), ("pkg/test/A.java", True), ("src/__tests__/a.ts", True), ("a_test.go", True),
     ("test_a.py", True), ("web/a.spec.ts", True), ("conftest.py", True), ("contest/a.py", False),
     ("latest.py", False), ("src/testing_utils.py", False), ("attest/a.py", False)],
)
def test_test_paths_are_recognised_by_folder_or_file_name(path: str, is_test: bool) -> None:
    assert is_test_path(path) is is_test
