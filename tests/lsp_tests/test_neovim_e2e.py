"""A real editor: Neovim 0.12 (headless) shows qwen-lsp's inline completion, accepts it, writes the file;
applies a code action's edit as the server meant it; and shows the review of a file's unsaved changes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from lsp_helpers import FINDINGS, QWEN_LSP, committed

from context.model.fakeserver import FakeOpenAIServer

SCRIPT = Path(__file__).with_name("neovim_e2e.lua")
DOCSTRING_SCRIPT = Path(__file__).with_name("neovim_docstring.lua")
REVIEW_SCRIPT = Path(__file__).with_name("neovim_review.lua")
CHECKOUT = "from shop.pricing import apply_discount\n\nsubtotal = 100.0\n"


def test_neovim_shows_accepts_and_writes_the_inline_completion(repo: Path, tmp_path: Path, nvim: str) -> None:
    checkout = repo / "shop" / "checkout.py"
    checkout.write_text(CHECKOUT)
    log = tmp_path / "e2e.log"
    with FakeOpenAIServer(reply="apply_discount(subtotal, 10)") as model:
        env = {**os.environ, "QWEN_E2E_REPO": str(repo), "QWEN_E2E_LOG": str(log), "QWEN_E2E_LSP": QWEN_LSP,
               "QWEN_E2E_URL": model.base_url, "QWEN_NO_AUTODETECT": "1", "XDG_STATE_HOME": str(tmp_path),
               "XDG_CONFIG_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
        done = subprocess.run([nvim, "--headless", "--clean", "-S", str(SCRIPT)], env=env, cwd=repo,
                              capture_output=True, text=True, timeout=60, check=False)
        prompts = [request.body["prompt"] for request in model.requests_to("completions")]
    assert done.returncode == 0, (log.read_text() if log.exists() else "", done.stderr[-3000:])
    assert checkout.read_text() == CHECKOUT + "total = apply_discount(subtotal, 10)\n"
    assert any("def apply_discount(price: float, percent: float) -> float:" in prompt for prompt in prompts)


def test_neovim_adds_no_empty_line_when_documenting_the_last_function_of_a_file_without_a_final_newline(
        repo: Path, tmp_path: Path, nvim: str) -> None:
    pricing = repo / "shop" / "pricing.py"
    text = pricing.read_text().rstrip("\n")
    pricing.write_text(text)
    documented = ('def with_vat(price: float) -> float:\n    """Return ``price`` plus VAT."""\n'
                  '    return round(price * (1 + VAT_RATE), 2)\n')
    log = tmp_path / "docstring.json"
    with FakeOpenAIServer(reply=f"```python\n{documented}```\n") as model:
        env = {**os.environ, "QWEN_E2E_REPO": str(repo), "QWEN_E2E_LOG": str(log), "QWEN_E2E_LSP": QWEN_LSP,
               "QWEN_E2E_URL": model.base_url, "QWEN_NO_AUTODETECT": "1", "XDG_STATE_HOME": str(tmp_path),
               "XDG_CONFIG_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
        done = subprocess.run([nvim, "--headless", "--clean", "-S", str(DOCSTRING_SCRIPT)], env=env, cwd=repo,
                              capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and log.exists(), done.stderr[-3000:]
    buffer = json.loads(log.read_text())
    expected = text[:text.index("def with_vat")] + documented.rstrip("\n")
    assert (buffer["lines"], buffer["eol"]) == (expected.split("\n"), False)


def test_neovim_shows_the_review_of_a_files_unsaved_changes_and_leaves_the_buffer_alone(
        repo: Path, tmp_path: Path, nvim: str) -> None:
    committed(repo)
    log = tmp_path / "review.json"
    with FakeOpenAIServer(reply=FINDINGS) as model:
        env = {**os.environ, "QWEN_E2E_REPO": str(repo), "QWEN_E2E_LOG": str(log), "QWEN_E2E_LSP": QWEN_LSP,
               "QWEN_E2E_URL": model.base_url, "QWEN_NO_AUTODETECT": "1", "XDG_STATE_HOME": str(tmp_path),
               "XDG_CONFIG_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
        done = subprocess.run([nvim, "--headless", "--clean", "-S", str(REVIEW_SCRIPT)], env=env, cwd=repo,
                              capture_output=True, text=True, timeout=60, check=False)
        (request,) = model.requests_to("chat")
    assert done.returncode == 0 and log.exists(), done.stderr[-3000:]
    shown = json.loads(log.read_text())
    assert shown["shown"] and any(FINDINGS in message for message in shown["messages"]), shown["messages"]
    assert "+    return round(price * (1 - percent / 1000), 2)" in request.body["messages"][1]["content"]
    assert shown["modified"] and shown["lines"][7] == "    return round(price * (1 - percent / 1000), 2)"
    assert "percent / 100)" in (repo / "shop" / "pricing.py").read_text()  # nothing was written
