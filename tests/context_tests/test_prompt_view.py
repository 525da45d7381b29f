"""The prompt stage reads an index only through `IndexView`: it builds the same prompts over a view that
exposes nothing else of the engine, and keeps its caches in the object that owns them."""

from __future__ import annotations

from pathlib import Path

from context.engine import Engine
from context.index.symbols import Definition, Import
from context.index.view import IndexView
from context.prompt.build import PromptBuilder

PYTHON_MAIN = "python/main.py"


class NarrowView:
    """An `IndexView` over a real engine that answers the Protocol's questions and nothing else: a prompt
    builder reaching for any other engine attribute fails with AttributeError."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def root(self) -> Path:
        return self._engine.root

    @property
    def version(self) -> int:
        return self._engine.version

    def files(self) -> list[str]:
        return self._engine.files()

    def language(self, path: str) -> str | None:
        return self._engine.language(path)

    def text(self, path: str) -> str:
        return self._engine.text(path)

    def definitions(self, path: str) -> list[Definition]:
        return self._engine.definitions(path)

    def definitions_named(self, name: str) -> list[Definition]:
        return self._engine.definitions_named(name)

    def search(self, query: str, kind: str | None = None, limit: int = 20) -> list[Definition]:
        return self._engine.search(query, kind, limit)

    def imports(self, path: str) -> list[Import]:
        return self._engine.imports(path)

    def dependencies(self, path: str) -> list[str]:
        return self._engine.dependencies(path)

    def dependents(self, path: str) -> list[str]:
        return self._engine.dependents(path)

    def file_graph(self) -> dict[str, dict[str, float]]:
        return self._engine.file_graph()

    def reference_counts(self, path: str) -> dict[str, int]:
        return self._engine.reference_counts(path)


def test_prompts_over_the_narrow_view_equal_the_engines(engine: Engine) -> None:
    view: IndexView = NarrowView(engine)
    builder = PromptBuilder(view)
    line = engine.text(PYTHON_MAIN).count("\n") // 2
    for budget in (1024, 4096, 32768):
        ours = builder.fim_prompt(PYTHON_MAIN, line, 0, budget=budget)
        theirs = engine.fim_prompt(PYTHON_MAIN, line, 0, budget=budget)
        assert (ours.text, ours.sections) == (theirs.text, theirs.sections)
    chat = builder.chat_context("how are users stored", focus=[PYTHON_MAIN], budget=4096)
    assert chat.text == engine.chat_context("how are users stored", focus=[PYTHON_MAIN], budget=4096).text
    assert builder.repo_map(budget=512) == engine.repo_map(budget=512)


def test_each_builder_owns_its_caches(engine: Engine, repo: Path) -> None:
    first, second = PromptBuilder(engine), PromptBuilder(engine)
    prompt = first.fim_prompt(PYTHON_MAIN, 1, 0, budget=4096)
    assert prompt.text == second.fim_prompt(PYTHON_MAIN, 1, 0, budget=4096).text
    # the second builder computed its own selection: nothing is shared through module-level state
    assert first._caches.selections and second._caches.selections
    assert first._caches.selections.keys() == second._caches.selections.keys()
    assert next(iter(first._caches.selections.values())) is not next(iter(second._caches.selections.values()))
