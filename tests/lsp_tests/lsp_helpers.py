"""Helpers shared by the qwen-lsp tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from context.model.fakeserver import FakeOpenAIServer

FIXTURE_REPO = Path(__file__).parents[1] / "fixtures" / "lsp_repo"
QWEN_LSP = str(Path(sys.executable).parent / "qwen-lsp")

#: What a client with inline completion, resolvable code actions and progress bars advertises.
CAPABILITIES = types.ClientCapabilities(
    general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16]),
    window=types.WindowClientCapabilities(work_done_progress=True,
                                          show_document=types.ShowDocumentClientCapabilities(support=True)),
    workspace=types.WorkspaceClientCapabilities(
        apply_edit=True, configuration=False,
        workspace_edit=types.WorkspaceEditClientCapabilities(
            document_changes=True, resource_operations=[types.ResourceOperationKind.Create])),
    text_document=types.TextDocumentClientCapabilities(
        inline_completion=types.InlineCompletionClientCapabilities(),
        completion=types.CompletionClientCapabilities(),
        code_action=types.CodeActionClientCapabilities(
            resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
            data_support=True)),
)

#: A client without inline completion (Helix, Neovim <= 0.11): it gets the completion fallback.
WITHOUT_INLINE = types.ClientCapabilities(
    text_document=types.TextDocumentClientCapabilities(completion=types.CompletionClientCapabilities()))

#: What the fake model answers to a review of shop/pricing.py's ``apply_discount`` made per mille.
FINDINGS = "shop/pricing.py:8: the discount is now per mille; shop/cart.py:17 still passes per cent."

#: ``await start_server(options=..., model=..., capabilities=..., root=..., env=...)`` -> an initialized client.
Start = Callable[..., Awaitable[LanguageClient]]


def model_options(server: FakeOpenAIServer) -> dict[str, Any]:
    """The ``model`` settings pointing qwen-lsp at a fake server."""
    return {"baseUrl": server.base_url, "model": "qwen3-coder"}


def committed(root: Path) -> Path:
    """``root`` made a git repository with everything in it committed."""
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-qm", "init")):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false",
                        *args], cwd=root, check=True, capture_output=True, timeout=30)
    return root


def open_document(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    """Open ``path`` in the client (with ``text`` as its unsaved content when given); return its URI."""
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id="python", version=version, text=path.read_text() if text is None else text)))
    return uri


async def wait_for_progress(client: LanguageClient, kind: type, count: int = 1, timeout: float = 30.0) -> None:
    """Wait until the client has received ``count`` ``$/progress`` values of ``kind`` (begin, report, end)."""

    async def arrived() -> None:
        while sum(isinstance(value, kind)
                  for values in client.progress_reports.values() for value in values) < count:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(arrived(), timeout)


async def wait_until_indexed(client: LanguageClient, folders: int = 1, timeout: float = 30.0) -> None:
    """Wait for the end of the background indexing's ``$/progress`` reports of ``folders`` folders."""
    await wait_for_progress(client, types.WorkDoneProgressEnd, folders, timeout)
