"""Shared fixtures: every test gets its own index cache, so no test sees another's index or the user's; and the
one rule for tests that need a real client (an editor, node, MCP Inspector, tmux): `require_client`.

A missing client skips its tests on a developer machine and fails them under ``CI=true``, so a broken install
step in CI can never hide behind a green run that silently tested nothing.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CHECKOUT = Path(__file__).resolve().parents[1]
#: The environment variable naming the Neovim 0.12 executable (`.ci/run` sets it).
NVIM_ENV = "QWEN_TEST_NVIM"
NVIM_HINT = (f"run `bash .ci/fetch-neovim .cache/neovim-0.12` in the checkout and export {NVIM_ENV}=<the path it "
             "prints> (.ci/run does both)")

#: What a test calls with the client's path (None when missing), what it is and how to install it.
ClientCheck = Callable[[str | None, str, str], str]


def require_client(path: str | None, what: str, hint: str) -> str:
    """``path`` when the client is there; otherwise skip the test, or fail it under ``CI=true``."""
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing in CI (CI=true): {hint}", pytrace=False)
    pytest.skip(f"{what} is missing: {hint}")


@pytest.fixture(scope="session")
def client() -> ClientCheck:
    """`require_client`, for fixtures and tests (test modules cannot import this conftest by name)."""
    return require_client


@pytest.fixture(scope="session")
def nvim() -> str:
    """The Neovim 0.12 executable named by ``$QWEN_TEST_NVIM``."""
    path = require_client(os.environ.get(NVIM_ENV), f"Neovim 0.12 (${NVIM_ENV})", NVIM_HINT)
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout
    assert "NVIM v0.12" in version, f"{NVIM_ENV}={path} is not Neovim 0.12: {version.splitlines()[:1]}"
    return path


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the engine's cache at a fresh folder and forget any model endpoint from the developer's shell."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("QWEN_CONTEXT_CACHE_DIR", str(cache))
    for var in ("QWEN_API_KEY", "DASHSCOPE_API_KEY", "OPENAI_API_KEY", "QWEN_BASE_URL", "OPENAI_BASE_URL",
                "QWEN_MODEL", "QWEN_FIM_MODEL", "QWEN_FIM_MODE", "QWEN_PRESET", "QWEN_CONTEXT_MAX_FILE_BYTES"):
        monkeypatch.delenv(var, raising=False)
    # Never probe the developer's local ports for a model server: tests talk to the fake server they start.
    monkeypatch.setenv("QWEN_NO_AUTODETECT", "1")
    monkeypatch.setenv("QWEN_CONTEXT_CONFIG", str(cache / "no-config.toml"))
    return cache
