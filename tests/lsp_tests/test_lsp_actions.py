"""Code actions are listed at once and turned into WorkspaceEdits by the model only when resolved or run."""

from __future__ import annotations

from pathlib import Path

from lsp_helpers import Start, open_document, wait_until_indexed
from lsprotocol import types
from lsprotocol.converters import get_converter
from pytest_lsp import LanguageClient

from context.model.fakeserver import FakeOpenAIServer, RecordedRequest

#: ``apply_discount`` spans lines 5-7 of shop/pricing.py.
DISCOUNT = types.Range(types.Position(line=6, character=4), types.Position(line=6, character=4))

CONVERTER = get_converter()
NEW_DISCOUNT = '''def apply_discount(price: float, percent: float) -> float:
    """Return ``price`` reduced by ``percent`` per cent, rounded to cents."""
    return round(price * (1 - percent / 100), 2)
'''


def fenced(code: str) -> str:
    return f"Here you go:\n\n```python\n{code}```\n"


def chat_prompt(request: RecordedRequest) -> str:
    return "\n".join(str(message["content"]) for message in request.body["messages"])


def as_json(value: object) -> object:
    """A protocol value as it travels (the client deserialises sequences as tuples)."""
    return CONVERTER.unstructure(value)


Listed = list[types.CodeAction | types.Command]


async def list_actions(client: LanguageClient, uri: str, selection: types.Range = DISCOUNT,
                       diagnostics: list[types.Diagnostic] | None = None) -> Listed:
    """The listed actions.

    lsprotocol's client-side converter reads every CodeAction that has a ``command`` as a bare Command, so
    the explain and refactor actions arrive here as Commands; their titles are intact.
    """
    result = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=selection,
        context=types.CodeActionContext(diagnostics=diagnostics or [])))
    assert result is not None
    return list(result)


def titled(actions: Listed, start: str) -> types.CodeAction:
    (action,) = [action for action in actions if action.title.startswith(start)]
    assert isinstance(action, types.CodeAction)
    return action


def selection_data(uri: str, first: int, last: int) -> dict[str, object]:
    """The argument of the ``qwen.explain`` and ``qwen.refactor`` commands: lines ``first`` to ``last``."""
    start, end = {"line": first, "character": 0}, {"line": last + 1, "character": 0}
    return {"uri": uri, "range": {"start": start, "end": end}}


async def test_actions_are_listed_without_asking_the_model(start_server: Start, repo: Path,
                                                           fake_model: FakeOpenAIServer) -> None:
    client = await start_server()
    uri = open_document(client, repo / "shop" / "pricing.py")
    selection = types.Range(types.Position(line=6, character=0), types.Position(line=8, character=0))
    problem = types.Diagnostic(range=selection, message="Missing return type")
    titles = [action.title for action in await list_actions(client, uri, selection, [problem])]
    assert titles == ["Qwen: explain the selection", "Qwen: refactor the selection…",
                      "Qwen: add or fix the docstring of apply_discount", "Qwen: fix Missing return type",
                      "Qwen: generate tests for apply_discount"]
    assert fake_model.requests == []


async def test_resolving_the_docstring_action_rewrites_the_function(start_server: Start, repo: Path) -> None:
    with FakeOpenAIServer(reply=fenced(NEW_DISCOUNT)) as model:
        client = await start_server(model=model)
        uri = open_document(client, repo / "shop" / "pricing.py")
        action = titled(await list_actions(client, uri), "Qwen: add or fix the docstring")
        assert action.edit is None
        resolved = await client.code_action_resolve_async(action)
        (request,) = model.requests_to("chat")
    assert "def apply_discount(price: float, percent: float) -> float:" in chat_prompt(request)
    assert as_json(resolved.edit) == as_json(types.WorkspaceEdit(changes={uri: [types.TextEdit(
        range=types.Range(types.Position(line=5, character=0), types.Position(line=8, character=0)),
        new_text=NEW_DISCOUNT)]}))


async def test_fixing_a_diagnostic_sends_its_message_and_rewrites_the_function_around_it(
        start_server: Start, repo: Path) -> None:
    fixed = 'def with_vat(price: float) -> float:\n    """Add VAT."""\n    return price * 1.2\n'
    with FakeOpenAIServer(reply=fenced(fixed)) as model:
        client = await start_server(model=model)
        uri = open_document(client, repo / "shop" / "pricing.py")
        line = types.Range(types.Position(line=12, character=4), types.Position(line=12, character=10))
        problem = types.Diagnostic(range=line, message="Name 'VAT' is not defined")
        action = titled(await list_actions(client, uri, line, [problem]), "Qwen: fix")
        assert action.kind == types.CodeActionKind.QuickFix
        resolved = await client.code_action_resolve_async(action)
        (request,) = model.requests_to("chat")
    assert "Name 'VAT' is not defined" in chat_prompt(request)
    assert as_json(resolved.edit) == as_json(types.WorkspaceEdit(changes={uri: [types.TextEdit(
        range=types.Range(types.Position(line=10, character=0), types.Position(line=13, character=0)),
        new_text=fixed)]}))


async def test_generated_tests_are_written_into_the_projects_test_file_and_opened(start_server: Start,
                                                                                 repo: Path) -> None:
    test_code = "def test_no_discount_keeps_the_price() -> None:\n    assert apply_discount(10.0, 0) == 10\n"
    test_file = repo / "tests" / "test_pricing.py"
    existing = test_file.read_text()
    with FakeOpenAIServer(reply=fenced(test_code)) as model:
        client = await start_server(model=model)
        await wait_until_indexed(client)  # the project's layout comes from the indexed file list
        uri = open_document(client, repo / "shop" / "pricing.py")
        titles = [action.title for action in await list_actions(client, uri)]
        assert "Qwen: generate tests for apply_discount" in titles
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="qwen.tests", arguments=[{"uri": uri, "range": as_json(DISCOUNT)}]))
        (request,) = model.requests_to("chat")
    assert "tests/test_pricing.py" in chat_prompt(request)
    assert test_file.read_text() == existing + "\n\n" + test_code  # a real file, not a hidden buffer
    (shown,) = client.shown_documents
    assert shown.uri == test_file.resolve().as_uri() and shown.take_focus
    assert shown.selection == types.Range(types.Position(line=5, character=0), types.Position(line=5, character=0))
    assert client.applied_edits == []  # type: ignore[attr-defined]


async def test_refactoring_by_an_instruction_applies_the_rewritten_selection(start_server: Start,
                                                                             repo: Path) -> None:
    rewritten = "    return round(price * (100 - percent) / 100, 2)\n"
    with FakeOpenAIServer(reply=fenced(rewritten.strip() + "\n")) as model:
        client = await start_server(model=model)
        uri = open_document(client, repo / "shop" / "pricing.py")
        selection = types.Range(types.Position(line=7, character=0), types.Position(line=8, character=0))
        instruction = "Avoid the floating-point division by 100 first"
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="qwen.refactor", arguments=[{**selection_data(uri, 7, 7), "instruction": instruction}]))
        (request,) = model.requests_to("chat")
    assert "Avoid the floating-point division by 100 first" in chat_prompt(request)
    (edit,) = client.applied_edits  # type: ignore[attr-defined]
    assert as_json(edit) == as_json(types.WorkspaceEdit(changes={uri: [types.TextEdit(range=selection,
                                                                                      new_text=rewritten)]}))


async def test_refactoring_without_an_instruction_asks_the_user_to_pick_one(start_server: Start,
                                                                            repo: Path) -> None:
    with FakeOpenAIServer(reply=fenced("    return price\n")) as model:
        client = await start_server(model=model)
        uri = open_document(client, repo / "shop" / "pricing.py")
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="qwen.refactor", arguments=[selection_data(uri, 7, 7)]))
        (request,) = model.requests_to("chat")
    assert "Simplify this code without changing its behaviour" in chat_prompt(request)
    assert len(client.applied_edits) == 1  # type: ignore[attr-defined]


async def test_explaining_the_selection_shows_the_models_answer(start_server: Start, repo: Path) -> None:
    with FakeOpenAIServer(reply="It takes a percentage off a price.") as model:
        client = await start_server(model=model)
        uri = open_document(client, repo / "shop" / "pricing.py")
        answer = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="qwen.explain", arguments=[selection_data(uri, 7, 7)]))
    assert answer == "It takes a percentage off a price."
    assert any(message.message == answer for message in client.messages)


def applied(text: str, edit: types.TextEdit) -> str:
    """``text`` with one edit applied (ASCII text: columns are characters)."""
    lines = text.split("\n")

    def offset(position: types.Position) -> int:
        return sum(len(line) + 1 for line in lines[:position.line]) + position.character

    return text[:offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end):]


async def test_a_docstring_for_the_last_function_of_a_file_without_a_final_newline_adds_no_empty_line(
        start_server: Start, repo: Path) -> None:
    documented = ('def with_vat(price: float) -> float:\n    """Return ``price`` plus VAT, rounded to cents."""\n'
                  '    return round(price * (1 + VAT_RATE), 2)\n')
    with FakeOpenAIServer(reply=fenced(documented)) as model:
        client = await start_server(model=model)
        path = repo / "shop" / "pricing.py"
        text = path.read_text().rstrip("\n")
        path.write_text(text)
        uri = open_document(client, path)
        inside = types.Position(line=12, character=4)
        action = titled(await list_actions(client, uri, types.Range(inside, inside)), "Qwen: add or fix")
        resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is not None and resolved.edit.changes is not None
    (edit,) = resolved.edit.changes[uri]
    assert applied(text, edit) == text[:text.index("def with_vat")] + documented.rstrip("\n")
