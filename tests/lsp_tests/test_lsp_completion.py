"""qwen-lsp, run as a real process, completes code with the repository's context and the unsaved buffers."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from lsp_helpers import WITHOUT_INLINE, Start, open_document, wait_for_progress, wait_until_indexed
from lsprotocol import types
from pytest_lsp import LanguageClient

from context.engine import Engine
from context.model.fakeserver import FakeOpenAIServer

#: An unsaved function added at the end of shop/cart.py; the cursor goes after ``return ``.
UNSAVED = "\n\ndef checkout(cart: Cart, code: str) -> float:\n    return "


def cart_buffer(repo: Path) -> tuple[str, types.Position]:
    text = (repo / "shop" / "cart.py").read_text() + UNSAVED
    lines = text.split("\n")
    return text, types.Position(line=len(lines) - 1, character=len(lines[-1]))


async def complete_in_unsaved_cart(client: LanguageClient, repo: Path) -> tuple[object, types.Position]:
    """Open shop/cart.py with unsaved text and ask for completion items at its end; the result and the cursor."""
    text, position = cart_buffer(repo)
    uri = open_document(client, repo / "shop" / "cart.py", text)
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position))
    return result, position


def inline_params(uri: str, position: types.Position, invoked: bool = False,
                  selected: types.SelectedCompletionInfo | None = None) -> types.InlineCompletionParams:
    kinds = types.InlineCompletionTriggerKind
    kind = kinds.Invoked if invoked else kinds.Automatic
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position,
        context=types.InlineCompletionContext(trigger_kind=kind, selected_completion_info=selected))


async def test_the_server_advertises_inline_completion_completion_and_resolvable_code_actions(
        start_server: Start) -> None:
    client = await start_server()
    capabilities = client.server_capabilities  # type: ignore[attr-defined]
    assert capabilities.inline_completion_provider is not None
    assert capabilities.completion_provider is not None
    assert capabilities.code_action_provider.resolve_provider is True
    assert capabilities.text_document_sync.change == types.TextDocumentSyncKind.Incremental
    assert "qwen.accepted" in capabilities.execute_command_provider.commands


async def test_the_workspace_is_indexed_in_the_background_with_progress_reports(start_server: Start) -> None:
    client = await start_server()
    await wait_until_indexed(client)
    (values,) = client.progress_reports.values()
    assert isinstance(values[0], types.WorkDoneProgressBegin)
    assert isinstance(values[-1], types.WorkDoneProgressEnd) and "files" in (values[-1].message or "")


async def test_an_inline_completion_sends_repository_context_and_unsaved_text_and_returns_the_cleaned_item(
        start_server: Start, repo: Path) -> None:
    with FakeOpenAIServer(reply="cart.total(discount=10)\n<|file_sep|>junk") as model:
        client = await start_server(model=model)
        await wait_until_indexed(client)
        text, position = cart_buffer(repo)
        uri = open_document(client, repo / "shop" / "cart.py", text)
        result = await client.text_document_inline_completion_async(inline_params(uri, position))
        (request,) = model.requests_to("completions")
    prompt = request.body["prompt"]
    assert "def apply_discount(price: float, percent: float) -> float:" in prompt  # from shop/pricing.py
    assert "def checkout(cart: Cart, code: str) -> float:" in prompt  # the unsaved buffer
    assert isinstance(result, types.InlineCompletionList)
    (item,) = result.items
    assert item.insert_text == "cart.total(discount=10)"
    assert item.range == types.Range(position, position)
    assert item.command is not None and item.command.command == "qwen.accepted"


async def test_the_first_completion_right_after_start_waits_for_the_workspace_index(start_server: Start,
                                                                                   repo: Path) -> None:
    with FakeOpenAIServer(reply="cart.total()") as model:
        client = await start_server(model=model, options={"indexWaitMs": 60_000})
        text, position = cart_buffer(repo)
        uri = open_document(client, repo / "shop" / "cart.py", text)  # no waiting for the index: a user typing
        await client.text_document_inline_completion_async(inline_params(uri, position))
        (request,) = model.requests_to("completions")
    assert "def apply_discount(price: float, percent: float) -> float:" in request.body["prompt"]


async def test_a_completion_that_did_not_wait_for_the_index_leaves_later_prompts_the_whole_repository(
        start_server: Start, repo: Path) -> None:
    (repo / "vendor").mkdir()
    body = "".join(f"\n\ndef helper_{n}(value: int) -> int:\n    return value + {n}\n" for n in range(40))
    for n in range(190):  # parsed one chunk after another on the server's indexing thread
        (repo / "vendor" / f"module_{n}.py").write_text(body)
    with FakeOpenAIServer(reply="cart.total()") as model:
        client = await start_server(model=model, options={"indexWaitMs": 0})
        text, position = cart_buffer(repo)
        uri = open_document(client, repo / "shop" / "cart.py", text)
        await wait_for_progress(client, types.WorkDoneProgressReport)  # the first chunk is parsed
        await client.text_document_inline_completion_async(inline_params(uri, position, invoked=True))
        await wait_until_indexed(client)
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(position, position), text="0 + ")]))
        moved = types.Position(line=position.line, character=position.character + 4)
        await client.text_document_inline_completion_async(inline_params(uri, moved, invoked=True))
        last = model.requests_to("completions")[-1]
    assert "def apply_discount(price: float, percent: float) -> float:" in last.body["prompt"]


async def test_typing_the_start_of_a_shown_suggestion_reuses_it_without_asking_the_model(
        start_server: Start, repo: Path) -> None:
    with FakeOpenAIServer(reply="cart.total(discount=10)") as model:
        client = await start_server(model=model)
        text, position = cart_buffer(repo)
        uri = open_document(client, repo / "shop" / "cart.py", text)
        await client.text_document_inline_completion_async(inline_params(uri, position))
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(position, position), text="cart.")]))
        moved = types.Position(line=position.line, character=position.character + 5)
        result = await client.text_document_inline_completion_async(inline_params(uri, moved))
        assert len(model.requests_to("completions")) == 1
    assert isinstance(result, types.InlineCompletionList)
    assert [item.insert_text for item in result.items] == ["total(discount=10)"]


async def test_an_invoked_completion_offers_several_distinct_suggestions_to_cycle(
        start_server: Start, repo: Path) -> None:
    with FakeOpenAIServer(["cart.total()", "0.0", "cart.total()"]) as model:
        client = await start_server(model=model)
        text, position = cart_buffer(repo)
        uri = open_document(client, repo / "shop" / "cart.py", text)
        params = inline_params(uri, position, invoked=True)
        result = await client.text_document_inline_completion_async(params)
        assert len(model.requests_to("completions")) == 3
    assert isinstance(result, types.InlineCompletionList)
    assert sorted(item.insert_text for item in result.items) == ["0.0", "cart.total()"]


async def test_the_suggestions_of_an_invoked_completion_are_asked_at_rising_temperatures(
        start_server: Start, repo: Path) -> None:
    with FakeOpenAIServer(["cart.total()", "0.0", "cart.items"]) as model:
        client = await start_server(model=model)
        text, position = cart_buffer(repo)
        uri = open_document(client, repo / "shop" / "cart.py", text)
        await client.text_document_inline_completion_async(inline_params(uri, position, invoked=True))
        temperatures = sorted(request.body["temperature"] for request in model.requests_to("completions"))
    assert temperatures == [0.0, 0.4, 0.8]


async def test_a_selected_completion_is_extended_over_its_range(start_server: Start, repo: Path) -> None:
    with FakeOpenAIServer(reply="(discount=5)") as model:
        client = await start_server(model=model)
        text, position = cart_buffer(repo)
        uri = open_document(client, repo / "shop" / "cart.py", text + "cart.to")
        cursor = types.Position(line=position.line, character=position.character + 7)
        selected = types.SelectedCompletionInfo(
            range=types.Range(types.Position(line=position.line, character=position.character + 5), cursor),
            text="total")
        result = await client.text_document_inline_completion_async(
            inline_params(uri, cursor, selected=selected))
        (request,) = model.requests_to("completions")
    assert "return cart.total<|fim_suffix|>" in request.body["prompt"]
    assert isinstance(result, types.InlineCompletionList)
    (item,) = result.items
    assert item.insert_text == "total(discount=5)" and item.range == selected.range


async def test_accepting_a_suggestion_runs_its_command_on_the_server(start_server: Start, repo: Path) -> None:
    client = await start_server()
    text, position = cart_buffer(repo)
    uri = open_document(client, repo / "shop" / "cart.py", text)
    result = await client.text_document_inline_completion_async(inline_params(uri, position))
    assert isinstance(result, types.InlineCompletionList)
    command = result.items[0].command
    assert command is not None
    await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=command.command, arguments=command.arguments))


async def test_editors_without_inline_completion_get_the_suggestion_as_a_completion_item(
        start_server: Start, repo: Path) -> None:
    with FakeOpenAIServer(reply="cart.total(discount=10)") as model:
        client = await start_server(model=model, capabilities=WITHOUT_INLINE)
        result, position = await complete_in_unsaved_cart(client, repo)
    assert isinstance(result, types.CompletionList)
    (item,) = result.items
    assert item.label == "cart.total(discount=10)"
    assert item.text_edit == types.TextEdit(range=types.Range(position, position),
                                            new_text="cart.total(discount=10)")


async def test_clients_that_support_snippets_get_the_fallback_item_as_an_escaped_snippet(
        start_server: Start, repo: Path) -> None:
    snippets = types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(
        completion=types.CompletionClientCapabilities(
            completion_item=types.ClientCompletionItemOptions(snippet_support=True))))
    with FakeOpenAIServer(reply='f"${cart.total()}"') as model:
        client = await start_server(model=model, capabilities=snippets)
        result, position = await complete_in_unsaved_cart(client, repo)
    assert isinstance(result, types.CompletionList)
    (item,) = result.items
    assert item.insert_text_format == types.InsertTextFormat.Snippet
    assert item.text_edit == types.TextEdit(range=types.Range(position, position),
                                            new_text='f"\\${cart.total()\\}"')


async def test_the_completion_fallback_stays_quiet_for_editors_with_inline_completion(
        start_server: Start, repo: Path, fake_model: FakeOpenAIServer) -> None:
    client = await start_server()
    result, _ = await complete_in_unsaved_cart(client, repo)
    assert result is None
    assert fake_model.requests_to("completions") == []


async def test_files_of_disabled_languages_get_no_completion(start_server: Start, repo: Path,
                                                             fake_model: FakeOpenAIServer) -> None:
    client = await start_server(options={"languages": ["go"]})
    text, position = cart_buffer(repo)
    uri = open_document(client, repo / "shop" / "cart.py", text)
    assert await client.text_document_inline_completion_async(inline_params(uri, position)) is None
    assert fake_model.requests_to("completions") == []


async def test_each_workspace_folder_has_its_own_engine(start_server: Start, repo: Path,
                                                        tmp_path: Path) -> None:
    other = tmp_path / "other"
    (other / "billing").mkdir(parents=True)
    (other / "billing" / "invoice.py").write_text("def invoice_number(year: int) -> str:\n    return 'x'\n")
    (other / "billing" / "send.py").write_text("from billing.invoice import invoice_number\n")
    with FakeOpenAIServer(reply="invoice_number(2026)") as model:
        client = await start_server(model=model)
        client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=other.as_uri(), name="other")], removed=[])))
        await wait_until_indexed(client, folders=2)
        text = "from billing.invoice import invoice_number\n\nnumber = "
        uri = open_document(client, other / "billing" / "send.py", text)
        await client.text_document_inline_completion_async(
            inline_params(uri, types.Position(line=2, character=9)))
        (request,) = model.requests_to("completions")
    assert "def invoice_number(year: int) -> str:" in request.body["prompt"]
    assert "apply_discount" not in request.body["prompt"]



async def test_unsaved_definitions_in_another_open_buffer_reach_the_prompt(start_server: Start,
                                                                           repo: Path) -> None:
    pricing = repo / "shop" / "pricing.py"
    unsaved = pricing.read_text() + "\n\ndef loyalty_bonus(points: int) -> float:\n    return points / 100\n"
    with FakeOpenAIServer(reply="loyalty_bonus(120)") as model:
        client = await start_server(model=model)
        await wait_until_indexed(client)
        open_document(client, pricing, unsaved)
        text = "from shop.pricing import loyalty_bonus\n\nbonus = "
        uri = open_document(client, repo / "shop" / "loyalty.py", text)
        params = inline_params(uri, types.Position(line=2, character=8))
        await client.text_document_inline_completion_async(params)
        (request,) = model.requests_to("completions")
    assert "def loyalty_bonus(points: int) -> float:" in request.body["prompt"]


async def test_files_changed_on_disk_reach_later_prompts(start_server: Start, repo: Path) -> None:
    with FakeOpenAIServer(reply="coupon_value('SPRING')") as model:
        client = await start_server(model=model)
        await wait_until_indexed(client)
        coupons = repo / "shop" / "coupons.py"
        coupons.write_text("def coupon_value(code: str) -> float:\n    return 5.0 if code else 0.0\n")
        client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=coupons.as_uri(), type=types.FileChangeType.Created)]))
        uri = repo.joinpath("shop", "basket.py").as_uri()
        deadline = asyncio.get_running_loop().time() + 30
        for attempt in itertools.count():  # the update runs in the background: ask until a prompt shows it
            text = f"from shop.coupons import coupon_value\n\nvalue_{attempt} = "
            open_document(client, repo / "shop" / "basket.py", text, version=attempt + 1)
            await client.text_document_inline_completion_async(
                inline_params(uri, types.Position(line=2, character=len(text.split("\n")[2]))))
            if "def coupon_value(code: str) -> float:" in model.requests_to("completions")[-1].body["prompt"]:
                break
            assert asyncio.get_running_loop().time() < deadline, "the new file never reached a prompt"
            await asyncio.sleep(0.1)


async def test_columns_are_utf16_for_a_client_that_offers_no_position_encoding(start_server: Start,
                                                                               repo: Path) -> None:
    line = '    note = "😀 €"; return '
    text = (repo / "shop" / "cart.py").read_text() + "\n\ndef checkout(cart: Cart) -> float:\n" + line
    position = types.Position(line=text.count("\n"), character=len(line.encode("utf-16-le")) // 2)
    with FakeOpenAIServer(reply="cart.total()") as model:
        client = await start_server(model=model, capabilities=WITHOUT_INLINE)
        uri = open_document(client, repo / "shop" / "cart.py", text)
        result = await client.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=position))
        (request,) = model.requests_to("completions")
    assert f"{line}<|fim_suffix|>" in request.body["prompt"]
    assert isinstance(result, types.CompletionList)
    assert result.items[0].text_edit == types.TextEdit(range=types.Range(position, position),
                                                       new_text="cart.total()")


def survives_filtering(item: types.CompletionItem, line: str) -> bool:
    """The clients' documented filtering: the text from the start of the item's edit range to the cursor (the
    word being typed) must be a prefix of ``filterText``, or of ``label`` without one (Neovim's
    ``vim.lsp.completion``, Helix, VS Code and Zed all match that word against it, prefix or fuzzy)."""
    assert isinstance(item.text_edit, types.TextEdit)
    typed = line[item.text_edit.range.start.character:item.text_edit.range.end.character]
    return (item.filter_text or item.label).startswith(typed) and item.label.startswith(typed)


async def test_the_fallback_item_survives_filtering_after_word_characters(start_server: Start,
                                                                          repo: Path) -> None:
    with FakeOpenAIServer(reply="_total(cart)") as model:
        client = await start_server(model=model, capabilities=WITHOUT_INLINE)
        line = "value = get"
        uri = open_document(client, repo / "shop" / "cart.py", f"{line}\n")
        result = await client.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=11)))
    assert isinstance(result, types.CompletionList)
    (item,) = result.items
    assert survives_filtering(item, line)
    assert isinstance(item.text_edit, types.TextEdit)
    assert item.text_edit.new_text == "get_total(cart)"
    assert item.text_edit.range.start == types.Position(line=0, character=8)


async def test_the_server_sends_completion_trigger_characters(start_server: Start) -> None:
    client = await start_server(capabilities=WITHOUT_INLINE)
    provider = client.server_capabilities.completion_provider  # type: ignore[attr-defined]
    assert provider is not None and "." in (provider.trigger_characters or [])


async def test_a_file_prepared_on_open_gets_the_prompt_an_unprepared_engine_builds(
        start_server: Start, repo: Path) -> None:
    """qwen-lsp prepares a just-opened file (`Engine.prepare`) while the user has not asked yet; the prompt it
    then sends is the one an engine that never prepared builds."""
    with FakeOpenAIServer(reply="cart.total()") as model:
        client = await start_server(model=model)
        await wait_until_indexed(client)
        text, position = cart_buffer(repo)
        uri = open_document(client, repo / "shop" / "cart.py", text)
        await asyncio.sleep(0.5)  # the user reads before typing: the server prepares the file meanwhile
        await client.text_document_inline_completion_async(inline_params(uri, position))
        (request,) = model.requests_to("completions")
    with Engine(repo) as engine:
        engine.index()
        expected = engine.fim_prompt("shop/cart.py", position.line, position.character, buffer=text,
                                     recent=("shop/cart.py",))
    assert request.body["prompt"] == expected.text
