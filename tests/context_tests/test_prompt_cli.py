"""The prompt, map and context commands, run as real subprocesses: JSON shapes, batch mode, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_prompt import CHECKOUT, write_repo

from context.prompt import tokens


def qwen_context(
    *args: str, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "context.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=stdin,
        timeout=120,
        check=False,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "shop-repo")


def assert_prompt_shape(value: dict[str, object], budget: int) -> None:
    assert set(value) >= {"prompt", "tokens", "budget", "sections", "elapsed_ms"}
    assert isinstance(value["prompt"], str) and isinstance(value["elapsed_ms"], float)
    assert value["budget"] == budget
    assert value["tokens"] == tokens.count(value["prompt"]) <= budget
    sections = value["sections"]
    assert isinstance(sections, list) and sections
    for section in sections:
        assert set(section) == {"path", "kind", "tokens", "reason"}
        assert isinstance(section["tokens"], int) and isinstance(section["reason"], str)
    assert sections[-1]["kind"] == "current"


def test_prompt_json_has_the_contracted_shape_and_one_based_positions(repo: Path) -> None:
    result = qwen_context("prompt", "shop/checkout.py:7:5", "--repo", str(repo), "--budget", "2048", "--json")
    assert result.returncode == 0, result.stderr
    value = json.loads(result.stdout)
    assert_prompt_shape(value, 2048)
    assert value["prompt"].split(tokens.FIM_PREFIX)[1].startswith(CHECKOUT[: CHECKOUT.index("total = disc")])


def test_prompt_prints_the_exact_prompt_text_without_json(repo: Path) -> None:
    result = qwen_context("prompt", "shop/checkout.py:1:1", "--repo", str(repo), "--budget", "2048")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{tokens.REPO_NAME}shop-repo\n")
    assert result.stdout.endswith(f"{tokens.FIM_MIDDLE}\n")


def test_prompt_buffer_file_replaces_the_file_on_disk(repo: Path, tmp_path: Path) -> None:
    buffer = tmp_path / "unsaved.py"
    buffer.write_text("from shop.pricing import format_price\n\nvalue_from_the_buffer = format_price(2)\n")
    result = qwen_context(
        "prompt", "shop/checkout.py:3:1", "--repo", str(repo), "--buffer", str(buffer), "--json"
    )
    assert result.returncode == 0, result.stderr
    text = json.loads(result.stdout)["prompt"]
    assert "value_from_the_buffer" in text
    assert "def receipt(" not in text.split(tokens.FIM_PREFIX)[1]
    assert "def format_price(value: float) -> str:" in text


def test_prompt_batch_answers_each_line_in_order_in_one_process(repo: Path, tmp_path: Path) -> None:
    requests = [
        {"path": "shop/checkout.py", "line": 6, "character": 4},
        {
            "path": "shop/checkout.py",
            "line": 0,
            "character": 0,
            "budget": 1024,
            "buffer": "from shop.models import make_customer\nmake_customer('x')\n",
        },
        {"path": "shop/nowhere.py", "line": 0, "character": 0},
        {"path": "shop/checkout.py", "line": 1, "character": 0, "budget": 10},
    ]
    batch = tmp_path / "in.jsonl"
    batch.write_text("".join(json.dumps(r) + "\n" for r in requests))
    result = qwen_context("prompt", "--batch", str(batch), "--repo", str(repo), "--budget", "4096")
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 4
    assert_prompt_shape(answers[0], 4096)
    assert_prompt_shape(answers[1], 1024)
    assert "make_customer('x')" in answers[1]["prompt"]
    assert set(answers[2]) == {"error"} and "nowhere" in answers[2]["error"]
    assert set(answers[3]) == {"error"} and "budget" in answers[3]["error"]


def test_a_bad_budget_is_one_error_line_and_exit_status_2(repo: Path) -> None:
    result = qwen_context("prompt", "shop/checkout.py:1:1", "--repo", str(repo), "--budget", "300000")
    assert result.returncode == 2
    assert result.stderr.startswith("qwen-context: error: ") and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_malformed_cursor_is_a_usage_error(repo: Path) -> None:
    result = qwen_context("prompt", "shop/checkout.py:x:1", "--repo", str(repo))
    assert result.returncode == 2
    assert "PATH:LINE:COL" in result.stderr


def test_map_prints_the_ranked_repository_map(repo: Path) -> None:
    result = qwen_context("map", "--repo", str(repo), "--budget", "1024", "--focus", "shop/checkout.py")
    assert result.returncode == 0, result.stderr
    assert "shop/models.py:\n" in result.stdout
    assert tokens.count(result.stdout) <= 512


def test_context_json_has_the_prompt_shape_and_markdown_text(repo: Path) -> None:
    result = qwen_context(
        "context", "discounted total for a customer", "--repo", str(repo), "--budget", "2048", "--json"
    )
    assert result.returncode == 0, result.stderr
    value = json.loads(result.stdout)
    assert set(value) >= {"prompt", "tokens", "budget", "sections", "elapsed_ms"}
    assert value["tokens"] <= 2048
    assert "`shop/pricing.py`\n```python\n" in value["prompt"]
