"""Strict from day one: the whole tree passes ruff, and the three packages pass mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_the_tree_passes_ruff() -> None:
    result = _run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(600)
def test_the_packages_pass_mypy_strict() -> None:
    result = _run("mypy", "--strict", "context", "lsp_server", "mcp_server")
    assert result.returncode == 0, result.stdout + result.stderr
