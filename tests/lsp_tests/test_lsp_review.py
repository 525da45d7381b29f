"""The review code action: offered where a file differs from git's HEAD (its unsaved buffer included), it sends
the model the review prompt of `context.review` (the one ``qwen-context review --ask`` sends) and shows the
answer without editing anything; outside git, or without git, it is simply not offered."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_helpers import FINDINGS, Start, committed, open_document
from lsprotocol import types
from pytest_lsp import LanguageClient

from context.model.fakeserver import FakeOpenAIServer
from context.review import REVIEW_SYSTEM_PROMPT

PRICING = Path("shop") / "pricing.py"
CART = Path("shop") / "cart.py"
TITLE = "Qwen: review the changes in this file"
#: Anywhere in the file: the review is about the whole file, not the selection.
TOP = types.Range(types.Position(line=0, character=0), types.Position(line=0, character=0))
OLD_LINE = "    return round(price * (1 - percent / 100), 2)\n"
NEW_LINE = "    return round(price * (1 - percent / 1000), 2)\n"
SECRET = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"


@pytest.fixture
def git_repo(repo: Path) -> Path:
    """The fixture repository, committed."""
    return committed(repo)


def changed_pricing(root: Path) -> str:
    """shop/pricing.py with ``apply_discount`` changed and a secret planted beside it."""
    text = (root / PRICING).read_text()
    assert OLD_LINE in text
    return text.replace(OLD_LINE, NEW_LINE) + f'\nOPENAI_API_KEY = "{SECRET}"\n'


async def listed(client: LanguageClient, uri: str,
                 selection: types.Range = TOP) -> dict[str, types.CodeAction | types.Command]:
    """The listed actions by title (the client reads an action with a command as a bare Command)."""
    result = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=selection,
        context=types.CodeActionContext(diagnostics=[])))
    return {action.title: action for action in result or []}


def replace_buffer(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


async def run_review(client: LanguageClient, uri: str, *, offered: bool = True) -> object:
    """Run the review action listed at the top of ``uri``: its ``qwen.review`` command with the listed data
    (lsprotocol's client-side converter garbles a listed action's command, so the data is rebuilt here)."""
    assert (TITLE in await listed(client, uri)) == offered
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="qwen.review", arguments=[{"uri": uri, "range": {"start": {"line": 0, "character": 0},
                                                                  "end": {"line": 0, "character": 0}}}]))


async def test_offered_where_the_file_or_its_unsaved_buffer_differs_from_head(
        start_server: Start, git_repo: Path, fake_model: FakeOpenAIServer) -> None:
    head = (git_repo / PRICING).read_text()
    (git_repo / PRICING).write_text(changed_pricing(git_repo))  # a saved change
    client = await start_server()
    pricing = open_document(client, git_repo / PRICING)
    cart = open_document(client, git_repo / CART)
    assert TITLE in await listed(client, pricing)
    assert TITLE not in await listed(client, cart)
    replace_buffer(client, cart, 2, (git_repo / CART).read_text() + "\n\ndef empty() -> Cart:\n    return Cart()\n")
    assert TITLE in await listed(client, cart)  # unsaved, and different from HEAD
    replace_buffer(client, pricing, 2, head)
    assert TITLE not in await listed(client, pricing)  # the disk differs, but the buffer is what the user sees
    assert fake_model.requests == []  # listing asks the model nothing


async def test_running_it_sends_the_diff_and_a_caller_from_another_file_and_shows_the_review_unedited(
        start_server: Start, git_repo: Path) -> None:
    on_disk = (git_repo / PRICING).read_text()
    with FakeOpenAIServer(reply=FINDINGS) as model:
        client = await start_server(model=model)
        uri = open_document(client, git_repo / PRICING, changed_pricing(git_repo))
        answer = await run_review(client, uri)
    (request,) = model.requests_to("chat")
    system, user = request.body["messages"]
    assert system == {"role": "system", "content": REVIEW_SYSTEM_PROMPT}
    prompt = user["content"]
    assert "the uncommitted changes to `shop/pricing.py`" in prompt
    assert f"-{OLD_LINE}+{NEW_LINE}" in prompt
    assert "`shop/cart.py`" in prompt and "15|     def total(self, discount: float = 0.0) -> float:" in prompt
    assert "17|         return with_vat(apply_discount(subtotal, discount))" in prompt  # a caller in another file
    assert SECRET not in str(request.body) and SECRET[8:24] not in str(request.body)
    assert answer == FINDINGS
    assert [m.message for m in client.messages if m.message == FINDINGS] == [FINDINGS]
    assert client.applied_edits == []  # type: ignore[attr-defined]
    assert (git_repo / PRICING).read_text() == on_disk


async def test_without_an_endpoint_it_says_so(start_server: Start, git_repo: Path) -> None:
    client = await start_server(options={"model": {}})
    uri = open_document(client, git_repo / PRICING, changed_pricing(git_repo))
    assert await run_review(client, uri) is None
    errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and errors[0].startswith("qwen-lsp: no model endpoint is configured"), errors


async def test_not_offered_outside_git_nor_without_git(start_server: Start, repo: Path, git_repo: Path,
                                                       tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "pricing.py").write_text(changed_pricing(repo))
    no_git = tmp_path / "bin"
    no_git.mkdir()
    for root, env in ((plain, None), (git_repo, {"PATH": str(no_git)})):
        client = await start_server(root=root, env=env)
        uri = open_document(client, root / ("pricing.py" if root == plain else PRICING), changed_pricing(repo))
        titles = await listed(client, uri, types.Range(TOP.start, types.Position(line=2, character=0)))
        assert "Qwen: explain the selection" in titles and TITLE not in titles, root


async def test_run_where_it_is_not_offered_it_says_why_and_asks_nothing(
        start_server: Start, git_repo: Path, tmp_path: Path, fake_model: FakeOpenAIServer) -> None:
    client = await start_server()
    assert await run_review(client, open_document(client, git_repo / CART), offered=False) is None
    outside = tmp_path / "elsewhere.py"
    outside.write_text("x = 1\n")
    assert await run_review(client, open_document(client, outside), offered=False) is None
    shown = [m.message for m in client.messages]
    assert "qwen-lsp: shop/cart.py has no uncommitted changes against HEAD" in shown
    assert "Qwen: only files inside a workspace folder can be reviewed" in shown
    assert fake_model.requests == []
