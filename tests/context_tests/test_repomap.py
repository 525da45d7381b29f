"""The repository map: the most used definitions first, members under their class, within an exact budget."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from context.engine import Engine
from context.prompt import tokens
from context.prompt.repomap import RepoMap

FILES = {
    "store/limits.py": "MAX_ROWS = 1000\nMIN_ROWS = 1\nDEFAULT_PAGE = 50\nPAGE_SIZES = (10, 50, 100)\n",
    "store/errors.py": "class StoreError(Exception):\n    pass\n\n\nclass RowMissing(StoreError):\n    pass\n",
    "store/database.py": (
        "from store.limits import MAX_ROWS\n\n\n"
        "class Database:\n"
        '    """Rows by key."""\n\n'
        "    def __init__(self, path: str) -> None:\n        self.path = path\n\n"
        "    def fetch_row(self, key: str) -> dict:\n        return {}\n\n"
        "    def store_row(self, key: str, row: dict) -> None:\n        pass\n\n"
        "    def _compact(self) -> None:\n        pass\n"
    ),
    "app/users.py": (
        "from store.database import Database\n\n\n"
        "def load_user(db: Database, key: str) -> dict:\n    return db.fetch_row(key)\n\n\n"
        "def save_user(db: Database, key: str, user: dict) -> None:\n    db.store_row(key, user)\n"
    ),
    "app/orders.py": (
        "from store.database import Database\n\n\n"
        "def load_order(db: Database, key: str) -> dict:\n    return db.fetch_row(key)\n"
    ),
    "app/reports.py": (
        "from store.database import Database\nfrom app.orders import load_order\n\n\n"
        "def monthly_report(db: Database) -> list:\n    return [load_order(db, 'x'), db.fetch_row('y')]\n"
    ),
    "app/cli.py": (
        "from app.reports import monthly_report\nfrom store.database import Database\n\n\n"
        "def main() -> None:\n    monthly_report(Database('db'))\n"
    ),
    "tests/test_users.py": (
        "from app.users import load_user\nfrom store.database import Database\n\n\n"
        "class FakeDatabase(Database):\n    def fetch_row(self, key: str) -> dict:\n        return {'k': key}\n\n\n"
        "def test_load_user() -> None:\n    assert load_user(FakeDatabase('x'), 'k')\n"
    ),
}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    for rel, text in FILES.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    with Engine(tmp_path) as engine:
        engine.index()
        yield engine


def test_the_most_used_class_and_its_methods_come_before_constants(engine: Engine) -> None:
    text = engine.repo_map(budget=1024)
    assert text.startswith("store/database.py:\n")
    assert "class Database:\n⋮\n    def __init__(self, path: str) -> None:\n⋮\n    def fetch_row(" in text
    assert text.index("def fetch_row(") < text.index("def load_user(")
    if "MAX_ROWS" in text:
        assert text.index("def store_row(") < text.index("MAX_ROWS = 1000")


def test_private_methods_and_tests_come_last(engine: Engine) -> None:
    text = engine.repo_map(budget=1024)
    for later in ("def _compact(", "class FakeDatabase("):
        if later in text:
            assert text.index("def store_row(") < text.index(later)
    small = engine.repo_map(budget=60)
    assert "def fetch_row(" in small
    assert "_compact" not in small and "FakeDatabase" not in small


def test_focus_brings_the_focus_file_and_its_neighbours_first(engine: Engine) -> None:
    plain = engine.repo_map(budget=1024)
    focused = engine.repo_map(focus=["app/cli.py"], budget=1024)
    assert focused != plain
    assert focused.index("app/reports.py:") < focused.index("app/users.py:")
    assert "class FakeDatabase(" in engine.repo_map(focus=["tests/test_users.py"], budget=200)


@pytest.mark.parametrize("budget", [1, 20, 45, 100, 333, 4096])
def test_the_map_never_exceeds_its_budget(engine: Engine, budget: int) -> None:
    assert tokens.count(engine.repo_map(budget=budget)) <= budget


def test_the_map_is_deterministic_and_the_same_from_a_fresh_map_over_the_index(engine: Engine) -> None:
    first = engine.repo_map(focus=["app/users.py"], budget=300)
    assert first == engine.repo_map(focus=["app/users.py"], budget=300)
    assert first == RepoMap(engine).render(focus=["app/users.py"], budget=300)


def test_an_edit_shows_in_the_next_map(engine: Engine) -> None:
    engine.set_overlay("store/database.py", FILES["store/database.py"].replace("def fetch_row(", "def get_row("))
    assert "def get_row(self, key: str) -> dict:" in engine.repo_map(budget=1024)
