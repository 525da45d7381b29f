"""Fixtures of the qwen-mcp tests: a multi-language repository with secrets and escape hatches, a local model
endpoint."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp_support import ANSWER, COMPLETION, FIXTURE, plant_secrets_and_escapes

from context.model.fakeserver import FakeOpenAIServer, RecordedRequest


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of tests/fixtures/mcp_repo with secret files and symlinks out of the root planted in it."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    plant_secrets_and_escapes(root, tmp_path / "outside")
    return root


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    """The local OpenAI-compatible server, configured as the model endpoint through the environment."""

    def reply(request: RecordedRequest) -> str:
        return ANSWER if request.route == "chat" else COMPLETION

    with FakeOpenAIServer(reply) as server:
        monkeypatch.setenv("QWEN_BASE_URL", server.base_url)
        monkeypatch.setenv("QWEN_MODEL", "qwen3-coder")
        monkeypatch.setenv("QWEN_FIM_MODE", "completions")
        yield server
