"""Prompt assembly on a real engine over a small repository: budgets, format, order, buffers, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from context.engine import Engine, EngineConfig
from context.errors import InvalidBudget, InvalidPosition
from context.prompt import tokens
from context.prompt.result import Prompt

MODELS = '''\
"""Data model of the shop."""


class Customer:
    """A person who buys things."""

    def __init__(self, name: str, email: str) -> None:
        self.name = name
        self.email = email

    def display_name(self) -> str:
        """Name shown in the user interface."""
        return self.name.title()


def make_customer(name: str) -> Customer:
    return Customer(name, f"{name}@example.com")
'''

PRICING = '''\
from shop.models import Customer

DISCOUNT_RATE = 0.1


def discounted_total(customer: Customer, amounts: list[float]) -> float:
    """Sum of amounts after the loyalty discount."""
    total = sum(amounts)
    return total * (1 - DISCOUNT_RATE)


def format_price(value: float) -> str:
    return f"{value:.2f} EUR"
'''

SETTINGS = """\
SERVICE_URL = "https://api.example.com"
API_KEY = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
"""

CHECKOUT = """\
from shop.models import Customer, make_customer
from shop.pricing import discounted_total, format_price


def checkout(name: str, amounts: list[float]) -> str:
    customer = make_customer(name)
    total = discounted_total(customer, amounts)
    return format_price(total)


def receipt(customer: Customer) -> str:
    lines = [customer.display_name()]
    return "\\n".join(lines)
"""


def write_repo(root: Path, extra: dict[str, str] | None = None) -> Path:
    files = {
        "shop/__init__.py": "",
        "shop/models.py": MODELS,
        "shop/pricing.py": PRICING,
        "shop/settings.py": SETTINGS,
        "shop/checkout.py": CHECKOUT,
        ".env": "DATABASE_PASSWORD=hunter2-very-secret\n",
    }
    files.update(extra or {})
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "shop-repo")


@pytest.fixture
def engine(repo: Path) -> Engine:
    with Engine(repo) as engine:
        engine.index()
        yield engine


def file_blocks(prompt: Prompt) -> list[str]:
    """The paths after each ``<|file_sep|>`` marker, in order."""
    return [part.split("\n", 1)[0] for part in prompt.text.split(tokens.FILE_SEP)[1:]]


def test_the_prompt_has_the_repository_level_fim_layout_with_the_current_file_last(engine: Engine) -> None:
    prompt = engine.fim_prompt("shop/checkout.py", 6, 4, budget=4096)
    text = prompt.text
    assert text.startswith(f"{tokens.REPO_NAME}shop-repo\n{tokens.FILE_SEP}")
    assert text.endswith(tokens.FIM_MIDDLE)
    assert (
        text.count(tokens.FIM_PREFIX) == text.count(tokens.FIM_SUFFIX) == text.count(tokens.FIM_MIDDLE) == 1
    )
    assert file_blocks(prompt)[-1] == "shop/checkout.py"
    assert text.index(tokens.FIM_PREFIX) > text.rindex(tokens.FILE_SEP)
    assert f"{tokens.FILE_SEP}shop/checkout.py\n{tokens.FIM_PREFIX}" in text
    assert [s.path for s in prompt.sections] == file_blocks(prompt)
    assert prompt.sections[-1].kind == "current"
    assert all(s.kind in {"file", "signatures", "names"} for s in prompt.sections[:-1])
    assert (
        text.split(tokens.FIM_PREFIX)[1]
        == f"{prompt.prefix}{tokens.FIM_SUFFIX}{prompt.suffix}{tokens.FIM_MIDDLE}"
    )


def test_the_prefix_and_suffix_split_the_file_at_the_cursor(engine: Engine) -> None:
    prompt = engine.fim_prompt("shop/checkout.py", 6, 4, budget=4096)
    assert prompt.prefix + prompt.suffix == CHECKOUT
    assert prompt.prefix.endswith("customer = make_customer(name)\n    ")
    assert prompt.suffix.startswith("total = discounted_total(")


def test_definitions_come_before_the_files_that_use_them(engine: Engine) -> None:
    blocks = file_blocks(engine.fim_prompt("shop/checkout.py", 6, 4, budget=4096))
    assert blocks.index("shop/models.py") < blocks.index("shop/pricing.py") < blocks.index("shop/checkout.py")


def test_each_context_file_says_why_it_was_chosen(engine: Engine) -> None:
    prompt = engine.fim_prompt("shop/checkout.py", 6, 4, budget=4096)
    assert all(section.reason for section in prompt.sections)


@pytest.mark.parametrize("budget", [1024, 1500, 2048, 4096, 8192, 32768])
def test_the_whole_prompt_never_exceeds_the_budget_counted_with_the_real_tokenizer(
    tmp_path: Path, budget: int
) -> None:
    big = "\n".join(
        f"def helper_{i}(value: int, other: str = 'x') -> int:\n    return value + {i}\n" for i in range(600)
    )
    uses = "\n".join(f"    total += helper_{i}(total)" for i in range(0, 600, 3))
    current = f"from lib.helpers import *\n\n\ndef run(total: int) -> int:\n{uses}\n    return total\n"
    root = write_repo(
        tmp_path / "big", {"lib/__init__.py": "", "lib/helpers.py": big, "app/run.py": current * 3}
    )
    with Engine(root) as engine:
        engine.index()
        for line in (0, 40, 200, 400, 609):
            prompt = engine.fim_prompt("app/run.py", line, 4, budget=budget)
            exact = len(tokens.encode(prompt.text))
            assert exact == prompt.tokens <= budget
            assert sum(s.tokens for s in prompt.sections) + tokens.count(f"{tokens.REPO_NAME}big\n") == exact


def test_small_budgets_still_show_the_signatures_of_what_the_cursor_line_is_about_to_call(
    engine: Engine,
) -> None:
    lines = CHECKOUT.split("\n")
    lines[6] = "    "
    prompt = engine.fim_prompt("shop/checkout.py", 6, 4, budget=1024, buffer="\n".join(lines))
    assert "def discounted_total(customer: Customer, amounts: list[float]) -> float:" in prompt.text
    assert "def make_customer(name: str) -> Customer:" in prompt.text


def test_the_members_of_a_class_the_file_uses_are_shown(engine: Engine) -> None:
    prompt = engine.fim_prompt("shop/checkout.py", 11, 4, budget=2048)
    assert "    def display_name(self) -> str:" in prompt.text


def test_an_unsaved_buffer_wins_over_the_file_on_disk(engine: Engine) -> None:
    buffer = CHECKOUT.replace("def receipt(", "def unsaved_receipt_v2(") + "\nprint(format_price(1))\n"
    prompt = engine.fim_prompt("shop/checkout.py", 3, 0, budget=4096, buffer=buffer)
    assert "unsaved_receipt_v2" in prompt.prefix + prompt.suffix
    assert "def receipt(" not in prompt.suffix
    assert prompt.prefix + prompt.suffix == buffer


def test_an_overlay_set_on_the_engine_is_what_the_prompt_shows(engine: Engine) -> None:
    engine.set_overlay("shop/checkout.py", "from shop.pricing import format_price\n\nformat_price(3)\n")
    prompt = engine.fim_prompt("shop/checkout.py", 2, 0, budget=2048)
    assert prompt.suffix == "format_price(3)\n"
    assert "def format_price(value: float) -> str:" in prompt.text


def test_secrets_never_appear_in_a_prompt(engine: Engine) -> None:
    buffer = (
        CHECKOUT + '\nSTRIPE_SECRET_KEY = "sk_live_51HcQx2eZvKYlo2CabcdefGHIJKLmnop"\nSERVICE_URL\nAPI_KEY\n'
    )
    for budget in (1024, 32768):
        for line in (0, 14, 16):
            prompt = engine.fim_prompt("shop/checkout.py", line, 0, budget=budget, buffer=buffer)
            assert "sk_live_51HcQx2eZvKYlo2CabcdefGHIJKLmnop" not in prompt.text
            assert "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c" not in prompt.text
            assert "hunter2" not in prompt.text
            assert ".env" not in file_blocks(prompt)


def test_marker_strings_inside_files_cannot_break_the_layout(tmp_path: Path) -> None:
    sneaky = (
        'MARKERS = ["<|file_sep|>", "<|fim_middle|>", "<|endoftext|>"]\n\n\n'
        "def markers_list() -> list:\n    return MARKERS\n"
    )
    root = write_repo(tmp_path / "sneaky", {"shop/markers.py": sneaky})
    with Engine(root) as engine:
        engine.index()
        buffer = "from shop.markers import markers_list\n# <|fim_suffix|> in a comment\nmarkers_list()\n"
        prompt = engine.fim_prompt("shop/checkout.py", 2, 0, budget=32768, buffer=buffer)
    ids = tokens.encode(prompt.text)
    assert ids.count(tokens.SPECIAL_TOKENS[tokens.FILE_SEP]) == len(prompt.sections)
    assert ids.count(tokens.SPECIAL_TOKENS[tokens.FIM_MIDDLE]) == 1
    assert ids.count(tokens.SPECIAL_TOKENS[tokens.FIM_SUFFIX]) == 1
    assert tokens.SPECIAL_TOKENS["<|endoftext|>"] not in ids
    assert ids[-1] == tokens.SPECIAL_TOKENS[tokens.FIM_MIDDLE]


def test_the_same_input_gives_the_same_prompt_even_from_a_fresh_engine(repo: Path) -> None:
    texts = []
    for _ in range(2):
        with Engine(repo) as engine:
            engine.index()
            texts.append(
                [engine.fim_prompt("shop/checkout.py", line, 2, budget=2048).text for line in (1, 6, 11)]
            )
            texts.append(
                [engine.fim_prompt("shop/checkout.py", line, 2, budget=2048).text for line in (1, 6, 11)]
            )
    assert texts[0] == texts[1] == texts[2] == texts[3]


@pytest.mark.parametrize("budget", [0, 1023, 262_145, 2_000_000])
def test_budgets_outside_the_allowed_range_are_refused(engine: Engine, budget: int) -> None:
    with pytest.raises(InvalidBudget):
        engine.fim_prompt("shop/checkout.py", 0, 0, budget=budget)


def test_budgets_beyond_256k_need_long_context(repo: Path) -> None:
    with Engine(repo, EngineConfig(long_context=True)) as engine:
        engine.index()
        prompt = engine.fim_prompt("shop/checkout.py", 0, 0, budget=1_048_576)
        assert prompt.tokens <= 1_048_576
        with pytest.raises(InvalidBudget):
            engine.fim_prompt("shop/checkout.py", 0, 0, budget=1_048_577)


def test_a_cursor_outside_the_file_is_refused(engine: Engine) -> None:
    with pytest.raises(InvalidPosition):
        engine.fim_prompt("shop/checkout.py", 500, 0)


def test_a_column_past_the_end_of_the_line_puts_the_cursor_at_its_end(engine: Engine) -> None:
    prompt = engine.fim_prompt("shop/checkout.py", 0, 999, budget=2048)
    assert prompt.prefix == CHECKOUT.split("\n")[0]


def test_a_long_current_file_is_trimmed_around_the_cursor_keeping_more_before_than_after(
    tmp_path: Path,
) -> None:
    body = "\n".join(f"        step_{i} = compute(step_{i - 1}, {i})" for i in range(1, 3000))
    current = f"class Pipeline:\n    def run(self, step_0):\n{body}\n        return step_2999\n"
    root = write_repo(tmp_path / "long", {"shop/pipeline.py": current})
    with Engine(root) as engine:
        engine.index()
        prompt = engine.fim_prompt("shop/pipeline.py", 1500, 4, budget=4096)
    assert prompt.tokens <= 4096
    before, after = tokens.count(prompt.prefix), tokens.count(prompt.suffix)
    assert 2 * after < before
    assert prompt.prefix.startswith("class Pipeline:\n    def run(self, step_0):\n")
    assert "step_1498 = compute" in prompt.prefix
    assert prompt.suffix.startswith("    step_1499 = compute")


@pytest.mark.parametrize("editor", ["passes the buffer", "sets an overlay"])
def test_typing_at_one_place_keeps_the_leading_tokens_of_consecutive_prompts(engine: Engine, editor: str) -> None:
    lines = CHECKOUT.split("\n")
    typed = "    extra = discounted_total(customer, [format_price(1.0)])"
    previous: list[int] | None = None
    shares = []
    for end in range(4, len(typed) + 1):
        lines[7] = typed[:end]
        if editor == "sets an overlay":
            engine.set_overlay("shop/checkout.py", "\n".join(lines))
            prompt = engine.fim_prompt("shop/checkout.py", 7, end, budget=8192)
        else:
            prompt = engine.fim_prompt("shop/checkout.py", 7, end, budget=8192, buffer="\n".join(lines))
        ids = tokens.encode(prompt.text)
        if previous is not None:
            same = next(
                (i for i, (a, b) in enumerate(zip(ids, previous, strict=False)) if a != b),
                min(len(ids), len(previous)),
            )
            shares.append(same / len(ids))
        previous = ids
    assert sum(shares) / len(shares) >= 0.9


def test_chat_context_is_markdown_with_one_fenced_block_per_file(engine: Engine) -> None:
    prompt = engine.chat_context("how is the discounted total computed for a customer", budget=2048)
    assert prompt.tokens == tokens.count(prompt.text) <= 2048
    assert "`shop/pricing.py`\n```python\n" in prompt.text
    assert "def discounted_total(" in prompt.text
    assert tokens.FILE_SEP not in prompt.text
    assert "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c" not in prompt.text


def test_chat_context_shows_focus_files_whole(engine: Engine) -> None:
    prompt = engine.chat_context("receipt", focus=["shop/checkout.py"], budget=4096)
    assert CHECKOUT.rstrip("\n") in prompt.text
    assert any(s.path == "shop/checkout.py" and s.kind == "file" for s in prompt.sections)


def test_the_repository_map_lists_signatures_of_the_most_used_files_within_its_budget(engine: Engine) -> None:
    text = engine.repo_map(budget=1024)
    assert tokens.count(text) <= 1024
    assert "shop/models.py:\n" in text
    assert "class Customer:" in text
    small = engine.repo_map(budget=40)
    assert tokens.count(small) <= 40


def test_a_change_to_another_file_shows_in_the_next_prompt_at_the_same_cursor(engine: Engine) -> None:
    before = engine.fim_prompt("shop/checkout.py", 6, 4, budget=4096)
    assert "def format_price(value: float) -> str:" in before.text
    engine.set_overlay(
        "shop/pricing.py", PRICING.replace("def format_price(value: float)", "def format_price(cents: int)")
    )
    after = engine.fim_prompt("shop/checkout.py", 6, 4, budget=4096)
    assert "def format_price(cents: int) -> str:" in after.text
    assert "def format_price(value: float)" not in after.text


def test_after_an_edit_moves_definitions_the_next_prompt_shows_their_new_lines(engine: Engine) -> None:
    # Too long to be shown whole at this budget, so the class's members are chosen one by one.
    padded = MODELS + "".join(f"\n\ndef unrelated_helper_{n}(value: int) -> int:\n    return value\n" for n in range(60))
    engine.set_overlay("shop/models.py", padded)
    before = engine.fim_prompt("shop/checkout.py", 12, 4, budget=1024)  # remembers what the files define
    assert "def display_name(self) -> str:" in before.text
    method = "    def loyalty_points(self) -> int:\n        return len(self.name)\n\n"
    engine.set_overlay("shop/models.py", padded.replace("    def display_name", method + "    def display_name"))
    after = engine.fim_prompt("shop/checkout.py", 12, 4, budget=1024)
    assert "def loyalty_points(self) -> int:" in after.text
    assert "def unrelated_helper_0(value: int) -> int:" in after.text
    assert "\n    return value\n" not in after.text  # no header taken from where the definition used to be
    assert after.tokens == tokens.count(after.text) <= 1024


def test_recently_edited_files_are_pulled_into_the_context(tmp_path: Path) -> None:
    unrelated = "def audit_trail_entry(kind: str) -> dict:\n    return {'kind': kind}\n"
    root = write_repo(tmp_path / "recent", {"audit/log.py": unrelated})
    with Engine(root) as engine:
        engine.index()
        without = engine.fim_prompt("shop/checkout.py", 6, 4, budget=1024)
        with_recent = engine.fim_prompt("shop/checkout.py", 6, 4, budget=1024, recent=["audit/log.py"])
    reasons = {s.path: s.reason for s in with_recent.sections}
    assert "recently edited" in reasons["audit/log.py"]
    assert "recently edited" not in {s.path: s.reason for s in without.sections}.get("audit/log.py", "")


def test_chat_context_shows_the_best_matching_definitions_whole(engine: Engine) -> None:
    prompt = engine.chat_context("How is the discounted total computed?", budget=2048)
    assert "    return total * (1 - DISCOUNT_RATE)" in prompt.text
    assert any("whole definition" in s.reason for s in prompt.sections if s.path == "shop/pricing.py")


def test_a_new_unsaved_file_gets_a_prompt_from_its_buffer_alone(engine: Engine) -> None:
    buffer = "from shop.pricing import format_price\n\nlabel = format_price(9.5)\n"
    prompt = engine.fim_prompt("shop/new_module.py", 2, 8, budget=2048, buffer=buffer)
    assert prompt.prefix + prompt.suffix == buffer
    assert "def format_price(value: float) -> str:" in prompt.text
    assert prompt.tokens <= 2048


def test_an_empty_buffer_and_a_huge_cursor_line_still_fit_the_budget(engine: Engine) -> None:
    assert engine.fim_prompt("shop/checkout.py", 0, 0, budget=1024, buffer="").text.endswith(tokens.FIM_MIDDLE)
    huge = "x = [" + ", ".join(str(i) for i in range(5000)) + "]"
    prompt = engine.fim_prompt("shop/checkout.py", 0, len(huge) // 2, budget=1024, buffer=huge)
    assert tokens.count(prompt.text) == prompt.tokens <= 1024
