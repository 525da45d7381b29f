"""Code actions cannot hurt: secrets never reach the model, and an answer that is empty, cut off, not code, or
that changes more than asked is shown to the user and changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lsp_helpers import Start, open_document
from lsprotocol import types
from pytest_lsp import LanguageClient
from scripted_model import ScriptedModel

SECRET_REPO = Path(__file__).parents[1] / "fixtures" / "secret_repo"
#: Planted secrets of secret_repo/src/billing.py that the selection below covers.
PLANTED = ("ghp_FAKEpyFAKEpy0123456789FAKEpyFAKEpy0007", "AKIAFAKEPYTHON000008",
           "fakePYfakePYfakePY/fakePYfakePY+fake0009", "MIIEowIBAAKCAQEAfakePEMfakePEMfakePEMfakePEMfakePEMfakePEM0011")

#: ``apply_discount`` spans lines 5-7 of shop/pricing.py; the cursor is in its body.
INSIDE = types.Range(types.Position(line=6, character=4), types.Position(line=6, character=4))
DOCUMENTED = '''def apply_discount(price: float, percent: float) -> float:
    """Return ``price`` reduced by ``percent`` per cent, rounded to cents."""
    return round(price * (1 - percent / 100), 2)
'''


def fenced(code: str) -> str:
    return f"```python\n{code}```\n"


async def start_on(start_server: Start, model: ScriptedModel, root: Path | None = None) -> LanguageClient:
    options = {"model": {"baseUrl": model.base_url, "model": "qwen3-coder"}}
    return await (start_server(options=options) if root is None else start_server(options=options, root=root))


async def resolve_docstring(client: LanguageClient, uri: str) -> types.CodeAction:
    listed = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=INSIDE,
        context=types.CodeActionContext(diagnostics=[])))
    assert listed is not None
    (action,) = [a for a in listed if a.title.startswith("Qwen: add or fix the docstring")]
    assert isinstance(action, types.CodeAction)
    return await client.code_action_resolve_async(action)


def warnings(client: LanguageClient) -> list[str]:
    return [m.message for m in client.messages if m.type == types.MessageType.Warning]


async def test_a_complete_docstring_answer_is_applied(start_server: Start, repo: Path) -> None:
    with ScriptedModel((fenced(DOCUMENTED), "stop")) as model:
        client = await start_on(start_server, model)
        resolved = await resolve_docstring(client, open_document(client, repo / "shop" / "pricing.py"))
    assert resolved.edit is not None and resolved.edit.changes is not None
    (edit,) = next(iter(resolved.edit.changes.values()))
    assert edit.new_text == DOCUMENTED


@pytest.mark.parametrize(("answer", "finish", "why"), [
    ("", "stop", "empty"),
    ("```python\ndef apply_discount(price: float, percent: float) -> float:\n    \"\"\"Return", "length",
     "incomplete"),
    ("This function applies a discount to the price.", "stop", "does not parse"),
    (fenced(DOCUMENTED.replace("percent / 100", "percent / 10")), "stop", "changes code outside the docstring"),
    (fenced(DOCUMENTED.replace("percent: float)", "pct: float)")), "stop", "changes code outside the docstring"),
])
async def test_an_unsafe_docstring_answer_is_shown_and_changes_nothing(
        start_server: Start, repo: Path, answer: str, finish: str, why: str) -> None:
    with ScriptedModel((answer, finish)) as model:
        client = await start_on(start_server, model)
        resolved = await resolve_docstring(client, open_document(client, repo / "shop" / "pricing.py"))
    assert resolved.edit is None
    assert client.applied_edits == []  # type: ignore[attr-defined]
    (shown,) = warnings(client)
    assert why in shown and "nothing was changed" in shown


async def test_a_refactor_that_does_not_parse_is_not_applied(start_server: Start, repo: Path) -> None:
    with ScriptedModel((fenced("    return round(price * (100 - percent) / 100, 2\n"), "stop")) as model:
        client = await start_on(start_server, model)
        uri = open_document(client, repo / "shop" / "pricing.py")
        await client.workspace_execute_command_async(types.ExecuteCommandParams(command="qwen.refactor", arguments=[
            {"uri": uri, "range": {"start": {"line": 7, "character": 0}, "end": {"line": 8, "character": 0}},
             "instruction": "Avoid the division"}]))
    assert client.applied_edits == []  # type: ignore[attr-defined]
    assert any("does not parse" in message for message in warnings(client))


async def test_truncated_generated_tests_write_nothing(start_server: Start, repo: Path) -> None:
    test_file = repo / "tests" / "test_pricing.py"
    before = test_file.read_text()
    with ScriptedModel(("```python\ndef test_discount():\n    assert apply_discount(", "length")) as model:
        client = await start_on(start_server, model)
        uri = open_document(client, repo / "shop" / "pricing.py")
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="qwen.tests", arguments=[{"uri": uri, "range": {"start": {"line": 6, "character": 4},
                                                                     "end": {"line": 6, "character": 4}}}]))
    assert test_file.read_text() == before
    assert client.shown_documents == [] and client.applied_edits == []  # type: ignore[attr-defined]
    assert any("incomplete" in message for message in warnings(client))


@pytest.fixture
def secret_repo(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SECRET_REPO, tmp_path / "secrets"))


async def test_code_actions_never_send_the_selections_secrets(start_server: Start, secret_repo: Path) -> None:
    with ScriptedModel(("It holds the billing credentials.", "stop")) as model:
        client = await start_on(start_server, model, secret_repo)
        uri = open_document(client, secret_repo / "src" / "billing.py")
        whole = {"start": {"line": 0, "character": 0}, "end": {"line": 16, "character": 0}}
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="qwen.explain", arguments=[{"uri": uri, "range": whole}]))
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="qwen.refactor", arguments=[{"uri": uri, "range": whole, "instruction": "Tidy up"}]))
        (sent_explain, sent_refactor) = model.prompts()
    for sent in (sent_explain, sent_refactor):
        assert "AWS_ACCESS_KEY_ID" in sent  # the code was sent ...
        for secret in PLANTED:
            assert secret not in sent  # ... with its secrets masked


async def test_a_refactor_that_echoes_masked_secrets_keeps_the_real_ones(start_server: Start,
                                                                         secret_repo: Path) -> None:
    echoed = 'GITHUB_TOKEN = "***"\nAWS_ACCESS_KEY_ID = "***"\n'
    with ScriptedModel((fenced(echoed), "stop")) as model:
        client = await start_on(start_server, model, secret_repo)
        uri = open_document(client, secret_repo / "src" / "billing.py")
        lines = {"start": {"line": 4, "character": 0}, "end": {"line": 6, "character": 0}}
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="qwen.refactor", arguments=[{"uri": uri, "range": lines, "instruction": "Tidy up"}]))
    (edit,) = client.applied_edits  # type: ignore[attr-defined]
    (change,) = edit.changes[uri]
    assert PLANTED[0] in change.new_text and PLANTED[1] in change.new_text and "***" not in change.new_text


async def test_a_refactor_that_invents_a_masked_value_is_refused(start_server: Start, secret_repo: Path) -> None:
    with ScriptedModel((fenced('GITHUB_TOKEN = "***"\nAWS_ACCESS_KEY_ID = os.environ["***"]\n'), "stop")) as model:
        client = await start_on(start_server, model, secret_repo)
        uri = open_document(client, secret_repo / "src" / "billing.py")
        lines = {"start": {"line": 4, "character": 0}, "end": {"line": 6, "character": 0}}
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="qwen.refactor", arguments=[{"uri": uri, "range": lines, "instruction": "Tidy up"}]))
    assert client.applied_edits == []  # type: ignore[attr-defined]
    assert any("masked secrets" in message for message in warnings(client))


async def test_malformed_action_data_is_a_one_line_error(start_server: Start, repo: Path) -> None:
    with ScriptedModel(("unused", "stop")) as model:
        client = await start_on(start_server, model)
        with pytest.raises(Exception) as raised:
            await client.workspace_execute_command_async(types.ExecuteCommandParams(
                command="qwen.explain", arguments=[{"uri": 5, "range": "everything"}]))
    message = str(raised.value)
    assert "malformed" in message and "Traceback" not in message and "/" not in message.split("malformed")[0]
    assert model.requests == []
