"""What a new user meets first on the command line, run as real subprocesses: one-line errors instead of
tracebacks, ``--repo`` everywhere, no silent results, a final newline, ``--version``, and the repository root
found from a subfolder."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from context.cli import COMMANDS
from context.model.fakeserver import FakeOpenAIServer


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small git repository with a package in a subfolder."""
    root = tmp_path / "repo"
    (root / "pkg" / "deep").mkdir(parents=True)
    (root / ".git").mkdir()  # what `git rev-parse --show-toplevel` looks for
    (root / "pkg" / "util.py").write_text("def helper(a, b):\n    return a + b\n")
    (root / "main.py").write_text("from pkg.util import helper\n\nvalue = helper(1, 2)\n")
    return root


def qwen_context(*args: str, cwd: Path, model: FakeOpenAIServer | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if model is not None:
        env |= {"QWEN_BASE_URL": model.base_url, "QWEN_MODEL": "qwen3-coder"}
    return subprocess.run([sys.executable, "-m", "context.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def assert_one_line_error(done: subprocess.CompletedProcess[str], *says: str) -> None:
    assert done.returncode == 2 and done.stdout == "", (done.stdout, done.stderr)
    assert done.stderr.startswith("qwen-context: error: ") and done.stderr.count("\n") == 1, done.stderr
    assert all(part in done.stderr for part in says), done.stderr


@pytest.mark.parametrize(("argv", "says"), [
    (["complete", "main.py:1:1", "--buffer", "/nonexistent"], "cannot read --buffer /nonexistent: No such file"),
    (["prompt", "--batch", "/nonexistent"], "cannot read --batch /nonexistent: No such file"),
    (["prompt", "main.py:9999:1"], "line 9999 is outside main.py"),
])
def test_a_missing_file_or_a_line_past_the_end_is_a_one_line_error_in_the_users_numbers(
        repo: Path, argv: list[str], says: str) -> None:
    assert_one_line_error(qwen_context(*argv, cwd=repo), says)


def test_the_fake_server_on_a_port_in_use_says_so_in_one_line(repo: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = qwen_context("fake-server", "--port", str(port), cwd=repo)
    assert_one_line_error(done, f"cannot listen on 127.0.0.1:{port}", "--port 0")


def test_every_command_but_the_fake_server_takes_repo() -> None:
    declared = {name: argparse.ArgumentParser() for name in COMMANDS}
    for name, parser in declared.items():
        COMMANDS[name].arguments(parser)
    takes = {name for name, parser in declared.items() if any("--repo" in a.option_strings for a in parser._actions)}
    assert set(COMMANDS) - takes == {"fake-server"}


def test_index_and_doctor_accept_repo(repo: Path, tmp_path: Path) -> None:
    indexed = qwen_context("index", "--repo", str(repo), "--json", cwd=tmp_path)
    assert indexed.returncode == 0 and json.loads(indexed.stdout)["files"] == 2, indexed.stderr
    doctor = qwen_context("doctor", "--repo", str(repo), cwd=tmp_path)  # no model: checks fail, arguments don't
    assert doctor.returncode == 1 and doctor.stdout.startswith("FAIL"), doctor.stderr
    both = qwen_context("index", str(repo), "--repo", str(tmp_path), cwd=tmp_path)
    assert_one_line_error(both, "two repositories given")


def test_ask_keeps_the_question_written_after_the_focus_files(repo: Path) -> None:
    with FakeOpenAIServer(reply="It adds.") as model:
        done = qwen_context("ask", "--focus", "pkg/util.py", "What does helper return?", cwd=repo, model=model)
        chat = [request.body for request in model.requests if request.route == "chat"]
    assert done.returncode == 0, done.stderr
    assert "What does helper return?" in json.dumps(chat)
    assert done.stdout == "It adds.\n"  # and a final newline, though the model sent none


def test_complete_ends_its_output_with_a_newline(repo: Path) -> None:
    with FakeOpenAIServer(reply="helper(3, 4)") as model:
        done = qwen_context("complete", "main.py:3:9", cwd=repo, model=model)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("\n") and done.stdout.count("\n") == 1


def test_map_with_a_focus_file_that_is_not_indexed_is_an_error(repo: Path) -> None:
    assert_one_line_error(qwen_context("map", "--focus", "missing.py", cwd=repo), "missing.py is not an indexed file")


def test_a_search_without_a_match_says_so(repo: Path) -> None:
    done = qwen_context("search", "zzzzqqq", cwd=repo)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "qwen-context: no definition matches 'zzzzqqq'\n"


def test_map_refuses_a_budget_too_small_with_the_same_words_as_prompt(repo: Path) -> None:
    map_error = qwen_context("map", "--budget", "10", cwd=repo)
    assert_one_line_error(map_error, "token budget 10 is outside 1,024..")
    assert map_error.stderr == qwen_context("prompt", "main.py:1:1", "--budget", "10", cwd=repo).stderr


@pytest.mark.parametrize("program", ["qwen-context", "qwen-lsp", "qwen-mcp"])
def test_every_entry_point_prints_the_installed_version(program: str, tmp_path: Path) -> None:
    done = subprocess.run([str(Path(sys.executable).with_name(program)), "--version"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.startswith(f"{program} 0."), done.stdout + done.stderr


def test_from_a_subfolder_the_commands_work_on_the_git_top_level(repo: Path) -> None:
    deep = repo / "pkg" / "deep"
    stats = json.loads(qwen_context("stats", "--json", cwd=deep).stdout)
    assert stats["files"] == 0  # nothing indexed yet: `stats` does not index, but looks at the root's index
    assert qwen_context("index", cwd=deep).returncode == 0
    from_root = json.loads(qwen_context("stats", "--json", cwd=repo).stdout)
    from_deep = json.loads(qwen_context("stats", "--json", cwd=deep).stdout)
    assert from_deep == from_root and from_root["files"] == 2
    found = qwen_context("search", "helper", cwd=deep)
    assert found.stdout.startswith("pkg/util.py:1: function"), found.stderr


def test_without_git_the_nearest_folder_with_an_index_is_the_repository(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    (project / "src").mkdir(parents=True)
    (project / "src" / "one.py").write_text("def one():\n    return 1\n")
    assert qwen_context("index", cwd=project).returncode == 0
    inside = json.loads(qwen_context("stats", "--json", cwd=project / "src").stdout)
    assert inside["index"] == json.loads(qwen_context("stats", "--json", cwd=project).stdout)["index"]
