"""Helpers of the hostile-repository suite: run the real ``qwen-context`` CLI (or a short Python script driving
the engine the way a server does) in a subprocess, with a deadline, so a hang fails the test instead of the run;
a small disk to fill for the full-disk cases."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Seconds a command may take before the test calls it a hang (generous: the machine may be loaded).
DEADLINE_S = 60


def run(argv: list[str], cwd: Path, timeout: float = DEADLINE_S) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with this test's environment; a command still running after ``timeout`` fails the test."""
    try:
        return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=dict(os.environ),
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{argv[2:]} did not finish within {timeout} s (a hang)")


def cli(*args: str, cwd: Path, timeout: float = DEADLINE_S) -> subprocess.CompletedProcess[str]:
    """Run ``qwen-context ARGS`` in ``cwd``."""
    return run([sys.executable, "-m", "context.cli", *args], cwd, timeout)


def script(code: str, cwd: Path, timeout: float = DEADLINE_S) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` (which drives `context.engine.Engine` like a server) in ``cwd``."""
    return run([sys.executable, "-c", code], cwd, timeout)


def write(root: Path, rel: str, text: str) -> Path:
    """Write ``text`` to ``root/rel``, creating folders."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A two-file Python repository: ``handler`` in app.py calls ``helper`` in util.py."""
    root = tmp_path / "repo"
    write(root, "app.py", "def handler():\n    return helper()\n")
    write(root, "util.py", "def helper():\n    return 2\n")
    return root


def module_text(index: int) -> str:
    """A Python module of 40 small functions, ``function_<index>_<n>``."""
    functions = "".join(f"def function_{index}_{n}(value):\n    return value + {n}\n\n" for n in range(40))
    return f'"""Module {index}."""\n\n' + functions


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs for the index cache (mounting needs root: CI runs as root, so there it never skips)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    reason = ""
    if os.geteuid() != 0:
        reason = "mounting a small tmpfs as the cache needs root"
    elif shutil.which("mount") is None:
        reason = "no mount command"
    else:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True,
                              text=True, check=False)
        reason = done.stderr.strip() and f"cannot mount a tmpfs: {done.stderr.strip()}"
    if reason:
        if os.environ.get("CI") == "true" and os.geteuid() == 0:
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill_disk(disk: Path) -> Path:
    """Fill ``disk`` to the last byte with one file; returns it."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass
        try:
            while True:
                handle.write(b"\0")
        except OSError:
            pass
    return filler
