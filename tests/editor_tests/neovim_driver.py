"""Driving a real Neovim from tests: find it, isolate it, type into it and read its state.

Neovim 0.12 (native LSP inline completion) comes from the checkout's `.ci/fetch-neovim`; `.ci/run` exports its
path as QWEN_TEST_NVIM, and the `nvim` fixture of tests/conftest.py skips (or, under CI=true, fails) without it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EDITORS = REPO / "editors"


def isolated_env(home: Path) -> dict[str, str]:
    """The environment of an editor under test: the project's venv first on PATH (so `qwen-lsp` is the one
    tested), and every XDG folder inside ``home`` so no user configuration, plugin or log leaks in or out."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        folder = home / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[f"XDG_{name}_HOME"] = str(folder)
    return env


def vim_string(text: str) -> str:
    """A Vim script single-quoted string literal."""
    return "'" + text.replace("'", "''") + "'"


class Neovim:
    """A headless Neovim on a socket, driven with `--remote-send` (keys) and `--remote-expr` (Lua)."""

    def __init__(self, nvim: str, cwd: Path, env: dict[str, str], args: list[str]) -> None:
        self.nvim = nvim
        self.env = env
        # A short folder of its own: a socket path must stay under ~100 bytes, pytest's tmp_path may not.
        self.folder = Path(tempfile.mkdtemp(prefix="qwen-nvim-"))
        self.socket = self.folder / "nvim.sock"
        self.stderr = self.folder / "stderr"
        with self.stderr.open("wb") as stderr:
            self.process = subprocess.Popen(
                [nvim, "--headless", "--clean", "--listen", str(self.socket), *args],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        self.wait_until(self.socket.exists, "Neovim to listen on its socket", timeout=20)

    def _remote(self, *args: str) -> str:
        done = subprocess.run(
            [self.nvim, "--clean", "--headless", "--server", str(self.socket), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=20,
            check=False,
        )
        assert done.returncode == 0, f"nvim {args[0]} failed: {done.stderr}"
        return done.stdout

    def keys(self, keys: str) -> None:
        """Type ``keys`` (with `<Esc>`-style notation), as a user would."""
        self._remote("--remote-send", keys)

    def lua(self, expression: str) -> Any:
        """Evaluate one Lua expression in the editor and return its value (through JSON)."""
        return json.loads(
            self._remote("--remote-expr", f"luaeval({vim_string(f'vim.json.encode({expression})')})")
        )

    def wait_until(self, condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
        """Poll ``condition`` until it is truthy; fail with ``what`` and Neovim's stderr after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"Neovim exited ({self.process.returncode}) waiting for {what}:\n{self.log()}")
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout}s waiting for {what}:\n{self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        """Neovim's stderr and the LSP client log, for failure messages."""
        lsp_log = Path(self.env["XDG_STATE_HOME"]) / "nvim" / "lsp.log"
        parts = [self.stderr.read_text(errors="replace")]
        if lsp_log.exists():
            parts.append(lsp_log.read_text(errors="replace")[-6000:])
        return "\n".join(parts)

    def quit(self) -> None:
        if self.process.poll() is None:
            try:
                self.keys("<Esc>:qa!<CR>")
                self.process.wait(timeout=10)
            except (subprocess.TimeoutExpired, AssertionError):
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)

