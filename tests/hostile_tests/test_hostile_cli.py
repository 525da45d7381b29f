"""The command line against a hostile endpoint (issue 17): `complete`, `ask` and `doctor` run as subprocesses, as a
user runs them, and every misbehaviour ends in time with one line on stderr that names the endpoint, exit status
non-zero, and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_server import HostileServer

from tests.ports import free_port

#: Each limit is set well below its default, so a run that ignores it shows up as a slow test.
LIMITS = {"QWEN_FIRST_TOKEN_TIMEOUT": "2", "QWEN_READ_TIMEOUT": "2", "QWEN_ANSWER_TIMEOUT": "3",
          "QWEN_RETRY_BACKOFF": "0.01", "QWEN_MODEL": "qwen3-coder"}
#: Start-up, indexing and the answer deadline, on a loaded machine.
WITHIN = 25.0


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "main.py").write_text("def run():\n    x = \n    return x\n")
    return root


def run_cli(*args: str, base_url: str, env: dict[str, str] | None = None,
            timeout: float = 90) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the CLI against `base_url` with `LIMITS` and `env` on top (a variable set to "" is left unset)."""
    merged = {**os.environ, "QWEN_BASE_URL": base_url, **LIMITS, **(env or {})}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "context.cli", *args],
                            env={name: value for name, value in merged.items() if value},
                            capture_output=True, text=True, timeout=timeout, check=False)
    return result, time.monotonic() - started


def one_line_error(result: subprocess.CompletedProcess[str], base_url: str) -> str:
    """The error line, after checking it is the only thing on stderr, names the endpoint and is no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout[-300:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qwen-context: error: "), result.stderr
    assert base_url.removesuffix("/v1") in lines[0], lines[0]
    return lines[0]


def complete(repo: Path, server: HostileServer, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    return run_cli("complete", "main.py:2:9", "--repo", str(repo), base_url=server.base_url, env=env)


def ask(repo: Path, server: HostileServer, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    return run_cli("ask", "what does run do?", "--repo", str(repo), base_url=server.base_url, env=env)


COMMANDS = {"complete": complete, "ask": ask}


def failure(repo: Path, command: str, answers: str = "ok", models: str = "ok", **env: str) -> tuple[str, float]:
    """Run `command` against an endpoint answering that way: (its one-line error, seconds it took)."""
    with HostileServer(answers=answers, models=models) as server:
        result, took = COMMANDS[command](repo, server, **env)
    return one_line_error(result, server.base_url), took


#: What the error says, for each way of answering (any of the phrases).
SAYS = {
    # shapes: one line quoting what was sent, never a traceback
    "choices-null": ["wrong shape"], "choices-string": ["wrong shape"], "choices-object": ["wrong shape"],
    "delta-string": ["wrong shape"], "html": ["HTML page"], "list": ["one JSON body"],
    "random": ["malformed", "ended the stream"],
    # a well-formed empty answer is an error, not a silent success
    "empty": ["empty answer", "nothing to insert"],
    # a stream cut mid-way
    "cut": ["cut the answer off", "before the answer was complete"],
    # time: the deadline on the whole answer, the first token, silence between bytes
    "trickle": ["QWEN_ANSWER_TIMEOUT"], "stall": ["QWEN_READ_TIMEOUT"], "silent": ["QWEN_FIRST_TOKEN_TIMEOUT"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("mode", SAYS)
def test_a_misbehaving_endpoint_is_one_line_naming_it_within_the_deadline(repo: Path, command: str,
                                                                         mode: str) -> None:
    line, took = failure(repo, command, answers=mode)
    assert any(phrase in line for phrase in SAYS[mode]), line
    assert took < WITHIN, took


@pytest.mark.parametrize(("models", "says"), [("html", "/models answered with"), ("list", "/models answered with"),
                                              ("trickle", "listing its models")])
def test_a_model_list_that_is_not_one_fails_every_model_call_in_one_line(repo: Path, models: str,
                                                                        says: str) -> None:
    """With no model configured, the client lists the endpoint's models first: a proxy's page there used to be a
    JSONDecodeError traceback in every model call, and a trickle there held every call."""
    line, took = failure(repo, "complete", models=models, QWEN_MODEL="")
    assert says in line and took < WITHIN


# --- size: a cap on the answer -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_a_huge_one_line_answer_is_cut_to_the_limit_quickly(repo: Path, command: str) -> None:
    """20 MB in one line: the old client kept all of it, and the clean-up was quadratic in its length."""
    with HostileServer(answers="huge", size=20_000_000) as server:
        result, took = COMMANDS[command](repo, server)
    assert result.returncode == 0, result.stderr[-1000:]
    assert 0 < len(result.stdout) <= 1_048_576
    assert took < WITHIN, took


# --- status codes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "wait"), [("429", "wait 1 h"), ("429-date", "days")])
def test_a_long_retry_after_fails_at_once_saying_how_long_in_words(repo: Path, mode: str, wait: str) -> None:
    with HostileServer(answers=mode) as server:
        result, took = complete(repo, server)
        line = one_line_error(result, server.base_url)
        assert server.requests["completions"] == 1
    assert wait in line and "e+" not in line and took < WITHIN


def test_a_failing_server_is_retried_then_reported_once(repo: Path) -> None:
    with HostileServer(answers="500") as server:
        result, _ = ask(repo, server)
        assert server.requests["chat"] == 4
    assert "HTTP 500 4 times in a row" in one_line_error(result, server.base_url)


@pytest.mark.parametrize("command", ["complete", "ask"])
def test_a_refused_connection_is_one_line(repo: Path, command: str) -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    args = ["main.py:2:9"] if command == "complete" else ["what?"]
    result, took = run_cli(command, *args, "--repo", str(repo), base_url=base_url)
    assert "cannot connect" in one_line_error(result, base_url) and took < WITHIN


# --- doctor --------------------------------------------------------------------------------------------------


def doctor(base_url: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    return run_cli("doctor", base_url=base_url, env={"QWEN_MODEL": "", **env})


def failures(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stdout.splitlines() if line.startswith("FAIL")]


@pytest.mark.parametrize("mode", ["html", "list"])
def test_doctor_names_a_model_list_that_is_not_one(mode: str) -> None:
    with HostileServer(models=mode) as server:
        result, _ = doctor(server.base_url)
    (line,) = failures(result)
    assert line.startswith("FAIL  reachable:") and "/models answered with" in line


def test_doctor_gives_up_on_a_silent_model_list_within_its_deadline() -> None:
    """The read timeout stays at its default (60 s): only the deadline on the whole request ends it."""
    with HostileServer(models="silent") as server:
        result, took = doctor(server.base_url, QWEN_READ_TIMEOUT="60", QWEN_ANSWER_TIMEOUT="3")
    (line,) = failures(result)
    assert "did not finish listing its models within 3s" in line and "mid-answer" not in line
    assert took < WITHIN


def test_doctor_says_an_empty_answer_is_a_failure() -> None:
    with HostileServer(answers="empty") as server:
        result, _ = doctor(server.base_url)
    lines = failures(result)
    assert len(lines) == 2 and all("no text at all" in line for line in lines)


def test_doctor_reports_a_single_5xx_without_counting_it() -> None:
    with HostileServer(models="500") as server:
        result, _ = doctor(server.base_url)
    (line,) = failures(result)
    assert "HTTP 500 (" in line and "1 times" not in line


@pytest.mark.parametrize("mode", ["choices-null", "delta-string"])
def test_doctor_reports_wrong_shapes_as_failed_checks(mode: str) -> None:
    with HostileServer(answers=mode) as server:
        result, _ = doctor(server.base_url)
    lines = failures(result)
    assert len(lines) == 2 and all("wrong shape" in line for line in lines)


def test_doctor_does_not_advise_running_doctor() -> None:
    result, _ = doctor(f"http://127.0.0.1:{free_port()}/v1")
    (line,) = failures(result)
    assert "cannot connect" in line and "doctor" not in line


def test_without_autodetection_the_error_lists_no_ports_it_did_not_probe(repo: Path) -> None:
    result, _ = run_cli("complete", "main.py:2:9", "--repo", str(repo), base_url="",
                        env={"QWEN_BASE_URL": "", "QWEN_NO_AUTODETECT": "1"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no local port was probed" in result.stderr and "8000" not in result.stderr
