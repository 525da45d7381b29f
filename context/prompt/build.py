"""Repository-level prompts for Qwen3-Coder: the one object an index hands prompt requests to.

`PromptBuilder` owns what prompt assembly remembers between requests over one index (`context.prompt.memo`,
and the repository map's ranks) and dispatches to the three builders: the FIM prompt for a cursor
(`context.prompt.fim`), the chat context for a question (`context.prompt.chat`) and the repository map
(`context.prompt.repomap`). It reads the index only through `context.index.view.IndexView`, so the prompt stage
never imports the engine; the engine holds one builder and delegates to it.

Context comes at three granularities so more of what matters fits: whole files for the closest dependencies,
definitions elided to their header and doc line (``⋮`` marks what was left out), and bare names; every count is
exact (`context.prompt.tokens`) and the result never exceeds its budget.
"""

from __future__ import annotations

from collections.abc import Sequence

from context.index.view import IndexView
from context.prompt.chat import build_chat_context
from context.prompt.fim import build_fim_prompt, prepare_fim
from context.prompt.memo import PromptCaches
from context.prompt.repomap import RepoMap
from context.prompt.result import Prompt


class PromptBuilder:
    """Prompts over one index, with the memory that makes consecutive prompts cheap and prefix-stable."""

    def __init__(self, view: IndexView, *, long_context: bool = False) -> None:
        """Build over ``view``; ``long_context`` allows budgets beyond 256K (YaRN-extended deployments)."""
        self._view = view
        self._long_context = long_context
        self._caches = PromptCaches()
        self._repo_map = RepoMap(view)

    def fim_prompt(self, path: str, line: int, character: int, *, budget: int = 8192, buffer: str | None = None,
                   recent: Sequence[str] = ()) -> Prompt:
        """The repository-level FIM prompt for a cursor (see `context.prompt.fim.build_fim_prompt`)."""
        return build_fim_prompt(self._view, self._caches, path, line, character, budget=budget, buffer=buffer,
                                recent=recent, long_context=self._long_context)

    def prepare(self, path: str, *, budget: int = 8192, recent: Sequence[str] = ()) -> None:
        """Warm the caches the first FIM prompt in ``path`` needs (see `context.prompt.fim.prepare_fim`)."""
        prepare_fim(self._view, self._caches, path, budget=budget, recent=recent, long_context=self._long_context)

    def chat_context(self, query: str, *, focus: Sequence[str] = (), budget: int = 16384) -> Prompt:
        """Repository context for a task described in words (see `context.prompt.chat.build_chat_context`)."""
        return build_chat_context(self._view, self._caches, query, focus=focus, budget=budget,
                                  long_context=self._long_context)

    def repo_map(self, *, focus: Sequence[str] = (), budget: int = 4096) -> str:
        """The ranked repository map (see `context.prompt.repomap.RepoMap.render`)."""
        return self._repo_map.render(focus=focus, budget=budget)


__all__ = ["PromptBuilder"]
