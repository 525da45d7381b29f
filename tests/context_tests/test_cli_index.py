"""The ``qwen-context`` commands index, search, outline and stats: JSON shapes, text output, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from context.cli import main


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_index_json_reports_files_symbols_seconds_and_skipped(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "index", str(repo), "--json")
    assert isinstance(report, dict)
    assert report["files"] == 15 and report["symbols"] > 30
    assert isinstance(report["seconds"], float) and report["seconds"] >= 0
    assert report["skipped"] == {"unsupported_language": 4}  # README.md, .gitignore, go.mod, Cargo.toml
    assert report["parsed"] == 15
    assert run_json(capsys, "index", str(repo), "--json")["parsed"] == 0  # type: ignore[index]


def test_index_text_output_is_one_line(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", str(repo)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("15 files, ") and out.count("\n") == 1


def test_search_json_lists_name_kind_path_line_signature(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = run_json(capsys, "search", "register_user", "--repo", str(repo), "--json")
    assert isinstance(found, list)
    assert found[0] == {**found[0], "name": "register_user", "kind": "function", "path": "python/app/service.py",
                        "line": 6,
                        "signature": "def register_user(repo: UserRepository, name: str, email: str) -> User:"}


def test_search_filters_by_kind_and_limits(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = run_json(capsys, "search", "e", "--repo", str(repo), "--kind", "class", "--limit", "2", "--json")
    assert isinstance(found, list) and len(found) == 2 and {f["kind"] for f in found} == {"class"}


def test_search_text_prints_path_line_and_signature(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "NewCircle", "--repo", str(repo)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "go/geometry/shapes.go:22: function func NewCircle(r float64) Circle")
    assert main(["search", "nothingmatchesthis", "--repo", str(repo)]) == 1


def test_outline_json_is_nested(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outline = run_json(capsys, "outline", "python/app/models.py", "--repo", str(repo), "--json")
    assert isinstance(outline, list)
    assert [(n["name"], n["line"]) for n in outline] == [("MAX_USERS", 5), ("User", 9), ("UserRepository", 21)]
    assert [c["name"] for c in outline[2]["children"]] == ["add", "find_by_email"]
    assert outline[2]["children"][0]["children"] == []


def test_outline_text_indents_children(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["outline", "web/src/store.ts", "--repo", str(repo)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["4", "class"]
    assert lines[1].startswith("  ") and "constructor" in lines[1]


def test_outline_accepts_a_path_relative_to_the_current_folder(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo / "python")
    outline = run_json(capsys, "outline", "app/service.py", "--repo", str(repo), "--json")
    assert [n["name"] for n in outline] == ["register_user", "greet_all"]  # type: ignore[union-attr]


def test_stats_prints_languages_files_symbols_and_index_size(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", str(repo)]) == 0
    capsys.readouterr()
    assert main(["stats", "--repo", str(repo)]) == 0
    out = capsys.readouterr().out
    assert "files       15" in out and "python" in out and "MiB" in out
    stats = run_json(capsys, "stats", "--repo", str(repo), "--json")
    assert stats["languages"]["typescript"] == 3  # type: ignore[index]


def test_repo_defaults_to_the_current_folder(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    assert run_json(capsys, "search", "tokenize", "--json")[0]["path"] == "rust/src/tokenizer.rs"  # type: ignore[index]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["outline", "../../etc/passwd"], "qwen-context: error: "),
        (["outline", "python/missing.py"], "qwen-context: error: python/missing.py is not an indexed file"),
        (["outline", ".env"], "qwen-context: error: "),
        (["index", "/definitely/not/a/folder"], "qwen-context: error: /definitely/not/a/folder is not a folder"),
    ],
)
def test_errors_print_one_line_and_exit_2(repo: Path, argv: list[str], message: str) -> None:
    if argv[0] != "index":
        argv = [*argv, "--repo", str(repo)]
    done = subprocess.run([sys.executable, "-m", "context.cli", *argv], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_usage_mistakes_exit_2_through_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["search"])
    assert exit_info.value.code == 2
    assert "QUERY" in capsys.readouterr().err


def test_the_progress_bar_draws_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from context.cli import progress_bar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_bar("indexing") is None
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    draw = progress_bar("indexing")
    assert draw is not None
    for done in (0, 50, 100):
        draw(done, 100)
    frames = terminal.getvalue().split("\r")
    assert any(frame.startswith("indexing [###############...............] 50/100 files") for frame in frames)
    assert frames[-1] == ""  # the bar is wiped when done, so the report prints on a clean line


def test_the_size_cap_is_set_by_the_flag_or_the_environment(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # models.py (804 bytes) and parser.rs (658 bytes) are the only source files above 600 bytes
    capped = run_json(capsys, "index", str(repo), "--max-file-bytes", "600", "--json")
    assert capped["files"] == 13 and capped["skipped"]["too_large"] == 2  # type: ignore[index]
    # every indexing command takes the flag, so a search with it keeps parser.rs out of the index
    assert run_json(capsys, "search", "parse", "--repo", str(repo), "--json", "--max-file-bytes", "600") == []
    # a later command without the flag indexes with the default cap again
    assert run_json(capsys, "index", str(repo), "--json")["files"] == 15  # type: ignore[index]
    monkeypatch.setenv("QWEN_CONTEXT_MAX_FILE_BYTES", "600")
    assert run_json(capsys, "index", str(repo), "--json")["files"] == 13  # type: ignore[index]
    assert run_json(capsys, "index", str(repo), "--json", "--max-file-bytes", "100000")["files"] == 15  # type: ignore[index]


def test_a_bad_size_cap_in_the_environment_falls_back_to_the_default_with_a_warning(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("QWEN_CONTEXT_MAX_FILE_BYTES", "1MB")
    assert run_json(capsys, "index", str(repo), "--json")["files"] == 15  # type: ignore[index]
    assert "QWEN_CONTEXT_MAX_FILE_BYTES='1MB'" in caplog.text
    assert main(["index", str(repo), "--max-file-bytes", "0"]) == 2
    assert "--max-file-bytes must be a positive number" in capsys.readouterr().err


def debian_like_tree(root: Path) -> Path:
    """A tree whose top .gitignore ignores everything, as Debian's linux-source package ships it."""
    (root / "kernel").mkdir(parents=True)
    (root / "kernel" / "fork.c").write_text("int copy_process(void) { return 0; }\n")
    (root / "init.c").write_text("int start_kernel(void) { return 0; }\n")
    (root / "debian").mkdir()
    (root / ".gitignore").write_text("# Debian\n/*\n!/debian/\n")
    return root


def test_index_says_which_ignore_rule_left_everything_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = debian_like_tree(tmp_path / "linux")
    report = run_json(capsys, "index", str(root), "--json")
    assert isinstance(report, dict) and report["files"] == 0
    # init.c and .gitignore itself are files matching /*, kernel/ a folder; debian/ is let back in by !/debian/.
    assert report["ignored"] == [{"file": ".gitignore", "rule": "/*", "files": 2, "folders": 1}]
    assert main(["index", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == ("nothing was indexed: ignore rules left out 2 files and 1 folder: "
                        "`/*` in .gitignore (2 files and 1 folder)")


def test_ignored_files_are_counted_per_rule_and_ignore_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    (root / "src" / "gen").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def main():\n    pass\n")
    for name in ("a", "b", "c"):
        (root / "src" / f"{name}.log.py").write_text("x = 1\n")
    (root / "src" / "gen" / "out.py").write_text("y = 2\n")
    (root / ".gitignore").write_text("*.log.py\n")
    (root / "src" / ".qwenignore").write_text("gen/\n")
    (root / ".git" / "info").mkdir(parents=True)
    (root / ".git" / "info" / "exclude").write_text("# nothing\n")
    report = run_json(capsys, "index", str(root), "--json")
    assert isinstance(report, dict) and report["files"] == 1
    assert report["ignored"] == [{"file": ".gitignore", "rule": "*.log.py", "files": 3, "folders": 0},
                                 {"file": "src/.qwenignore", "rule": "gen/", "files": 0, "folders": 1}]
    stats = run_json(capsys, "stats", "--repo", str(root), "--json")
    assert isinstance(stats, dict) and stats["ignored"] == report["ignored"]
    assert main(["index", str(root)]) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "ignore rules left out 3 files and 1 folder: `*.log.py` in .gitignore (3 files); "
        "`gen/` in src/.qwenignore (1 folder)")
