"""`qwen-context review` and `context.review` on a real temporary git repository: what is reviewed (uncommitted,
a commit, a range, a piped diff), what counts as changed (removed and renamed definitions with their old
callers), the budget, secrets, the JSON shape, errors, and `--ask` against the local OpenAI-compatible server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from context.engine import Engine
from context.errors import UsageError
from context.model.fakeserver import FakeOpenAIServer
from context.prompt import tokens
from context.review import has_file_changes, review

GEO = '''def area(width, height):
    """Area of a rectangle."""
    return width * height


def perimeter(width, height):
    return 2 * (width + height)
'''
SHOP = '''from pkg.geo import area, perimeter


def floor_cost(w, h, price):
    total = area(w, h) * price
    return total


def fence_cost(w, h):
    return perimeter(w, h) * 3
'''
TEST_GEO = '''from pkg.geo import area


def test_area():
    assert area(2, 3) == 6
'''
#: A secret in a file that uses a changed name, right beside the use.
BILLING = '''from pkg.geo import area

STRIPE_PASSWORD = "Zq8-very-secret-9Lm"


def bill(w, h):
    return area(w, h) * 2
'''
DIFF_SECRET = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True,
                          timeout=30).stdout


def write(root: Path, path: str, text: str) -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(text, encoding="utf-8")


def edit(root: Path, path: str, old: str, new: str) -> None:
    text = (root / path).read_text(encoding="utf-8")
    assert old in text
    write(root, path, text.replace(old, new))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit (the `engine` fixture of conftest.py indexes it)."""
    root = tmp_path / "shop"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for path, text in {"pkg/__init__.py": "", "pkg/geo.py": GEO, "pkg/shop.py": SHOP, "tests/test_geo.py": TEST_GEO,
                       "pkg/billing.py": BILLING}.items():
        write(root, path, text)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def reindexed(engine: Engine) -> Engine:
    engine.index()
    return engine


def section_paths(result: object, kind: str) -> set[str]:
    return {s["path"] for s in result.to_dict()["sections"] if s["kind"] == kind}  # type: ignore[attr-defined]


def test_uncommitted_changes_bring_the_diff_the_callers_and_the_tests(repo: Path, engine: Engine) -> None:
    edit(repo, "pkg/geo.py", "    return width * height\n", "    return abs(width * height)\n")
    git(repo, "add", "pkg/geo.py")  # staged ...
    edit(repo, "pkg/geo.py", '"""Area of a rectangle."""', '"""Area of a rectangle, never negative."""')  # ... and not
    result = review(reindexed(engine), budget=4096)
    assert result.to_dict()["changed"] == [{"path": "pkg/geo.py", "symbols": ["area"]}]
    assert "+    return abs(width * height)\n" in result.prompt
    assert '+    """Area of a rectangle, never negative."""' in result.prompt
    assert "5|     total = area(w, h) * price" in result.prompt
    assert "pkg/shop.py" in section_paths(result, "caller")
    assert section_paths(result, "test") == {"tests/test_geo.py"}
    assert "perimeter(w, h) * 3" not in result.prompt  # an unchanged definition's callers are not the change's


def test_a_commit_is_reviewed_against_its_parent_and_a_renamed_definitions_old_callers_come_first(
        repo: Path, engine: Engine) -> None:
    edit(repo, "pkg/geo.py", "def perimeter(width, height):", "def outline(width, height):")
    git(repo, "commit", "-qam", "rename perimeter")
    write(repo, "pkg/geo.py", GEO.replace("perimeter", "outline") + "\n\ndef later():\n    return 1\n")  # not reviewed
    result = review(reindexed(engine), "HEAD", budget=4096)
    assert result.to_dict()["changed"] == [{"path": "pkg/geo.py", "symbols": ["outline", "perimeter"]}]
    assert "-def perimeter(width, height):\n+def outline(width, height):\n" in result.prompt
    assert "10|     return perimeter(w, h) * 3" in result.prompt
    caller = next(s for s in result.sections if s.kind == "caller")
    assert (caller.path, caller.reason) == ("pkg/shop.py", "uses the old name perimeter")
    assert "def later" not in result.prompt


def test_a_range_holds_every_commit_in_it_and_only_those(repo: Path, engine: Engine) -> None:
    edit(repo, "pkg/geo.py", "return width * height", "return width * height * 1")
    git(repo, "commit", "-qam", "one")
    edit(repo, "pkg/geo.py", "return 2 * (width + height)", "return (width + height) * 2")
    git(repo, "commit", "-qam", "two")
    both = review(reindexed(engine), "HEAD~2..HEAD", budget=4096)
    assert both.to_dict()["changed"] == [{"path": "pkg/geo.py", "symbols": ["area", "perimeter"]}]
    last = review(engine, "HEAD~1..HEAD", budget=4096)
    assert last.to_dict()["changed"] == [{"path": "pkg/geo.py", "symbols": ["perimeter"]}]
    assert "width * height * 1" not in last.prompt.split("## Where")[0]


def test_a_piped_diff_works_whether_or_not_it_is_applied_to_the_working_tree(repo: Path, engine: Engine) -> None:
    edit(repo, "pkg/geo.py", "def perimeter(width, height):", "def perimeter(width, height, sides=4):")
    diff = git(repo, "diff")
    applied = review(reindexed(engine), diff=diff, budget=4096)
    git(repo, "checkout", "--", "pkg/geo.py")
    not_applied = review(reindexed(engine), diff=diff, budget=4096)
    for result in (applied, not_applied):
        assert result.to_dict()["changed"] == [{"path": "pkg/geo.py", "symbols": ["perimeter"]}]
        assert "+def perimeter(width, height, sides=4):" in result.prompt
        assert "10|     return perimeter(w, h) * 3" in result.prompt


def test_a_removed_definitions_callers_are_found_even_where_the_index_sees_no_reference(
        repo: Path, engine: Engine) -> None:
    write(repo, "pkg/dynamic.py", 'import pkg.geo as geo\n\n\ndef lookup():\n    return getattr(geo, "perimeter")\n')
    edit(repo, "pkg/geo.py", "\n\ndef perimeter(width, height):\n    return 2 * (width + height)\n", "")
    result = review(reindexed(engine), budget=4096)
    assert result.to_dict()["changed"] == [{"path": "pkg/geo.py", "symbols": ["perimeter"]}]
    assert {"pkg/shop.py", "pkg/dynamic.py"} <= section_paths(result, "caller")
    assert '5|     return getattr(geo, "perimeter")' in result.prompt


def test_one_files_changes_are_reviewed_as_the_engine_sees_it_an_unsaved_buffer_included(
        repo: Path, engine: Engine) -> None:
    edit(repo, "pkg/shop.py", "return total", "return round(total, 2)")  # another file's change: not reviewed
    assert has_file_changes(reindexed(engine), "pkg/shop.py")
    assert not has_file_changes(engine, "pkg/geo.py")
    engine.set_overlay("pkg/geo.py", GEO.replace("def perimeter(width, height):", "def outline(width, height):")
                       + f'\nAPI_TOKEN = "{DIFF_SECRET}"\n')
    assert has_file_changes(engine, "pkg/geo.py")
    result = review(engine, path="pkg/geo.py", budget=4096)
    assert result.to_dict()["changed"] == [{"path": "pkg/geo.py", "symbols": ["API_TOKEN", "outline", "perimeter"]}]
    assert "the uncommitted changes to `pkg/geo.py`" in result.prompt
    assert "-def perimeter(width, height):\n+def outline(width, height):\n" in result.prompt
    assert "10|     return perimeter(w, h) * 3" in result.prompt  # the old name's caller in another file
    assert "round(total, 2)" not in result.prompt.split("## Where")[0]
    assert DIFF_SECRET not in result.prompt and "API_TOKEN" in result.prompt
    engine.clear_overlay("pkg/geo.py")
    with pytest.raises(UsageError, match="pkg/geo.py has no uncommitted changes against HEAD"):
        review(engine, path="pkg/geo.py")


def test_a_file_head_does_not_have_is_reviewed_as_new_and_line_ends_are_no_change(
        repo: Path, engine: Engine) -> None:
    write(repo, "pkg/solid.py", "from pkg.geo import area\n\n\ndef volume(w, h, d):\n    return area(w, h) * d\n")
    result = review(reindexed(engine), path="pkg/solid.py", budget=4096)
    assert "--- a/pkg/solid.py" in result.prompt and "+def volume(w, h, d):" in result.prompt
    assert result.to_dict()["changed"] == [{"path": "pkg/solid.py", "symbols": ["volume"]}]
    engine.set_overlay("pkg/geo.py", GEO.replace("\n", "\r\n").rstrip("\r\n"))
    assert not has_file_changes(engine, "pkg/geo.py")


def test_one_files_review_outside_git_or_with_another_source_is_a_clear_error(tmp_path: Path, repo: Path,
                                                                               engine: Engine) -> None:
    folder = tmp_path / "plain"
    write(folder, "a.py", "x = 1\n")
    with Engine(folder) as plain:
        plain.index()
        with pytest.raises(UsageError, match="is not inside a git work tree"):
            has_file_changes(plain, "a.py")
    with pytest.raises(UsageError, match="not several"):
        review(engine, "HEAD", path="pkg/geo.py")
    with pytest.raises(UsageError, match="leads out of the workspace"):
        has_file_changes(engine, "../plain/a.py")


@pytest.mark.parametrize("budget", [1024, 1500, 2048, 3000, 8192])
def test_the_prompt_never_exceeds_the_budget_and_counts_exactly(repo: Path, budget: int) -> None:
    for n in range(40):  # many callers, and a diff too big for the smaller budgets
        write(repo, f"pkg/user_{n}.py", f"from pkg.geo import area\n\n\ndef use_{n}(x):\n    return area(x, {n})\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "users")
    edit(repo, "pkg/geo.py", "    return width * height\n",
         "".join(f"    step_{i} = width * {i} + height  # a long change\n" for i in range(150))
         + "    return width * height\n")
    with Engine(repo) as engine:
        engine.index()
        result = review(engine, budget=budget)
    assert result.tokens == tokens.count(result.prompt) <= budget
    if budget >= 8192:  # the hunk whole when it fits half the budget, else its first lines
        assert "+    step_149 = width * 149" in result.prompt
    else:
        assert "more lines of this hunk left out for the budget" in result.prompt
    assert "--- a/pkg/geo.py" in result.prompt
    assert sum(s.tokens for s in result.sections) <= result.tokens
    if budget >= 2048:
        assert section_paths(result, "caller")


def test_no_secret_from_the_diff_or_the_repository_reaches_the_prompt(repo: Path, engine: Engine) -> None:
    edit(repo, "pkg/geo.py", "    return width * height\n",
         f'    OPENAI_API_KEY = "{DIFF_SECRET}"\n    return width * height\n')
    result = review(reindexed(engine), budget=8192)
    assert "pkg/billing.py" in section_paths(result, "caller")
    assert "return area(w, h) * 2" in result.prompt
    assert DIFF_SECRET not in result.prompt and DIFF_SECRET[8:20] not in result.prompt
    assert "Zq8-very-secret-9Lm" not in result.prompt
    wide = review(engine, diff=git(repo, "diff"), budget=8192)
    assert DIFF_SECRET not in wide.prompt


def test_a_secret_files_change_is_named_but_never_shown(repo: Path, engine: Engine) -> None:
    write(repo, ".env", "DATABASE_URL=postgres://app:s3cr3t-pass@db/app\n")
    git(repo, "add", "-f", ".env")
    result = review(reindexed(engine), budget=4096)
    assert ".env" in result.prompt and "s3cr3t-pass" not in result.prompt


# --- the command line --------------------------------------------------------------------------------------------


def run_cli(*args: str, cwd: Path, stdin: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "context.cli", "review", *args], cwd=cwd, input=stdin,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=120, check=False)


def test_review_json_has_the_documented_shape(repo: Path) -> None:
    edit(repo, "pkg/geo.py", "return width * height", "return width * height * 1")
    done = run_cli("--json", "--budget", "4096", cwd=repo / "pkg")  # from a subfolder: the repository around it
    assert done.returncode == 0, done.stderr
    value = json.loads(done.stdout)
    assert set(value) == {"prompt", "tokens", "budget", "changed", "sections", "elapsed_ms"}
    assert value["budget"] == 4096 and value["tokens"] == tokens.count(value["prompt"]) <= 4096
    assert value["changed"] == [{"path": "pkg/geo.py", "symbols": ["area"]}]
    assert {s["kind"] for s in value["sections"]} >= {"diff", "caller", "test"}
    assert all(set(s) == {"path", "kind", "tokens", "reason"} for s in value["sections"])
    assert isinstance(value["elapsed_ms"], float)


def test_review_reads_a_diff_from_stdin(repo: Path) -> None:
    edit(repo, "pkg/geo.py", "return 2 * (width + height)", "return (width + height) * 2")
    diff = git(repo, "diff")
    done = run_cli("--diff", "-", "--json", cwd=repo, stdin=diff)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["changed"] == [{"path": "pkg/geo.py", "symbols": ["perimeter"]}]


@pytest.mark.parametrize(("args", "message"), [
    (("no-such-rev",), "unknown revision 'no-such-rev'"),
    (("main..nowhere",), "unknown revision 'nowhere'"),
    (("--diff", "missing.diff"), "cannot read --diff missing.diff"),
    (("HEAD", "--diff", "-"), "give a revision or a diff, not both"),
])
def test_bad_input_is_one_line_error_and_status_2(repo: Path, args: tuple[str, ...], message: str) -> None:
    done = run_cli(*args, cwd=repo, stdin="")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("qwen-context: error: ")
    assert message in done.stderr and "Traceback" not in done.stderr


def test_a_folder_outside_git_is_told_to_give_a_diff(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    write(folder, "a.py", "x = 1\n")
    done = run_cli("--repo", str(folder), cwd=tmp_path)
    assert done.returncode == 2 and "is not inside a git work tree" in done.stderr and "--diff" in done.stderr


def test_review_ask_streams_the_models_review_of_that_prompt(repo: Path, tmp_path: Path) -> None:
    edit(repo, "pkg/geo.py", "def perimeter(width, height):", "def outline(width, height):")
    findings = "pkg/shop.py:10: `perimeter` no longer exists; call `outline`."
    with FakeOpenAIServer([findings]) as server:
        env = {"QWEN_BASE_URL": server.base_url, "QWEN_MODEL": "qwen3-coder", "QWEN_NO_AUTODETECT": "1",
               "QWEN_CONTEXT_CONFIG": str(tmp_path / "absent.toml")}
        done = run_cli("--ask", "--budget", "4096", cwd=repo, env=env)
        shown = run_cli("--json", "--budget", "4096", cwd=repo, env=env)
    assert (done.returncode, done.stdout) == (0, findings + "\n"), done.stderr
    (request,) = server.requests_to("chat")
    messages = request.body["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    prompt = json.loads(shown.stdout)["prompt"]
    assert prompt == "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages) \
        + "<|im_start|>assistant\n"
    assert "10|     return perimeter(w, h) * 3" in messages[1]["content"]
