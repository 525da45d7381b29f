"""Fixtures of the editor tests: a real Neovim 0.12, started per test and always quit afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from neovim_driver import Neovim, isolated_env


@pytest.fixture
def start_neovim(nvim: str, tmp_path: Path) -> Iterator[Callable[..., Neovim]]:
    """Start Neovim (0.12, or ``binary``) in a folder with arguments; every editor is quit after the test."""
    started: list[Neovim] = []

    def start(cwd: Path, *args: str, env: dict[str, str] | None = None, binary: str | None = None) -> Neovim:
        editor = Neovim(binary or nvim, cwd, env or isolated_env(tmp_path / "home"), list(args))
        started.append(editor)
        return editor

    yield start
    for editor in started:
        editor.quit()
