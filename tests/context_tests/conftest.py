"""Fixtures shared by the engine's tests: a private copy of the multi-language fixture repository, and an engine
with the test module's ``repo`` indexed (a module that needs another repository defines its own ``repo``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from context.engine import Engine

MULTILANG = Path(__file__).parents[1] / "fixtures" / "multilang_repo"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A private copy of the multi-language fixture repository, which the test may edit."""
    root = tmp_path / "multilang"
    shutil.copytree(MULTILANG, root)
    return root


@pytest.fixture
def engine(repo: Path) -> Iterator[Engine]:
    """An engine with ``repo`` indexed, closed after the test."""
    with Engine(repo) as engine:
        engine.index()
        yield engine
