"""The agentic `ask` against the local OpenAI-compatible server scripting multi-round tool-calling sessions:
tools run with the model's arguments and their answers go back in the next request, in native and XML form;
the loop is bounded; escapes and secret files are refused as tool answers; secrets are masked; the answer
streams; cancelling closes the model's stream."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from context.agent import AgentEvent, AgentLimits, Notice, ToolAnswered, ToolCalled, ask
from context.agent.loop import AGENT_SYSTEM_PROMPT
from context.agent.tools import TOOL_NAMES
from context.engine import Engine
from context.model.client import ModelClient, VisibleText
from context.model.fakeserver import FakeOpenAIServer, RecordedRequest, Reply, ToolCall
from context.model.settings import ModelSettings

FIXTURE = Path(__file__).parents[1] / "fixtures" / "mcp_repo"
#: The secret in the fixture's app/service.py, and what the tests plant outside the root and in secret files.
SECRET = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
OUTSIDE = "OUTSIDE-THE-ROOT"
PLANTED = "hunter2-planted"
ANSWER = "make_user (app/models.py:18) builds the address as name@example.org (app/models.py:20)."


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "stolen.py").write_text(f"STOLEN = '{OUTSIDE}'\n")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "stolen_link.py").symlink_to(outside / "stolen.py")
    (root / ".env").write_text(f"DATABASE_PASSWORD={PLANTED}\n")
    return root


def client_for(server: FakeOpenAIServer) -> ModelClient:
    return ModelClient(ModelSettings(base_url=server.base_url, model="qwen3-coder", retries=0))


async def run(engine: Engine, server: FakeOpenAIServer, question: str = "How is the e-mail chosen?",
              **options: Any) -> tuple[str, list[AgentEvent], list[str]]:
    """Ask through the loop: the answer, the events, and the text pieces as they streamed."""
    events: list[AgentEvent] = []
    pieces: list[str] = []

    async def on_text(piece: str) -> None:
        pieces.append(piece)

    async def on_event(event: AgentEvent) -> None:
        events.append(event)

    async with client_for(server) as client:
        answer = await ask(engine, client, question, budget=2048, on_text=on_text, on_event=on_event, **options)
    assert answer.text == "".join(pieces)
    return answer.text, events, pieces


def tool_messages(request: RecordedRequest) -> dict[str, str]:
    """The `tool` messages of a request, by the id of the call they answer."""
    return {m["tool_call_id"]: m["content"] for m in request.body["messages"] if m["role"] == "tool"}


def xml_call(name: str, **arguments: Any) -> str:
    """A tool call as Qwen3-Coder writes it when the server's tool parser is off."""
    parameters = "".join(f"<parameter={key}>\n{value}\n</parameter>\n" for key, value in arguments.items())
    return f"<tool_call>\n<function={name}>\n{parameters}</function>\n</tool_call>"


async def test_native_tool_calls_run_with_the_models_arguments_and_answer_in_the_next_request(engine: Engine) -> None:
    script = [
        Reply(tool_calls=[ToolCall("get_definition", {"symbol": "make_user"})]),
        Reply(text="Now its callers.", tool_calls=[ToolCall("find_references", {"symbol": "make_user"}),
                                                   ToolCall("file_outline", {"path": "app/models.py"})]),
        Reply(text=ANSWER),
    ]
    with FakeOpenAIServer(script) as server:
        answer, events, _ = await run(engine, server)
    first, second, third = server.requests_to("chat")
    assert [tool["function"]["name"] for tool in first.body["tools"]] == list(TOOL_NAMES)
    assert first.body["messages"][0]["content"] == AGENT_SYSTEM_PROMPT
    assert "How is the e-mail chosen?" in first.body["messages"][1]["content"]
    [definition] = tool_messages(second).values()
    assert definition.startswith("app/models.py:18-20 (function make_user)")
    assert "    20\t    return User(name=name, email=f\"{name}@example.org\")" in definition
    assistant = second.body["messages"][2]
    assert assistant["tool_calls"][0]["function"] == {"name": "get_definition",
                                                      "arguments": json.dumps({"symbol": "make_user"})}
    answers = tool_messages(third)
    assert len(answers) == 3 and len(set(answers)) == 3  # every call has its own id, across rounds
    references, outline = list(answers.values())[1:]
    assert "app/service.py:15:16\tuser = make_user(name)" in references
    assert "18-20\tfunction def make_user(name: str) -> User:" in outline
    assert answer == f"Now its callers.\n{ANSWER}"
    called = [event.describe() for event in events if isinstance(event, ToolCalled)]
    assert called == ["get_definition(symbol='make_user')", "find_references(symbol='make_user')",
                      "file_outline(path='app/models.py')"]
    assert all(event.result.ok for event in events if isinstance(event, ToolAnswered))


async def test_xml_tool_calls_are_read_typed_hidden_from_the_answer_and_answered(engine: Engine) -> None:
    script = [Reply(chunks=["Let me read it. <tool", "_call>\n<function=read_code>\n<parameter=path>\napp/models.py",
                            "\n</parameter>\n<parameter=start_line>\n18\n</parameter>\n<parameter=end_line>\n19\n",
                            "</parameter>\n</function>\n</tool_call>"]),
              Reply(text=ANSWER)]
    with FakeOpenAIServer(script) as server:
        answer, events, pieces = await run(engine, server)
    assert "<" not in "".join(pieces) and answer == f"Let me read it. \n{ANSWER}"
    assert [e.arguments for e in events if isinstance(e, ToolCalled)] == [
        {"path": "app/models.py", "start_line": 18, "end_line": 19}]
    [result] = tool_messages(server.requests_to("chat")[1]).values()
    assert result == ("app/models.py lines 18-19 of 20:\n    18\tdef make_user(name: str) -> User:\n"
                      '    19\t    """Create a user with a default e-mail address."""')


async def test_a_model_that_keeps_calling_tools_is_stopped_after_n_rounds_and_asked_to_answer(engine: Engine) -> None:
    def script(request: RecordedRequest) -> Reply:
        if "tools" in request.body:
            return Reply(tool_calls=[ToolCall("search_symbols", {"query": "User"})])
        return Reply(text="From what I read: User is defined at app/models.py:6.")

    with FakeOpenAIServer(script) as server:
        answer, events, _ = await run(engine, server, limits=AgentLimits(max_rounds=3))
    requests = server.requests_to("chat")
    assert ["tools" in r.body for r in requests] == [True, True, True, False]
    assert "Stopped after 3 rounds of tool calls." in requests[-1].body["messages"][-1]["content"]
    assert answer == "From what I read: User is defined at app/models.py:6."
    assert [e.message for e in events if isinstance(e, Notice)] == ["Stopped after 3 rounds of tool calls."]


async def test_a_model_that_calls_tools_even_when_offered_none_gets_a_clear_answer(engine: Engine) -> None:
    always = Reply(text=xml_call("search_symbols", query="User"))
    with FakeOpenAIServer(lambda request: always) as server:
        answer, _, _ = await run(engine, server, limits=AgentLimits(max_rounds=2))
    assert len(server.requests_to("chat")) == 3
    assert answer == ("No answer: Qwen3-Coder still asked for tools after 2 rounds. It looked up: "
                      "search_symbols(query='User').\n")


async def test_tool_answers_share_one_budget(engine: Engine, repo: Path) -> None:
    (repo / "big.py").write_text("".join(f"value_{n} = {n}  # a line of a long file\n" for n in range(400)))
    engine.update(["big.py"])
    read = ToolCall("read_code", {"path": "big.py"})

    def script(request: RecordedRequest) -> Reply:
        return Reply(tool_calls=[read] * 6) if "tools" in request.body else Reply(text=ANSWER)

    with FakeOpenAIServer(script) as server:
        _, events, _ = await run(engine, server, limits=AgentLimits(tool_budget=300, result_tokens=200))
    answered = [e.result for e in events if isinstance(e, ToolAnswered)]
    ran = [r for r in answered if r.ok]
    assert 2 <= len(ran) < len(answered) == 6
    assert "[cut at line" in ran[0].text and ran[0].tokens <= 200
    assert sum(r.tokens for r in ran) <= 300 + 20 * len(ran)  # a cut answer ends with a short note
    assert answered[-1].text == ("Not run: the budget of 300 tokens of tool results is spent. Answer from what "
                                 "you have read.")
    assert [e.message for e in events if isinstance(e, Notice)] == [
        "Stopped: the tools' answers used the budget of 300 tokens."]
    assert ["tools" in r.body for r in server.requests_to("chat")] == [True, False]


async def test_calls_past_the_per_round_limit_are_answered_not_run(engine: Engine) -> None:
    calls = [ToolCall("search_symbols", {"query": f"name{n}"}) for n in range(5)]
    with FakeOpenAIServer([Reply(tool_calls=calls), Reply(text=ANSWER)]) as server:
        await run(engine, server, limits=AgentLimits(calls_per_round=3))
    answers = list(tool_messages(server.requests_to("chat")[1]).values())
    assert len(answers) == 5 and all(a.startswith("No definition matches") for a in answers[:3])
    assert answers[3:] == ["Not run: at most 3 calls are run per round; ask for the rest next."] * 2


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "escape/stolen.py", "stolen_link.py", ".env",
                                  "app"])
async def test_a_path_the_mcp_tools_refuse_is_refused_as_a_tool_answer(engine: Engine, path: str) -> None:
    script = [Reply(tool_calls=[ToolCall("read_code", {"path": path}), ToolCall("file_outline", {"path": path})]),
              Reply(text=ANSWER)]
    with FakeOpenAIServer(script) as server:
        answer, events, _ = await run(engine, server)
    assert answer == ANSWER
    results = [e.result for e in events if isinstance(e, ToolAnswered)]
    assert [r.ok for r in results] == [False, False]
    assert all(r.text.startswith("Error: ") for r in results)
    sent = json.dumps([r.body for r in server.requests_to("chat")])
    assert OUTSIDE not in sent and PLANTED not in sent and "root:x:0" not in sent
    assert str(engine.root) not in sent  # no absolute path of this machine reaches the model


async def test_a_secret_in_a_file_a_tool_reads_is_masked_before_the_model_sees_it(engine: Engine) -> None:
    script = [Reply(tool_calls=[ToolCall("read_code", {"path": "app/service.py"}),
                                ToolCall("search_symbols", {"query": "API_TOKEN"}),
                                ToolCall("get_definition", {"symbol": "API_TOKEN"})]),
              Reply(text=ANSWER)]
    with FakeOpenAIServer(script) as server:
        await run(engine, server, question="What is API_TOKEN?")
    answers = tool_messages(server.requests_to("chat")[1])
    assert 'API_TOKEN = "' in next(iter(answers.values()))  # the line is there, its value masked
    assert SECRET not in json.dumps([r.body for r in server.requests_to("chat")])


async def test_bad_arguments_and_unknown_tools_are_answered_not_raised(engine: Engine) -> None:
    script = [Reply(tool_calls=[ToolCall("delete_everything", {}), ToolCall("read_code", {"path": 3}),
                                ToolCall("get_definition", {"symbol": "no_such_thing_anywhere"}),
                                ToolCall("read_code", {"path": "app/models.py", "start_line": 900})]),
              Reply(text=ANSWER)]
    with FakeOpenAIServer(script) as server:
        _, events, _ = await run(engine, server)
    texts = [e.result.text for e in events if isinstance(e, ToolAnswered)]
    assert texts[0].startswith("Error: there is no tool `delete_everything`; the tools are search_symbols")
    assert texts[1] == "Error: `path` must be a string, got 3."
    assert texts[2].startswith("Error: No definition named `no_such_thing_anywhere` in the index.")
    assert texts[3] == "Error: start_line 900 is past the end of app/models.py (20 lines)."


async def test_arguments_that_are_not_a_json_object_are_answered_so_the_model_can_send_them_again(
        engine: Engine) -> None:
    script = [Reply(tool_calls=[ToolCall("read_code", '{"path": "app/models.py"'), ToolCall("read_code", "[1, 2]")]),
              Reply(tool_calls=[ToolCall("read_code", {"path": "app/models.py", "end_line": 2})]),
              Reply(text=ANSWER)]
    with FakeOpenAIServer(script) as server:
        answer, events, _ = await run(engine, server)
    texts = [e.result.text for e in events if isinstance(e, ToolAnswered)]
    assert texts[0] == ("Error: the arguments are not JSON: '{\"path\": \"app/models.py\"'; send them again as one "
                        "JSON object.")
    assert texts[1].startswith("Error: the arguments are not a JSON object: '[1, 2]'")
    assert texts[2].startswith("app/models.py lines 1-2 of 20:") and answer == ANSWER


async def test_an_endpoint_that_refuses_tools_gets_the_one_shot_question(engine: Engine) -> None:
    refused = Reply(status=400, error='"auto" tool choice requires --enable-auto-tool-choice and '
                                      "--tool-call-parser to be set")
    with FakeOpenAIServer([refused, Reply(text=ANSWER)]) as server:
        answer, events, _ = await run(engine, server)
    first, second = server.requests_to("chat")
    assert "tools" in first.body and "tools" not in second.body
    assert answer == ANSWER
    [notice] = [e for e in events if isinstance(e, Notice)]
    assert "answering in one shot" in notice.message and "--tool-call-parser qwen3_coder" in notice.message


async def test_without_tools_the_question_is_asked_in_one_shot(engine: Engine) -> None:
    with FakeOpenAIServer([Reply(text=ANSWER)]) as server:
        answer, events, _ = await run(engine, server, tools=False)
    [request] = server.requests_to("chat")
    assert "tools" not in request.body and answer == ANSWER and events == []


async def test_the_answer_streams_and_cancelling_closes_the_models_stream(engine: Engine) -> None:
    script = [Reply(tool_calls=[ToolCall("search_symbols", {"query": "User"})]),
              Reply(chunks=["word "] * 200, chunk_delay=0.1)]
    with FakeOpenAIServer(script) as server:
        first_piece = asyncio.Event()
        pieces: list[str] = []

        async def on_text(piece: str) -> None:
            pieces.append(piece)
            first_piece.set()

        async with client_for(server) as client:
            task = asyncio.create_task(ask(engine, client, "Explain.", budget=2048, on_text=on_text))
            await asyncio.wait_for(first_piece.wait(), 30)
            assert not server.requests_to("chat")[-1].finished  # the answer is shown while it is still coming
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            assert server.wait_for_disconnect(timeout=10)
    assert 0 < len(pieces) < 200


@pytest.mark.parametrize(("pieces", "shown"), [
    (["Hello ", "<tool", "_call>\n<function=x>"], "Hello "),
    (["a <", "b"], "a <b"),
    (["text <func", "tion=read_code>"], "text "),
    (["<", "tool_call> x"], ""),
    (["plain"], "plain"),
])
def test_visible_text_holds_back_xml_tool_call_markup(pieces: list[str], shown: str) -> None:
    visible = VisibleText()
    assert "".join(visible.feed(piece) for piece in pieces) + visible.finish() == shown
