"""A fresh checkout stands alone and its instructions work as written.

Nothing in the repository reaches outside it (the Neovim the tests use comes from `.ci/fetch-neovim`), every
install hint names something that exists (no package called qwen-context is published: hints install from a
checkout), and a test that needs a real client fails under ``CI=true`` when the client is missing instead of
skipping, through the one helper in tests/conftest.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Paths that exist only beside this checkout on the machine it was written on.
OUTSIDE = re.compile(r"\.\./shared|/work/(?:shared|main|wt)\b")
#: `pip install ...` / `pipx install ...` as users are told to run it (up to the end of the command).
INSTALL = re.compile(r"\bpipx? install [^\n`;&|)]*")
#: What a hint may install: the checkout it is run in, the checkout by its path, or pip itself.
CHECKOUT_TARGETS = {".", ".[test]", "/path/to/qwen-context", "pip", "pipx"}
#: The only skip allowed outside the helper: a scan test that needs root to drop privileges, not a client.
#: The full-disk test mounts a tmpfs, which needs root: it skips for a developer without root and fails in CI (root).
ALLOWED_SKIPS = {"tests/conftest.py", "tests/context_tests/test_scan.py", "tests/hostile_tests/conftest.py",
                 "tests/hostile_tests/test_hostile_repo_index.py"}


def tracked_files() -> list[Path]:
    """The files git tracks in this checkout (what a fresh clone holds)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60)
    return [ROOT / name for name in listed.stdout.decode().split("\0") if name and (ROOT / name).is_file()]


def text_of(path: Path) -> str:
    """A tracked file's text ('' for binary files)."""
    data = path.read_bytes()
    return "" if b"\0" in data else data.decode("utf-8", errors="replace")


def install_target(command: str) -> str:
    """What ``pip install [options] TARGET ...`` installs: its first argument that is not an option."""
    arguments = [word.strip("'\"") for word in command.split()[2:] if not word.startswith("-")]
    return arguments[0] if arguments else ""


def test_nothing_in_the_checkout_refers_to_a_path_outside_it() -> None:
    found = {
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}": match.group()
        for path in tracked_files()
        for text in [text_of(path)]
        for match in OUTSIDE.finditer(text)
        if path != Path(__file__).resolve()
    }
    assert found == {}


def test_every_install_hint_installs_from_a_checkout() -> None:
    hints = {
        f"{path.relative_to(ROOT)}: {match.group()}"
        for path in tracked_files()
        if path.suffix in {".md", ".el", ".lua", ".rs", ".ts", ".json", ".toml", ".sh", ".py", ""}
        and "tests/" not in path.relative_to(ROOT).as_posix()[:6]
        for match in INSTALL.finditer(text_of(path))
        if install_target(match.group()) not in CHECKOUT_TARGETS
    }
    assert hints == set(), "install hints naming an unpublished package or an unknown target"


def test_tests_needing_a_client_use_the_one_helper_instead_of_skipping() -> None:
    skipping = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").rglob("*.py")
        if "fixtures" not in path.parts and "node_modules" not in path.parts and path != Path(__file__).resolve()
        and re.search(r"pytest\.skip\(|mark\.skipif|importorskip", path.read_text(encoding="utf-8"))
    }
    assert skipping <= ALLOWED_SKIPS, skipping - ALLOWED_SKIPS


def run_neovim_tests(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The Neovim end-to-end tests in a child pytest, with ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/lsp_tests/test_neovim_e2e.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


def test_a_missing_editor_fails_the_run_under_ci_and_skips_elsewhere() -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("QWEN_TEST_NVIM", "CI")}
    in_ci = run_neovim_tests({**env, "CI": "true"})
    assert in_ci.returncode == 1, in_ci.stdout[-2000:]
    assert "Neovim 0.12 ($QWEN_TEST_NVIM) is missing in CI" in in_ci.stdout
    on_a_laptop = run_neovim_tests(env)
    assert on_a_laptop.returncode == 0 and " skipped" in on_a_laptop.stdout, on_a_laptop.stdout[-2000:]
