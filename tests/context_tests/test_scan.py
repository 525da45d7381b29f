"""Scanning a repository: what gets indexed, what is skipped and why, and which user paths are refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from context.errors import PathOutsideWorkspace, SecretPathRefused, UnknownFile, UsageError
from context.index.scan import ScanConfig, ScannedFile, read_text, resolve_inside, scan, scan_one


def write(root: Path, rel: str, content: str | bytes = "x = 1\n") -> Path:
    """Create the file ``rel`` under ``root`` (and its folders) with ``content``."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def paths(root: Path, config: ScanConfig | None = None) -> list[str]:
    """The relative paths `scan` returns for ``root``."""
    return [scanned.path for scanned in scan(root, config or ScanConfig()).files]


def git(root: Path, *args: str) -> str:
    """Run git in ``root``, blind to the user's and the system's git configuration, and return its output."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def ignore_repo(tmp_path: Path) -> Path:
    """A repository with ignore rules at several levels, negations, anchored and folder-only rules."""
    write(tmp_path, ".gitignore", "generated_*.py\nbuild/\n/top_only.py\n*.log\nlogs/*\n!logs/keep.py\n")
    write(tmp_path, "src/.gitignore", "!generated_keep.py\nlocal.py\n")
    write(tmp_path, ".qwenignore", "vendor/\n!important.log\n")
    for rel in (
        "src/app.py", "src/generated_x.py", "src/generated_keep.py", "src/local.py", "src/top_only.py",
        "top_only.py", "build/out.py", "src/build/deep.py", "other/local.py", "vendor/lib.py", "main.go",
        "logs/drop.py", "logs/keep.py",
    ):
        write(tmp_path, rel)
    return tmp_path


EXPECTED_IGNORE_REPO = [
    "logs/keep.py", "main.go", "other/local.py", "src/app.py", "src/generated_keep.py", "src/top_only.py",
]


def test_nested_gitignore_rules_apply_relative_to_their_folder_with_negations(ignore_repo: Path) -> None:
    assert paths(ignore_repo) == EXPECTED_IGNORE_REPO


def test_the_scan_keeps_exactly_the_files_git_would_track(ignore_repo: Path) -> None:
    (ignore_repo / ".qwenignore").unlink()
    git(ignore_repo, "init", "-q")
    tracked = sorted(
        line for line in git(ignore_repo, "ls-files", "--others", "--exclude-standard").splitlines()
        if line.endswith((".py", ".go"))
    )
    assert paths(ignore_repo) == tracked == sorted([*EXPECTED_IGNORE_REPO, "vendor/lib.py"])


def test_a_folder_without_git_is_scanned_with_the_same_rules(ignore_repo: Path) -> None:
    assert not (ignore_repo / ".git").exists()
    assert paths(ignore_repo) == EXPECTED_IGNORE_REPO


def test_git_info_exclude_is_honoured_and_the_git_folder_is_never_scanned(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    write(tmp_path, ".git/info/exclude", "scratch_*.py\n")
    write(tmp_path, ".git/hooks/hook.py")
    write(tmp_path, "scratch_notes.py")
    write(tmp_path, "app.py")
    write(tmp_path, "sub/.git", "gitdir: ../.git/modules/sub\n")  # a submodule's .git file
    write(tmp_path, "sub/lib.py")
    assert paths(tmp_path) == ["app.py", "sub/lib.py"]
    assert scan_one(tmp_path, "scratch_notes.py") == "ignored"
    assert scan_one(tmp_path, ".git/hooks/hook.py") == "ignored"


def test_qwenignore_wins_over_the_gitignore_beside_it(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "*.py\n")
    write(tmp_path, ".qwenignore", "!keep.py\nexperiments/\n")
    write(tmp_path, "keep.py")
    write(tmp_path, "drop.py")
    write(tmp_path, "experiments/run.go", "package main\n")
    write(tmp_path, "main.go", "package main\n")
    assert paths(tmp_path) == ["keep.py", "main.go"]


def test_malformed_ignore_lines_are_skipped_like_git_does(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "!\nfoo\\\n*.tmp.py\n[\n")
    write(tmp_path, "a.tmp.py")
    write(tmp_path, "app.py")
    assert paths(tmp_path) == ["app.py"]


def test_a_file_name_that_is_not_utf8_is_reported_unreadable(tmp_path: Path) -> None:
    with open(os.fsencode(tmp_path) + b"/caf\xe9.py", "wb") as handle:  # Latin-1 bytes in the name
        handle.write(b"x = 1\n")
    write(tmp_path, "app.py")
    result = scan(tmp_path)
    assert [f.path for f in result.files] == ["app.py"]
    assert result.skipped == {"unreadable": ["caf\udce9.py"]}


def test_ignored_folders_are_pruned_before_they_are_entered(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    repo = tmp_path / "repo"
    write(outside, "x.py")
    write(repo, ".gitignore", "node_modules/\n")
    write(repo, "node_modules/pkg/index.js", "module.exports = 1;\n")
    (repo / "node_modules" / "escape").symlink_to(outside)
    os.mkfifo(repo / "node_modules" / "pipe.js")
    write(repo, "index.js", "export const a = 1;\n")
    result = scan(repo)
    assert [f.path for f in result.files] == ["index.js"]
    assert result.skipped == {"unsupported_language": [".gitignore"]}


def test_a_scanned_file_carries_its_size_mtime_and_language(tmp_path: Path) -> None:
    path = write(tmp_path, "pkg/mod.rs", "fn main() {}\n")
    info = path.stat()
    assert scan(tmp_path).files == [ScannedFile("pkg/mod.rs", info.st_size, info.st_mtime_ns, "rust")]
    assert scan_one(tmp_path, "pkg/mod.rs") == ScannedFile("pkg/mod.rs", info.st_size, info.st_mtime_ns, "rust")


def test_files_of_unknown_languages_are_counted_not_indexed(tmp_path: Path) -> None:
    write(tmp_path, "README.md", "# hi\n")
    write(tmp_path, "data.json", "{}\n")
    write(tmp_path, "app.py")
    result = scan(tmp_path)
    assert [f.path for f in result.files] == ["app.py"]
    assert result.skipped == {"unsupported_language": ["README.md", "data.json"]}


def test_invalid_utf8_is_indexed_and_decoded_with_replacement_characters(tmp_path: Path) -> None:
    write(tmp_path, "latin1.py", b"# caf\xe9\nname = '\xff\xfe'\n")
    assert paths(tmp_path) == ["latin1.py"]
    assert read_text(tmp_path, "latin1.py") == "# caf\ufffd\nname = '\ufffd\ufffd'\n"


def test_a_file_with_nul_bytes_is_skipped_as_binary(tmp_path: Path) -> None:
    write(tmp_path, "blob.py", b"x = 1\n\x00\x01\x02")
    assert scan(tmp_path).skipped == {"binary": ["blob.py"]}
    assert scan_one(tmp_path, "blob.py") == "binary"


def test_a_50_mb_file_is_skipped_as_too_large_without_being_read(tmp_path: Path) -> None:
    with open(tmp_path / "huge.py", "wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: all NUL bytes, so reading any of it would say "binary"
    write(tmp_path, "small.py")
    result = scan(tmp_path)
    one = scan_one(tmp_path, "huge.py")
    assert result.skipped == {"too_large": ["huge.py"]}
    assert one == "too_large"
    assert paths(tmp_path, ScanConfig(max_file_bytes=100 * 1024 * 1024)) == ["small.py"]  # now binary


def test_the_size_cap_is_configurable(tmp_path: Path) -> None:
    write(tmp_path, "big.py", "x = 1\n" * 1000)
    assert scan(tmp_path, ScanConfig(max_file_bytes=1000)).skipped == {"too_large": ["big.py"]}
    assert paths(tmp_path) == ["big.py"]


def test_minified_code_is_skipped_by_its_long_lines(tmp_path: Path) -> None:
    write(tmp_path, "app.js", "var a=1;" * 700)  # one 5,600-character line
    write(tmp_path, "wide.js", ("x" * 400 + "\n") * 10)  # lines averaging 400 characters
    write(tmp_path, "normal.js", "function f() {\n  return 1;\n}\n" * 300)
    write(tmp_path, "chinese.py", "# " + "注" * 900 + "\nx = 1\n" * 300)  # 2,700 bytes but 902 characters
    write(tmp_path, "table.py", "x = 1\n" * 20 + "TABLE = '" + "a" * 1500 + "'\n")
    write(tmp_path, "imports.js", "import { " + ", ".join(f"Name{n}" for n in range(200)) + " } from './x';\n"
          + "export const f = () => 1;\n" * 200)  # one 1,700-character line in 6 KB of ordinary code
    result = scan(tmp_path)
    assert [f.path for f in result.files] == ["chinese.py", "imports.js", "normal.js"]
    assert result.skipped == {"minified": ["app.js", "table.py", "wide.js"]}
    assert paths(tmp_path, ScanConfig(max_line_length=2000)) == ["chinese.py", "imports.js", "normal.js", "table.py"]


def test_generated_code_is_skipped_by_name_and_by_marker(tmp_path: Path) -> None:
    write(tmp_path, "dist/lib.min.js", "var a = 1;\n")
    write(tmp_path, "dist/app.bundle.js", "var a = 1;\n")
    write(tmp_path, "proto/msg_pb2.py", "x = 1\n")
    write(tmp_path, "proto/msg.pb.go", "package proto\n")
    write(tmp_path, "gen/types.go", "// Code generated by stringer; DO NOT EDIT.\n\npackage gen\n")
    write(tmp_path, "gen/schema.ts", "/**\n * @generated SignedSource<<abc>>\n */\nexport type A = 1;\n")
    write(tmp_path, "gen/table.py", "# This file was automatically generated by tool.py.\n# Do not edit.\nX = 1\n")
    write(tmp_path, "tool.py", '"""Generates code for the parser; see docs on how to edit the grammar."""\n'
          'HEADER = """\\\n# Code generated by tool.py. DO NOT EDIT.\n"""\n')  # the generator itself
    result = scan(tmp_path)
    assert [f.path for f in result.files] == ["tool.py"]
    assert result.skipped == {"generated": [
        "dist/app.bundle.js", "dist/lib.min.js", "gen/schema.ts", "gen/table.py", "gen/types.go",
        "proto/msg.pb.go", "proto/msg_pb2.py",
    ]}


def test_secret_files_are_never_indexed(tmp_path: Path) -> None:
    for rel in (".env", ".env.production", "id_rsa", "deploy/server.pem", "config/credentials.json",
                "keys/signing.key", ".ssh/config", "secrets.yaml", "settings/secrets.py"):
        write(tmp_path, rel, "API_KEY=abc\n")
    result = scan(tmp_path)
    assert [f.path for f in result.files] == ["settings/secrets.py"]  # code named secrets.py is code (masked)
    assert result.skipped == {"secret": [
        ".env", ".env.production", ".ssh/config", "config/credentials.json", "deploy/server.pem", "id_rsa",
        "keys/signing.key", "secrets.yaml",
    ]}


@pytest.mark.timeout(10)
def test_symlink_loops_are_reported_and_never_followed(tmp_path: Path) -> None:
    write(tmp_path, "pkg/mod.py")
    (tmp_path / "a.py").symlink_to("b.py")
    (tmp_path / "b.py").symlink_to("a.py")
    (tmp_path / "pkg" / "up").symlink_to("..")
    (tmp_path / "pkg" / "self").symlink_to(".")
    result = scan(tmp_path)
    assert [f.path for f in result.files] == ["pkg/mod.py"]
    assert result.skipped == {"symlink_loop": ["a.py", "b.py", "pkg/self", "pkg/up"]}
    assert scan_one(tmp_path, "a.py") == "symlink_loop"
    assert scan_one(tmp_path, "pkg/up/pkg/mod.py") == "ignored"


def test_symlinks_leaving_the_root_are_skipped_and_those_inside_are_kept(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    write(outside, "stolen.py")
    write(repo, "real/mod.py")
    (repo / "leak.py").symlink_to(outside / "stolen.py")
    (repo / "passwd.py").symlink_to("/etc/passwd")
    (repo / "ext").symlink_to(outside)
    (repo / "dangling.py").symlink_to(outside / "nothing.py")
    (repo / "alias.py").symlink_to("real/mod.py")
    (repo / "mirror").symlink_to("real")  # a folder inside the root: scanned at its real path only
    result = scan(repo)
    assert [f.path for f in result.files] == ["alias.py", "real/mod.py"]
    assert result.skipped == {"symlink_outside": ["dangling.py", "ext", "leak.py", "passwd.py"]}
    assert scan_one(repo, "leak.py") == "symlink_outside"
    assert scan_one(repo, "ext/stolen.py") == "symlink_outside"
    assert scan_one(repo, "mirror/mod.py") == "ignored"


def test_a_symlink_to_a_secret_file_is_a_secret(tmp_path: Path) -> None:
    write(tmp_path, ".env", "TOKEN=abc\n")
    (tmp_path / "config.py").symlink_to(".env")
    assert scan(tmp_path).skipped == {"secret": [".env", "config.py"]}
    with pytest.raises(SecretPathRefused):
        resolve_inside(tmp_path, "config.py")


@pytest.mark.timeout(10)
def test_a_fifo_is_reported_unreadable_without_blocking_the_scan(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    write(tmp_path, "app.py")
    assert scan(tmp_path).skipped == {"unreadable": ["pipe.py"]}
    assert scan_one(tmp_path, "pipe.py") == "unreadable"


def test_a_folder_named_like_a_source_file_is_entered_not_read(tmp_path: Path) -> None:
    write(tmp_path, "weird.py/inner.py")
    assert paths(tmp_path) == ["weird.py/inner.py"]
    assert scan_one(tmp_path, "weird.py") == "missing"
    assert scan_one(tmp_path, "gone.py") == "missing"


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder that an unprivileged user can enter (pytest's tmp_path lives under a 0700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix="qwen-scan-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def scan_as_nobody(root: Path) -> dict[str, list[str]]:
    """Scan ``root`` in a forked child that dropped root's privileges, and return its files and skips."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            result = scan(root)
            os.write(writer, json.dumps({"files": [f.path for f in result.files], **result.skipped}).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader) as stream:
        output = stream.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    found: dict[str, list[str]] = json.loads(output)
    return found


@pytest.mark.skipif(not hasattr(os, "fork") or os.geteuid() != 0, reason="needs root to drop privileges")
def test_files_and_folders_without_read_permission_are_reported_unreadable(shared_tmp: Path) -> None:
    write(shared_tmp, "app.py")
    write(shared_tmp, "locked.py").chmod(0o000)
    write(shared_tmp, "private/inner.py")
    (shared_tmp / "private").chmod(0o000)
    assert scan_as_nobody(shared_tmp) == {"files": ["app.py"], "unreadable": ["locked.py", "private"]}


def test_scan_one_agrees_with_scan_on_every_file(ignore_repo: Path) -> None:
    write(ignore_repo, "blob.py", b"\x00")
    write(ignore_repo, ".env", "A=1\n")
    result = scan(ignore_repo)
    for scanned in result.files:
        assert scan_one(ignore_repo, scanned.path) == scanned
    for reason, skipped in result.skipped.items():
        for rel in skipped:
            assert scan_one(ignore_repo, rel) == reason
    for rel in ("src/generated_x.py", "src/local.py", "top_only.py", "build/out.py", "vendor/lib.py"):
        assert scan_one(ignore_repo, rel) == "ignored"


def test_scanning_something_that_is_not_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a folder"):
        scan(tmp_path / "missing")
    with pytest.raises(UsageError, match="not a folder"):
        scan(write(tmp_path, "file.py"))


def test_five_thousand_files_under_fifty_ignore_files_are_listed(tmp_path: Path) -> None:
    """bench/bench_linear.py times this tree; here only what the scan lists is checked."""
    write(tmp_path, ".gitignore", "*.log\nbuild/\n")
    for package in range(50):
        write(tmp_path, f"pkg{package}/.gitignore", "local_*.py\n")
        for module in range(100):
            write(tmp_path, f"pkg{package}/mod{module}.py", f"def f{module}():\n    return {module}\n")
    write(tmp_path, "pkg7/local_tmp.py")
    write(tmp_path, "pkg9/build/out.py")
    write(tmp_path, "pkg3/trace.log")
    result = scan(tmp_path)
    assert len(result.files) == 5000
    assert {"pkg7/local_tmp.py", "pkg9/build/out.py", "pkg3/trace.log"}.isdisjoint(f.path for f in result.files)


# --- resolve_inside ------------------------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace with a source file, secret files, and symlinks pointing out of it."""
    root = tmp_path / "ws"
    write(root, "src/app.py")
    write(root, ".env", "TOKEN=abc\n")
    write(root, "id_rsa", "key\n")
    write(tmp_path, "outside/secret.py")
    (root / "out").symlink_to(tmp_path / "outside")
    (root / "out.py").symlink_to(tmp_path / "outside" / "secret.py")
    (root / "etc").symlink_to("/etc")
    (root / "loop1.py").symlink_to("loop2.py")
    (root / "loop2.py").symlink_to("loop1.py")
    return root


ESCAPES = [
    "../outside/secret.py", "../../etc/passwd", "src/../../outside/secret.py", "..", "../", "./..",
    "/etc/passwd", "//etc/passwd", "/", "~", "~/.ssh/id_rsa", "~root/.bashrc",
    "src/app.py\0.txt", "\0", "%2e%2e/outside/secret.py", "%2E%2E%2Fetc%2Fpasswd", "..%2f..%2fetc%2fpasswd",
    "src%2fapp.py", "%252e%252e/etc", "src/app.py%00", "..\\outside\\secret.py", "..\\..\\etc\\passwd",
    "\\etc\\passwd", "\\\\server\\share\\x.py", "C:\\Windows\\win.ini", "c:/windows/win.ini",
    "file:///etc/passwd", "out/secret.py", "out.py", "etc/passwd", "", "   ",
]


@pytest.mark.parametrize("rel", ESCAPES)
def test_paths_leaving_the_workspace_are_refused_with_advice(workspace: Path, rel: str) -> None:
    with pytest.raises(PathOutsideWorkspace, match="relative to the workspace root|write it plainly"):
        resolve_inside(workspace, rel)


@pytest.mark.parametrize("rel", [".env", "./.env", "src/../.env", "id_rsa", ".env.local", "config/credentials.json"])
def test_secret_files_are_refused(workspace: Path, rel: str) -> None:
    with pytest.raises(SecretPathRefused, match="never read"):
        resolve_inside(workspace, rel)


def test_an_absolute_path_inside_the_workspace_is_refused_with_its_relative_form(workspace: Path) -> None:
    with pytest.raises(PathOutsideWorkspace, match="e.g. src/app.py"):
        resolve_inside(workspace, str(workspace / "src" / "app.py"))


def test_a_symlink_loop_is_an_unknown_file(workspace: Path) -> None:
    with pytest.raises(UnknownFile, match="symlink loop"):
        resolve_inside(workspace, "loop1.py")


@pytest.mark.parametrize("rel", ["src/app.py", "./src/app.py", "src//app.py", "src/./app.py", "src/../src/app.py",
                                 "src\\app.py", "src/app.py/"])
def test_relative_paths_inside_the_workspace_resolve_to_the_file(workspace: Path, rel: str) -> None:
    assert resolve_inside(workspace, rel) == (workspace / "src" / "app.py").resolve()


def test_a_path_to_a_file_not_yet_created_resolves_inside(workspace: Path) -> None:
    assert resolve_inside(workspace, "src/new.py") == (workspace / "src" / "new.py").resolve()


def test_read_text_refuses_what_resolve_inside_refuses(workspace: Path) -> None:
    with pytest.raises(PathOutsideWorkspace):
        read_text(workspace, "../outside/secret.py")
    with pytest.raises(UnknownFile, match="cannot read src/missing.py"):
        read_text(workspace, "src/missing.py")
