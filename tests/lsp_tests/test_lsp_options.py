"""Editor settings: typed, defaulted, and a bad value never stops the server."""

from __future__ import annotations

from lsp_server.options import ModelOptions, ServerOptions, merge, parse_options


def test_no_settings_give_the_defaults_without_complaint() -> None:
    options, problems = parse_options(None)
    assert options == ServerOptions()
    assert options.debounce_ms == 100 and options.budget == 8192 and options.inline and options.actions
    assert problems == []


def test_camel_case_keys_under_a_qwen_section_are_read() -> None:
    options, problems = parse_options({"qwen": {"debounceMs": 40, "model": {"baseUrl": "http://127.0.0.1:9/v1"},
                                                "languages": ["python"], "completion": True}})
    assert problems == []
    assert options.debounce_ms == 40
    assert options.model == ModelOptions(base_url="http://127.0.0.1:9/v1")
    assert options.serves("python") and not options.serves("go")
    assert options.completion is True


def test_each_bad_value_falls_back_to_its_default_and_is_named_in_a_message() -> None:
    options, problems = parse_options({"budget": 5, "debounceMs": "soon", "inline": False, "colour": "blue",
                                       "model": {"preset": "vllm", "temperature": 9}})
    assert options.budget == 8192 and options.debounce_ms == 100
    assert options.inline is False and options.model.preset == "vllm"
    assert len(problems) == 4
    for name in ("budget", "debounceMs", "colour", "model.temperature"):
        assert any(f"'{name}'" in problem for problem in problems), name


def test_settings_that_are_not_an_object_are_ignored_with_a_message() -> None:
    options, problems = parse_options(["budget", 4096])
    assert options == ServerOptions()
    assert problems and "must be an object" in problems[0]


def test_later_settings_are_layered_over_earlier_ones_key_by_key() -> None:
    merged = merge({"budget": 4096, "model": {"preset": "vllm"}}, {"qwen": {"model": {"model": "m"}}})
    assert merged == {"budget": 4096, "model": {"preset": "vllm", "model": "m"}}
