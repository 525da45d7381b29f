"""Findings 2, 3 and 8 of issue 16: FIFOs never block, no content from outside the root enters the index, the path
``.`` is a clear error; and no code in `context` opens a workspace file except through `read_file`."""

from __future__ import annotations

import ast
import os
import textwrap
from pathlib import Path

import pytest

from tests.hostile_tests.conftest import cli, script, write

CONTEXT = Path(__file__).parents[2] / "context"

#: The only places in `context` that open files, and why each may: (module, function).
ALLOWED_OPENS = {
    ("index/files.py", "open_file"): "the one safe open of workspace files",
    ("index/files.py", "_walk"): "opens the folders on the way, without following symlinks",
    ("index/files.py", "_open_in"): "opens the file itself, after lstat",
    ("index/store.py", "_flock"): "the rebuild lock file in the cache folder",
    ("index/parse.py", "query_source"): "the package's own query files",
    ("index/pool.py", "parser_fingerprint"): "the package's own source files",
    ("secrets.py", "_load_rules"): "the package's own rule data",
    ("cli/base.py", "open_input"): "the --buffer or --batch file named on the command line, not a workspace file",
}

#: Calls that open a file: ``open(...)``, and methods such as ``os.open``, ``Path.read_text``, ``Path.open``.
_OPEN_FUNCTIONS = {"open"}
_OPEN_METHODS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "open_text"}


def _opens(tree: ast.AST) -> list[tuple[str, int]]:
    """(enclosing function, line) of every call that opens a file in ``tree``."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, ast.Call):
                callee = child.func
                if isinstance(callee, ast.Name) and callee.id in _OPEN_FUNCTIONS or \
                        isinstance(callee, ast.Attribute) and callee.attr in _OPEN_METHODS:
                    found.append((function, child.lineno))
            visit(child, name)

    visit(tree, "")
    return found


def test_no_code_in_context_opens_a_file_except_through_the_one_safe_read() -> None:
    offenders = []
    for path in sorted(CONTEXT.rglob("*.py")):
        module = path.relative_to(CONTEXT).as_posix()
        for function, line in _opens(ast.parse(path.read_text(encoding="utf-8"))):
            if (module, function) not in ALLOWED_OPENS:
                offenders.append(f"{module}:{line} in {function or 'module level'}")
    assert offenders == [], "files opened outside context/index/files.read_file: " + ", ".join(offenders)


def test_the_checker_sees_every_way_of_opening_a_file() -> None:
    code = "def f(p):\n    open(p)\n    p.read_text()\n    os.open(p, 0)\n    Path(p).read_bytes()\n"
    assert [line for _, line in _opens(ast.parse(code))] == [2, 3, 4, 5]


def test_a_fifo_as_an_ignore_file_does_not_block_indexing(repo: Path) -> None:
    os.mkfifo(repo / ".gitignore")
    done = cli("index", str(repo), "--json", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert '"files": 2' in done.stdout


def test_a_fifo_as_a_build_file_does_not_block_import_resolution(tmp_path: Path) -> None:
    root = tmp_path / "gorepo"
    write(root, "main.go", 'package main\n\nimport "example.com/m/util"\n\nfunc main() { util.Help() }\n')
    write(root, "util/util.go", "package util\n\nfunc Help() {}\n")
    os.mkfifo(root / "go.mod")
    done = cli("map", "--repo", str(root), "--budget", "1024", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "main.go" in done.stdout


def test_an_indexed_file_replaced_by_a_fifo_is_refused_at_once(repo: Path) -> None:
    code = textwrap.dedent(f"""
        import os
        from context.engine import Engine
        from context.errors import UnknownFile
        with Engine({str(repo)!r}) as engine:
            engine.index()
            os.unlink({str(repo / "app.py")!r})
            os.mkfifo({str(repo / "app.py")!r})
            try:
                engine.text("app.py")
            except UnknownFile as exc:
                print("refused:", exc)
    """)
    done = script(code, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "refused: cannot read app.py" in done.stdout


def test_a_symlink_swapped_in_after_the_scan_brings_nothing_from_outside(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", "leak.py", "OUTSIDE_CONSTANT = 'from outside the root'\n")
    root = tmp_path / "repo"
    write(root, "app.py", "def handler():\n    return 1\n")
    code = textwrap.dedent(f"""
        import os
        from context.engine import Engine
        from context.index.pool import _parse_chunk
        from context.index.store import PackedFile
        root = {str(root)!r}
        with Engine(root) as engine:
            engine.index()  # the scan saw a regular app.py
        os.unlink(os.path.join(root, "app.py"))
        os.symlink({str(outside)!r}, os.path.join(root, "app.py"))  # swapped in before the parse reads it
        outcomes = _parse_chunk(root, [("app.py", "python", None, 30)], 1 << 20)
        print("packed" if any(isinstance(o, PackedFile) for o in outcomes) else "refused")
    """)
    done = script(code, cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "refused"


def test_a_symlinked_folder_swapped_in_is_not_followed_by_the_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, "app.py", "OUTSIDE = 1\n")
    root = tmp_path / "repo"
    write(root, "src/app.py", "def handler():\n    return 1\n")
    code = textwrap.dedent(f"""
        import os, shutil
        from context.index.files import FileRefused, read_file
        root = {str(root)!r}
        shutil.rmtree(os.path.join(root, "src"))
        os.symlink({str(outside)!r}, os.path.join(root, "src"))
        try:
            read_file(root, "src/app.py", 1 << 20)
            print("read")
        except FileRefused as exc:
            print(exc.reason)
    """)
    done = script(code, cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "outside"


@pytest.mark.parametrize("path", [".", "./", "src/.."])
def test_the_workspace_folder_as_a_path_is_a_one_line_error(repo: Path, path: str) -> None:
    write(repo, "src/x.py", "X = 1\n")
    done = cli("outline", path, "--repo", str(repo), cwd=repo)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "AssertionError" not in done.stderr
    assert done.stderr.count("\n") == 1 and "workspace folder, not a file" in done.stderr
