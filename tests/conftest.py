"""Shared fixtures: every test gets its own index cache, so no test sees another's index or the user's."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


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
