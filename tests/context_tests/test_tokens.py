"""The Qwen tokenizer wrapper: exact counts with control markers, the reference's ids, defusing."""

from __future__ import annotations

import pytest

from context.prompt import tokens


def test_ordinary_text_encodes_to_the_reference_ids() -> None:
    assert tokens.encode("def hello_world():\n    return 42") == [
        750,
        23811,
        31792,
        3932,
        262,
        470,
        220,
        19,
        17,
    ]


@pytest.mark.parametrize(("marker", "ident"), sorted(tokens.SPECIAL_TOKENS.items()))
def test_every_control_marker_is_one_token_with_its_qwen_id(marker: str, ident: int) -> None:
    assert tokens.encode(marker) == [ident]
    assert tokens.count(marker) == 1


def test_control_markers_span_ids_151643_to_151664() -> None:
    assert sorted(tokens.SPECIAL_TOKENS.values()) == list(range(151643, 151665))


def test_count_equals_the_length_of_the_encoding_for_a_whole_prompt() -> None:
    prompt = (
        "<|repo_name|>demo\n<|file_sep|>a.py\ndef f():\n    return 1\n\n<|file_sep|>b.py\n"
        "<|fim_prefix|>from a import f\nx = <|fim_suffix|>\nprint(x)\n<|fim_middle|>"
    )
    assert tokens.count(prompt) == len(tokens.encode(prompt))


def test_count_of_marker_separated_segments_adds_up_exactly() -> None:
    segments = ["demo\n", "a.py\n  x = 1\n\n\n", "b.py\n", "  y\n\n", "\n\n  z"]
    joined = tokens.FILE_SEP.join(segments)
    assert tokens.count(joined) == sum(tokens.count(s) for s in segments) + len(segments) - 1


def test_markers_are_plain_text_when_specials_are_off() -> None:
    assert len(tokens.encode("<|file_sep|>", specials=False)) > 1


def test_defuse_turns_markers_in_file_text_into_ordinary_text() -> None:
    text = 'SEP = "<|file_sep|>"  # and <|fim_middle|> and <think>\n'
    defused = tokens.defuse(text)
    assert not any(ident >= 151643 for ident in tokens.encode(defused))
    assert defused.count("\n") == text.count("\n")
    assert tokens.defuse("plain text") == "plain text"


def test_decode_inverts_encode() -> None:
    text = "<|fim_prefix|>naïve = 'ü'\n<|fim_suffix|>"
    assert tokens.decode(tokens.encode(text)) == text


def test_token_cache_returns_the_exact_count_and_forgets_beyond_its_size() -> None:
    cache = tokens.TokenCache(max_chars=20)
    assert cache.count("hello world") == tokens.count("hello world")
    assert cache.count("hello world") == tokens.count("hello world")
    assert cache.count("another longer text") == tokens.count("another longer text")
    assert cache.count("hello world") == tokens.count("hello world")
