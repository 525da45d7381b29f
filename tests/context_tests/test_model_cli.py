"""`qwen-context complete`, `ask` and `doctor` end to end against the local server."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from context.cli import main
from context.model.fakeserver import FakeOpenAIServer, RecordedRequest, Reply, ToolCall


@pytest.fixture(autouse=True)
def model_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QWEN_NO_AUTODETECT", "1")
    monkeypatch.setenv("QWEN_CONTEXT_CONFIG", str(tmp_path / "absent.toml"))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "util.py").write_text("def helper(a, b):\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n")
    (root / "main.py").write_text("from util import helper\n\n\ndef run():\n    x = \n    return x\n")
    return root


def run_cli(*args: str, server: FakeOpenAIServer) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QWEN_BASE_URL": server.base_url, "QWEN_MODEL": "qwen3-coder"}
    return subprocess.run([sys.executable, "-m", "context.cli", *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_complete_streams_the_cleaned_completion_for_a_cursor(repo: Path) -> None:
    with FakeOpenAIServer([Reply(chunks=["helper", "(1, 2)", "\n", "    print(x)\n"])]) as server:
        result = run_cli("complete", "main.py:5:9", "--repo", str(repo), server=server)
    assert (result.returncode, result.stdout) == (0, "helper(1, 2)\n"), result.stderr
    (request,) = server.requests_to("completions")
    prompt = request.body["prompt"]
    assert "<|file_sep|>util.py\n" in prompt
    assert prompt.endswith("<|file_sep|>main.py\n<|fim_prefix|>from util import helper\n\n\ndef run():\n    x = "
                           "<|fim_suffix|>\n    return x\n<|fim_middle|>")


def test_complete_uses_the_unsaved_buffer(repo: Path, tmp_path: Path) -> None:
    buffer = tmp_path / "buffer.py"
    buffer.write_text("from util import helper\n\n\ndef run():\n    total = \n")
    with FakeOpenAIServer(["helper(3, 4)"]) as server:
        result = run_cli("complete", "main.py:5:13", "--repo", str(repo), "--buffer", str(buffer), server=server)
    assert (result.returncode, result.stdout) == (0, "helper(3, 4)\n"), result.stderr
    (request,) = server.requests_to("completions")
    assert "    total = <|fim_suffix|>" in request.body["prompt"]


def test_ask_answers_with_the_repository_context(repo: Path) -> None:
    with FakeOpenAIServer(["`helper` is defined in util.py:1."]) as server:
        result = run_cli("ask", "Where is helper defined?", "--repo", str(repo), "--focus", "main.py", server=server)
    assert (result.returncode, result.stdout) == (0, "`helper` is defined in util.py:1.\n"), result.stderr
    (request,) = server.requests_to("chat")
    question = request.body["messages"][-1]["content"]
    assert "def helper(a, b)" in question and question.endswith("Where is helper defined?")


def test_ask_lets_the_model_look_things_up_and_shows_each_call_with_verbose(repo: Path) -> None:
    script = [Reply(tool_calls=[ToolCall("get_definition", {"symbol": "helper"})]),
              Reply(text="<tool_call>\n<function=find_references>\n<parameter=symbol>\nhelper\n</parameter>\n"
                         "</function>\n</tool_call>"),
              Reply(text="`helper` adds two numbers (util.py:1-3); main.py:1 imports it.")]
    with FakeOpenAIServer(script) as server:
        result = run_cli("ask", "What does helper do?", "--repo", str(repo), "--verbose", server=server)
    answer = "`helper` adds two numbers (util.py:1-3); main.py:1 imports it.\n"
    assert (result.returncode, result.stdout) == (0, answer), result.stderr
    shown = [re.sub(r"\d+ tokens", "N tokens", line) for line in result.stderr.splitlines()]
    assert shown == ["→ get_definition(symbol='helper')", "← get_definition: N tokens",
                     "→ find_references(symbol='helper')", "← find_references: N tokens"]
    last = server.requests_to("chat")[-1].body["messages"]
    assert [m["role"] for m in last[2:]] == ["assistant", "tool", "assistant", "tool"]
    assert "     1\tdef helper(a, b):" in last[3]["content"]
    assert last[5]["content"] == "No use of `helper` in the index."  # main.py imports it and calls nothing yet


def test_ask_without_tools_asks_in_one_shot_and_without_verbose_prints_only_the_answer(repo: Path) -> None:
    script = [Reply(tool_calls=[ToolCall("search_symbols", {"query": "helper"})]), "util.py:1.", "In util.py:1."]
    with FakeOpenAIServer(script) as server:
        agentic = run_cli("ask", "Where is helper?", "--repo", str(repo), server=server)
        one_shot = run_cli("ask", "Where is helper?", "--repo", str(repo), "--no-tools", server=server)
    assert (agentic.returncode, agentic.stdout, agentic.stderr) == (0, "util.py:1.\n", "")
    assert (one_shot.returncode, one_shot.stdout, one_shot.stderr) == (0, "In util.py:1.\n", "")
    assert ["tools" in r.body for r in server.requests_to("chat")] == [True, True, False]


def start_ask(repo: Path, server: FakeOpenAIServer) -> subprocess.Popen[bytes]:
    """`qwen-context ask` running against ``server``, its output read by the test as it comes."""
    env = {**os.environ, "QWEN_BASE_URL": server.base_url, "QWEN_MODEL": "qwen3-coder"}
    return subprocess.Popen([sys.executable, "-m", "context.cli", "ask", "Explain util.", "--repo", str(repo)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_ask_streams_the_answer_to_stdout_as_it_arrives(repo: Path) -> None:
    script = [Reply(tool_calls=[ToolCall("read_code", {"path": "util.py"})]),
              Reply(chunks=["First words", " and then", " more."], chunk_delay=1.0)]
    with FakeOpenAIServer(script) as server, start_ask(repo, server) as process:
        assert process.stdout is not None
        first = os.read(process.stdout.fileno(), 100)
        answer = server.requests_to("chat")[-1]
        assert first == b"First words" and not answer.finished  # printed before the rest was sent
        rest, _ = process.communicate(timeout=60)
    assert first + rest == b"First words and then more.\n"


def test_interrupting_ask_stops_the_models_stream(repo: Path) -> None:
    script = [Reply(tool_calls=[ToolCall("search_symbols", {"query": "helper"})]),
              Reply(chunks=["word "] * 100, chunk_delay=0.2)]
    with FakeOpenAIServer(script) as server:
        with start_ask(repo, server) as process:
            assert process.stdout is not None
            assert os.read(process.stdout.fileno(), 100).startswith(b"word")
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
        assert server.wait_for_disconnect(timeout=10)
    assert (process.returncode, stderr) == (130, b"qwen-context: interrupted\n")


def test_a_model_failure_is_one_line_on_stderr_and_exit_status_2(repo: Path) -> None:
    with FakeOpenAIServer(completions=False) as server:
        result = run_cli("complete", "main.py:5:9", "--repo", str(repo), server=server)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("qwen-context: error: ")
    assert "QWEN_FIM_MODE=chat" in result.stderr and "Traceback" not in result.stderr


# --- doctor ------------------------------------------------------------------------------------------------------


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        monkeypatch.setenv("QWEN_BASE_URL", server.base_url)
        monkeypatch.setenv("QWEN_MODEL", "qwen3-coder")
        yield server


def doctor(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, str]]:
    status = main(["doctor"])
    lines = capsys.readouterr().out.splitlines()
    return status, {line[6:].split(":", 1)[0]: line for line in lines}


def test_doctor_passes_every_check_on_a_healthy_endpoint(endpoint: FakeOpenAIServer,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    status, checks = doctor(capsys)
    assert status == 0
    assert list(checks) == ["endpoint", "reachable", "api key", "chat model", "completion model",
                            "fill-in-the-middle (raw completions)", "chat"]
    assert all(line.startswith("ok") for line in checks.values())
    assert "first token after" in checks["chat"]


def test_doctor_without_an_endpoint_says_how_to_configure_one(capsys: pytest.CaptureFixture[str]) -> None:
    status, checks = doctor(capsys)
    assert status == 1 and checks["endpoint"].startswith("FAIL") and "QWEN_BASE_URL" in checks["endpoint"]


def test_doctor_reports_an_unreachable_url(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAIServer() as server:
        url = server.base_url
    monkeypatch.setenv("QWEN_BASE_URL", url)
    status, checks = doctor(capsys)
    assert status == 1 and checks["reachable"].startswith("FAIL") and "cannot connect" in checks["reachable"]


def test_doctor_reports_a_missing_key(endpoint: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("QWEN_PRESET", "openrouter")
    status, checks = doctor(capsys)
    assert status == 1 and checks["api key"].startswith("FAIL") and "needs an API key" in checks["api key"]
    assert endpoint.requests == []


def test_doctor_reports_a_refused_key(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAIServer(token="right") as server:
        monkeypatch.setenv("QWEN_BASE_URL", server.base_url)
        monkeypatch.setenv("QWEN_MODEL", "qwen3-coder")
        monkeypatch.setenv("OPENAI_API_KEY", "wrong")
        status, checks = doctor(capsys)
    assert status == 1 and checks["api key"].startswith("FAIL") and "key was refused" in checks["api key"]


def test_doctor_reports_a_model_the_endpoint_does_not_serve(endpoint: FakeOpenAIServer,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("QWEN_FIM_MODEL", "qwen2.5-coder")
    status, checks = doctor(capsys)
    assert status == 1
    assert checks["completion model"].startswith("FAIL") and "QWEN_FIM_MODEL" in checks["completion model"]
    assert checks["chat model"].startswith("ok")


def test_doctor_reports_missing_raw_completions_and_suggests_chat(monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAIServer(completions=False) as server:
        monkeypatch.setenv("QWEN_BASE_URL", server.base_url)
        monkeypatch.setenv("QWEN_MODEL", "qwen3-coder")
        status, checks = doctor(capsys)
    line = checks["fill-in-the-middle (raw completions)"]
    assert status == 1 and line.startswith("FAIL") and "QWEN_FIM_MODE=chat" in line
    assert checks["chat"].startswith("ok")


def test_doctor_reports_rate_limiting(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def always_busy(request: RecordedRequest) -> Reply:
        return Reply.rate_limited(retry_after=0)

    with FakeOpenAIServer(always_busy) as server:
        monkeypatch.setenv("QWEN_BASE_URL", server.base_url)
        monkeypatch.setenv("QWEN_MODEL", "qwen3-coder")
        status, checks = doctor(capsys)
    assert status == 1 and "rate limiting" in checks["chat"] and checks["chat"].startswith("FAIL")


def test_doctor_reports_a_timeout(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAIServer(lambda request: Reply(text="late", first_token_delay=3)) as server:
        monkeypatch.setenv("QWEN_BASE_URL", server.base_url)
        monkeypatch.setenv("QWEN_MODEL", "qwen3-coder")
        monkeypatch.setenv("QWEN_FIRST_TOKEN_TIMEOUT", "0.2")
        status, checks = doctor(capsys)
    assert status == 1 and "sent nothing within 0.2s" in checks["chat"]
