"""`qwen-context complete`, `ask` and `doctor` end to end against the local server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from context.cli import main
from context.model.fakeserver import FakeOpenAIServer, RecordedRequest, Reply


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
