"""Reviewing a change: the diff, the definitions it changed, and the code the change reaches, as one prompt.

`change_of` says what is reviewed (uncommitted changes, a commit, a range, or diff text), `review_prompt`
assembles the prompt (`context.review.build`) from the changed definitions (`context.review.changes`) and their
uses and callees (`context.review.sites`), read through the engine's public API.
"""

from __future__ import annotations

from context.engine import Engine
from context.errors import UsageError
from context.review.build import REVIEW_SYSTEM_PROMPT, Review, chat_rendering, review_prompt
from context.review.source import Change, git_change, text_change


def change_of(engine: Engine, rev: str | None = None, diff: str | None = None) -> Change:
    """The change to review in ``engine``'s repository: ``diff`` text when given, else the git revision or range
    ``rev``, else the uncommitted changes against ``HEAD``."""
    if diff is not None and rev is not None:
        raise UsageError("give a revision or a diff, not both")

    def working_text(path: str) -> str:
        try:
            return engine.text(path)
        except UsageError:
            return ""

    if diff is not None:
        return text_change(diff, working_text)
    return git_change(engine.root, rev, working_text)


def review(engine: Engine, rev: str | None = None, diff: str | None = None, *, budget: int = 16384) -> Review:
    """The review prompt for ``rev`` or ``diff`` (see `change_of`) within ``budget`` tokens."""
    return review_prompt(engine, change_of(engine, rev, diff), budget=budget,
                         long_context=engine.config.long_context)


__all__ = ["REVIEW_SYSTEM_PROMPT", "Change", "Review", "change_of", "chat_rendering", "review", "review_prompt"]
