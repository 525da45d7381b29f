"""Ranking functions on small literal inputs: identifiers, PageRank, fusion, BM25, dependency order."""

from __future__ import annotations

from collections import Counter

from context.prompt import rank


def test_identifiers_skip_keywords_and_one_letter_names() -> None:
    assert rank.identifiers("def parse_file(x): return self.reader.read_all(x)") == [
        "parse_file",
        "reader",
        "read_all",
    ]


def test_identifier_weights_favour_lines_near_the_cursor_and_ignore_the_cursor_line() -> None:
    lines = ["far_away()"] + ["pass"] * 100 + ["near_one()", "typing_here", "after_cursor()"]
    weights = rank.identifier_weights(lines, cursor_line=102)
    assert "typing_here" not in weights
    assert weights["near_one"] > weights["far_away"]
    assert weights["after_cursor"] == weights["near_one"]


def test_identifier_weights_do_not_change_while_the_cursor_line_is_edited() -> None:
    before = ["import helpers", "def f():", "    helpers.lo", "    return 1"]
    after = ["import helpers", "def f():", "    helpers.load_config(", "    return 1"]
    assert rank.identifier_weights(before, 2) == rank.identifier_weights(after, 2)


def test_subwords_split_camel_and_snake_case() -> None:
    assert sorted(rank.subwords("parseHTTPHeader_v2 plain")) == [
        "header",
        "http",
        "parse",
        "parsehttpheader_v2",
        "plain",
    ]


def test_personalized_pagerank_ranks_the_seed_and_its_dependencies_above_unrelated_files() -> None:
    graph = {"a.py": {"b.py": 1.0}, "b.py": {"c.py": 1.0}, "x.py": {"y.py": 1.0}}
    scores = rank.personalized_pagerank(graph, rank.reverse_graph(graph), {"a.py": 1.0})
    assert scores["b.py"] > scores["c.py"] > 0 and scores["a.py"] > scores["c.py"]
    assert scores.get("x.py", 0.0) == 0.0


def test_personalized_pagerank_follows_edges_backwards_to_dependents() -> None:
    graph = {"user.py": {"lib.py": 1.0}}
    scores = rank.personalized_pagerank(graph, rank.reverse_graph(graph), {"lib.py": 1.0})
    assert scores["user.py"] > 0


def test_global_pagerank_puts_the_most_depended_on_file_first() -> None:
    graph = {"a": {"core": 1.0}, "b": {"core": 1.0}, "c": {"core": 1.0, "a": 1.0}}
    scores = rank.pagerank(graph)
    assert max(scores, key=scores.__getitem__) == "core"
    assert abs(sum(scores.values()) - 1.0) < 1e-6


def test_reciprocal_rank_fusion_rewards_agreement_and_names_the_strongest_source() -> None:
    fused = rank.reciprocal_rank_fusion({"used": ["a", "b", "c"], "lexical": ["c", "b"]})
    assert [item for item, _, _ in fused] == ["b", "c", "a"]
    sources = {item: source for item, _, source in fused}
    assert sources["a"] == "used"


def test_reciprocal_rank_fusion_is_deterministic_for_ties() -> None:
    rankings = {"used": ["x", "y"], "imported": ["y", "x"]}
    assert rank.reciprocal_rank_fusion(rankings) == rank.reciprocal_rank_fusion(
        dict(reversed(rankings.items()))
    )


def test_bm25_ranks_documents_sharing_rare_query_terms_first() -> None:
    documents = [
        Counter(["open", "file"]),
        Counter(["parse", "config", "file"]),
        Counter(["render", "template"]),
    ]
    ranked = rank.bm25(["parse", "config"], documents)
    assert ranked[0][0] == 1
    assert all(index != 2 for index, _ in ranked)


def test_dependency_order_puts_definitions_before_their_users_and_breaks_cycles_by_name() -> None:
    graph = {
        "app.py": {"models.py": 1.0, "util.py": 1.0},
        "models.py": {"util.py": 1.0},
        "a.py": {"b.py": 1.0},
        "b.py": {"a.py": 1.0},
    }
    order = rank.dependency_order(["app.py", "models.py", "util.py", "a.py", "b.py"], graph)
    assert order.index("util.py") < order.index("models.py") < order.index("app.py")
    assert order == rank.dependency_order(["b.py", "a.py", "util.py", "models.py", "app.py"], graph)


def test_query_terms_drop_english_filler_and_add_stems() -> None:
    assert rank.query_terms("How are redirects followed when the Authorization header is stripped?") == [
        "redirects", "redirect", "followed", "follow", "Authorization", "header", "stripped", "strip",
    ]
