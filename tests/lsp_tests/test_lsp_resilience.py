"""qwen-lsp cancels what is no longer wanted, reports failures once, and keeps serving."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsp_helpers import CAPABILITIES, Start, model_options, open_document
from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.exceptions import JsonRpcRequestCancelled

from context.model.fakeserver import FakeOpenAIServer, Reply
from tests.ports import free_port

CONVERTER = get_converter()
BUFFER = "from shop.pricing import apply_discount\n\nprice = "
CURSOR = types.Position(line=2, character=8)


def inline_params(uri: str, position: types.Position = CURSOR) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position,
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic))


def dead_endpoint() -> str:
    """The base URL of a port nothing listens on."""
    return f"http://127.0.0.1:{free_port()}/v1"


async def wait_for(predicate: object, timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def test_cancel_request_aborts_the_model_stream(start_server: Start, repo: Path) -> None:
    with FakeOpenAIServer([Reply(text="apply_discount(10, 5)", first_token_delay=20)]) as model:
        client = await start_server(model=model)
        uri = open_document(client, repo / "shop" / "checkout.py", BUFFER)
        pending = asyncio.ensure_future(client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri), msg_id="slow-inline"))
        await wait_for(lambda: model.requests_to("completions"))
        client.cancel_request(types.CancelParams(id="slow-inline"))
        with pytest.raises(JsonRpcRequestCancelled):
            await pending
        assert await asyncio.to_thread(model.wait_for_disconnect, 5.0)


async def test_a_new_request_supersedes_the_one_in_flight(start_server: Start, repo: Path) -> None:
    script = [Reply(text="apply_discount(10, 5)", first_token_delay=20), Reply(text="apply_discount(99, 1)")]
    with FakeOpenAIServer(script) as model:
        client = await start_server(model=model)
        uri = open_document(client, repo / "shop" / "checkout.py", BUFFER)
        first = asyncio.ensure_future(client.text_document_inline_completion_async(inline_params(uri)))
        await wait_for(lambda: model.requests_to("completions"))
        second = await client.text_document_inline_completion_async(inline_params(uri))
        assert await asyncio.to_thread(model.wait_for_disconnect, 5.0)
        superseded = await first
    assert superseded is None or not getattr(superseded, "items", superseded)
    assert isinstance(second, types.InlineCompletionList)
    assert [item.insert_text for item in second.items] == ["apply_discount(99, 1)"]


async def test_a_dead_endpoint_is_reported_once_and_the_server_keeps_serving(
        start_server: Start, repo: Path, fake_model: FakeOpenAIServer) -> None:
    client = await start_server(options={"model": {"baseUrl": dead_endpoint(), "model": "qwen3-coder"}})
    uri = open_document(client, repo / "shop" / "checkout.py", BUFFER)
    for _ in range(3):
        result = await client.text_document_inline_completion_async(inline_params(uri))
        assert result is None or not result.items  # type: ignore[union-attr]
    errors = [m for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1
    assert "127.0.0.1" in errors[0].message

    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"qwen": {"model": model_options(fake_model)}}))
    result = await client.text_document_inline_completion_async(inline_params(uri))
    assert isinstance(result, types.InlineCompletionList)
    assert [item.insert_text for item in result.items] == ["return 42"]


async def test_bad_settings_are_named_in_warnings_and_the_defaults_serve(start_server: Start,
                                                                        repo: Path) -> None:
    client = await start_server(options={"budget": 12, "debounceMs": "soon", "inline": "sometimes"})
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert len(warnings) == 3
    assert all("ignored" in warning for warning in warnings)
    uri = open_document(client, repo / "shop" / "checkout.py", BUFFER)
    result = await client.text_document_inline_completion_async(inline_params(uri))
    assert isinstance(result, types.InlineCompletionList) and result.items


async def test_a_request_for_a_document_that_is_neither_open_nor_on_disk_gets_no_items(
        start_server: Start, repo: Path, fake_model: FakeOpenAIServer) -> None:
    client = await start_server()
    nowhere = inline_params((repo / "nowhere.py").as_uri())
    assert await client.text_document_inline_completion_async(nowhere) is None
    assert fake_model.requests_to("completions") == []
    uri = open_document(client, repo / "shop" / "checkout.py", BUFFER)
    result = await client.text_document_inline_completion_async(inline_params(uri))
    assert isinstance(result, types.InlineCompletionList)



async def test_settings_changed_in_the_editor_are_pulled_and_applied(start_server: Start, repo: Path) -> None:
    capabilities = CONVERTER.structure(CONVERTER.unstructure(CAPABILITIES), types.ClientCapabilities)
    capabilities.workspace.configuration = True
    client = await start_server(capabilities=capabilities)
    uri = open_document(client, repo / "shop" / "checkout.py", BUFFER)
    assert await client.text_document_inline_completion_async(inline_params(uri)) is not None
    client.set_configuration({"inline": False}, section="qwen")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    deadline = asyncio.get_running_loop().time() + 30
    # the server pulls the settings in the background: ask until they are applied
    while await client.text_document_inline_completion_async(inline_params(uri)) is not None:
        assert asyncio.get_running_loop().time() < deadline, "inline completion stayed on"
        await asyncio.sleep(0.1)


async def test_a_root_whose_ignore_rules_leave_out_everything_gets_a_warning_naming_the_rule(
        start_server: Start, tmp_path: Path) -> None:
    root = tmp_path / "linux"
    (root / "kernel").mkdir(parents=True)
    (root / "kernel" / "fork.c").write_text("int copy_process(void) { return 0; }\n")
    (root / ".gitignore").write_text("/*\n!/debian/\n")
    client = await start_server(root=root)

    def warnings() -> list[str]:
        return [m.message for m in client.messages if m.type == types.MessageType.Warning]

    await wait_for(warnings)
    expected = ("qwen-lsp: nothing in linux was indexed: ignore rules left out 1 file and 1 folder: "
                "`/*` in .gitignore (1 file and 1 folder)")
    assert warnings() == [expected]
