"""FIM output clean-up: what the editor inserts, from what the model wrote and the text around the cursor."""

from __future__ import annotations

import pytest

from context.model.cleanup import CompletionStream, clean_completion, shape_at


@pytest.mark.parametrize("special", ["<|file_sep|>", "<|fim_pad|>", "<|endoftext|>", "<|im_end|>", "<|fim_middle|>",
                                     "<|repo_name|>"])
def test_output_is_cut_at_every_qwen_special_token(special: str) -> None:
    text = f"    return a + b{special}utils.py\nimport os\n"
    assert clean_completion(text, "def add(a, b):\n", "\n", "python") == "    return a + b"


def test_mid_line_cursor_gets_a_single_line() -> None:
    assert clean_completion("compute(a, b)\nprint(x)\n", "x = ", "  # the result\n", "python") == "compute(a, b)"


def test_end_of_an_ordinary_line_gets_a_single_line() -> None:
    assert clean_completion(" + 1\ny = 2", "x = a", "\n", "python") == " + 1"


def test_after_a_block_opener_the_completion_is_the_block_and_stops_where_it_is_left() -> None:
    model = "\n    total = a + b\n    return total\n\ndef other():\n    pass\n"
    assert clean_completion(model, "def add(a, b):", "\n", "python") == "\n    total = a + b\n    return total"


def test_on_a_blank_indented_line_the_completion_stops_at_the_dedent() -> None:
    model = "x = 1\n    return x\n\nclass Next:\n"
    assert clean_completion(model, "def f():\n    ", "\n", "python") == "x = 1\n    return x"


def test_continuation_lines_at_the_opener_indentation_stay_in_the_block() -> None:
    model = "\n        a()\n    else:\n        b()\n    c()\nd()"
    assert clean_completion(model, "def f(x):\n    if x:", "\n", "python") == "\n        a()\n    else:\n        b()"


def test_a_bracket_the_suffix_already_closes_is_not_closed_again() -> None:
    assert clean_completion("a, b)", "print(", ")\n", "python") == "a, b"


def test_a_brace_block_ends_before_the_brace_the_suffix_closes() -> None:
    model = "\n  return 1;\n}\n\nfunction g() {\n  return 2;\n}"
    assert clean_completion(model, "function f() {", "\n}\n", "javascript") == "\n  return 1;"


def test_a_bracket_the_suffix_leaves_open_may_be_closed() -> None:
    assert clean_completion("\n  return 1;\n}", "function f() {", "", "javascript") == "\n  return 1;\n}"


def test_brackets_inside_strings_and_comments_do_not_count() -> None:
    assert clean_completion('")" + x  # ) here', "f(", ")\n", "python") == '")" + x  # ) here'


def test_rust_lifetimes_are_not_mistaken_for_strings() -> None:
    assert clean_completion("x: &'a str)", "fn f<'a>(", ")\n", "rust") == "x: &'a str"


def test_the_tail_that_repeats_the_rest_of_the_line_is_dropped() -> None:
    assert clean_completion('hello"', 's = "', '"\n', "python") == "hello"
    assert clean_completion("x if y else 0", "v = ", " else 0\n", "python") == "x if y"


def test_a_completion_that_starts_writing_the_suffix_again_is_cut_there() -> None:
    suffix = "\n    return result\n"
    model = "result = compute()\n    return result\n"
    assert clean_completion(model, "def f():\n    ", suffix, "python") == "result = compute()"


def test_multi_line_completions_are_limited_to_max_lines() -> None:
    model = "".join(f"    x{i} = {i}\n" for i in range(30))
    cleaned = clean_completion(model, "def f():\n    ", "\n", "python", max_lines=5)
    assert cleaned.count("\n") == 4


def test_chat_output_loses_its_markdown_fence() -> None:
    model = "```python\n    total = a + b\n    return total\n```\nThis adds the numbers."
    cleaned = clean_completion(model, "def add(a, b):\n", "\n", "python", chat=True)
    assert cleaned == "    total = a + b\n    return total"


def test_chat_prose_before_a_fenced_block_is_dropped() -> None:
    model = "Here is the code:\n```python\nreturn a + b\n```"
    assert clean_completion(model, "def add(a, b):\n    ", "\n", "python", chat=True) == "return a + b"


def test_chat_echo_of_the_cursor_line_is_dropped() -> None:
    assert clean_completion("    x = compute()", "def f():\n    x = ", "\n", "python", chat=True) == "compute()"


def test_chat_echo_of_several_prefix_lines_is_dropped() -> None:
    model = "def f():\n    x = 5\n    y = 2\n    return x"
    assert clean_completion(model, "def f():\n    x = 5\n", "    return x\n", "python", chat=True) == "    y = 2"


def test_fences_are_kept_outside_the_chat_route() -> None:
    assert clean_completion("```", 'doc = """\n', '\n"""\n', "python") == "```"


def test_shape_follows_the_syntax_at_the_cursor() -> None:
    assert not shape_at("x = foo(", "a)\n", "python").multiline
    assert shape_at("if x:", "\n", "python").multiline
    assert shape_at("fn main() {", "}\n", "rust").multiline
    assert shape_at("    ", "\n", "python").multiline
    assert not shape_at("return x", "\n", "python").multiline


def test_the_stream_releases_whole_lines_and_stops_at_the_dedent() -> None:
    stream = CompletionStream("def f():\n    ", "\n", "python")
    released = [stream.feed(delta) for delta in ["a = 1\n", "    b", " = 2\n", "\ndef g", "():\n"]]
    assert released[:2] == ["a = 1", ""]
    assert stream.done
    assert "".join(released) + stream.finish() == "a = 1\n    b = 2"


def test_the_stream_holds_a_single_line_until_it_is_complete() -> None:
    stream = CompletionStream("x = ", "\n", "python")
    assert stream.feed("comp") == ""
    assert stream.feed("ute()\nmore") == ""
    assert stream.done
    assert stream.finish() == "compute()"


def test_the_stream_holds_back_a_possible_echo_on_the_chat_route() -> None:
    stream = CompletionStream("def f():\n    x = 5\n", "\n", "python", chat=True)
    assert stream.feed("def f():\n") == ""
    assert stream.feed("    x = 5\n    y = 2\n") == "    y = 2"
    assert stream.finish() == ""
    assert stream.text == "    y = 2"


EXAMPLES = [
    ("    return a + b<|file_sep|>utils.py\nimport os\n", "def add(a, b):\n", "\n", "python", False),
    ("compute(a, b)\nprint(x)\n", "x = ", "  # the result\n", "python", False),
    ("\n    total = a + b\n    return total\n\ndef other():\n    pass\n", "def add(a, b):", "\n", "python", False),
    ("\n  return 1;\n}\n\nfunction g() {\n  return 2;\n}", "function f() {", "\n}\n", "javascript", False),
    ('")" + x  # ) here', "f(", ")\n", "python", False),
    ("result = compute()\n    return result\n", "def f():\n    ", "\n    return result\n", "python", False),
    ("```python\n    total = a + b\n    return total\n```\nThis adds the numbers.", "def add(a, b):\n", "\n",
     "python", True),
    ("def f():\n    x = 5\n    y = 2\n    return x", "def f():\n    x = 5\n", "    return x\n", "python", True),
    ("".join(f"    x{i} = {i}\n" for i in range(30)), "def f():\n    ", "\n", "python", False),
]


@pytest.mark.parametrize("size", [1, 3, 7])
@pytest.mark.parametrize(("text", "prefix", "suffix", "language", "chat"), EXAMPLES)
def test_streaming_in_any_chunking_gives_what_cleaning_the_whole_text_gives(
        text: str, prefix: str, suffix: str, language: str, chat: bool, size: int) -> None:
    stream = CompletionStream(prefix, suffix, language, 5, chat=chat)
    released = ""
    for start in range(0, len(text), size):
        released += stream.feed(text[start:start + size])
        if stream.done:
            break
    assert released + stream.finish() == clean_completion(text, prefix, suffix, language, 5, chat=chat)


@pytest.mark.parametrize("chat", [False, True])
@pytest.mark.parametrize("text", ["x" * 80_000, "\n" * 80_000, "    y = 1\n" * 8_000],
                         ids=["one-line", "blank-lines", "many-lines"])
def test_a_long_answer_streamed_a_character_at_a_time_is_cleaned_as_a_whole(text: str, chat: bool) -> None:
    """80,000 characters one at a time (bench/bench_linear.py measures that the cost per character stays flat)."""
    stream = CompletionStream("def f():\n    return ", "\n", "python", 16, chat=chat)
    released = ""
    for char in text:
        released += stream.feed(char)
        if stream.done:
            break
    released += stream.finish()
    assert released == clean_completion(text, "def f():\n    return ", "\n", "python", 16, chat=chat)
