"""Fixtures of the qwen-lsp tests: the real ``qwen-lsp`` process driven by pytest-lsp's client, talking HTTP
to the local OpenAI-compatible fake server, on a fresh copy of a small fixture repository."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsp_helpers import CAPABILITIES, FIXTURE_REPO, QWEN_LSP, Start, model_options
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from context.model.fakeserver import FakeOpenAIServer


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fresh copy of the fixture repository (tests may edit and save files in it)."""
    return Path(shutil.copytree(FIXTURE_REPO, tmp_path / "repo"))


@pytest.fixture
def fake_model() -> Iterator[FakeOpenAIServer]:
    """The local OpenAI-compatible server, answering every request with one line of code.

    Tests that need scripted replies or faults start their own server and pass it to
    ``start_server(model=...)``.
    """
    with FakeOpenAIServer(reply="return 42") as server:
        yield server


@pytest.fixture
async def start_server(repo: Path, fake_model: FakeOpenAIServer) -> AsyncIterator[Start]:
    """Start ``qwen-lsp`` on ``repo`` and initialize it; every server started is shut down after the test."""
    clients: list[LanguageClient] = []

    async def start(*, options: dict[str, Any] | None = None, model: FakeOpenAIServer | None = None,
                    capabilities: types.ClientCapabilities = CAPABILITIES,
                    root: Path = repo, env: dict[str, str] | None = None) -> LanguageClient:
        config = ClientServerConfig(server_command=[QWEN_LSP, "--log-level", "INFO"],
                                    server_env={**os.environ, "QWEN_NO_AUTODETECT": "1", **(env or {})})
        client = await config.start()
        assert isinstance(client, LanguageClient)
        clients.append(client)
        client.applied_edits = []  # type: ignore[attr-defined]

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            client.applied_edits.append(params.edit)  # type: ignore[attr-defined]
            return types.ApplyWorkspaceEditResult(applied=True)

        @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def choose(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
            return params.actions[0] if params.actions else None

        settings = {"debounceMs": 0, "model": model_options(model or fake_model), **(options or {})}
        result = await client.initialize_session(types.InitializeParams(
            capabilities=capabilities, initialization_options=settings,
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)]))
        client.server_capabilities = result.capabilities  # type: ignore[attr-defined]
        return client

    yield start
    for client in clients:
        await client.shutdown_session()
        await client.stop()
