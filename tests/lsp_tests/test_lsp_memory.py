"""What qwen-lsp keeps per message: nothing, once the message is handled (the soak, bench/bench_soak.py, found
a future kept per keystroke). The protocol is the server's own, with pygls' built-in document handlers, fed the
way the stdio reader feeds it."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from lsprotocol import types
from pygls.io_ import StdoutWriter

from lsp_server.server import QwenLanguageServer

URI = "file:///outside/typed.py"


def _message(method: str, params: Any, msg_id: int | None = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params, **({"id": msg_id} if msg_id else {})}


async def test_no_future_is_kept_per_notification_or_generator_step_once_handled() -> None:
    server = QwenLanguageServer()
    handled: list[str] = []

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: QwenLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        await asyncio.sleep(0)
        handled.append("open")

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: QwenLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        handled.append("change")

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: QwenLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        handled.append("save")

    output = io.BytesIO()
    protocol = server.lsp
    protocol.set_writer(StdoutWriter(output))
    protocol.receive(_message("initialize", {"capabilities": {}}, 1))
    protocol.receive(_message("initialized", {}))
    protocol.receive(_message("textDocument/didOpen", {"textDocument": {
        "uri": URI, "languageId": "python", "version": 1, "text": ""}}))
    for version in range(2, 202):
        protocol.receive(_message("textDocument/didChange", {
            "textDocument": {"uri": URI, "version": version},
            "contentChanges": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                                "text": "x"}]}))
        protocol.receive(_message("textDocument/didSave", {"textDocument": {"uri": URI}}))
    for _ in range(1000):
        if len(handled) == 401:
            break
        await asyncio.sleep(0)
    await asyncio.sleep(0)  # the done callbacks of the last tasks

    assert handled.count("open") == 1 and handled.count("change") == handled.count("save") == 200
    assert server.document(URI).source == "x" * 200
    assert b'"id": 1' in output.getvalue()  # initialize was answered
    assert dict(protocol._request_futures) == {}
