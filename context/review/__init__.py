"""Reviewing a change: the diff, the definitions it changed, and the code the change reaches, as one prompt.

`change_of` says what is reviewed (uncommitted changes, a commit, a range, diff text, or one file's uncommitted
changes as the engine sees it, an editor's unsaved buffer included), `review_prompt`
assembles the prompt (`context.review.build`) from the changed definitions (`context.review.changes`) and their
uses and callees (`context.review.sites`), read through the engine's public API.
"""

from __future__ import annotations

from context.engine import Engine
from context.errors import UsageError
from context.index.paths import checked_path
from context.review.build import REVIEW_SYSTEM_PROMPT, Review, chat_rendering, review_prompt
from context.review.source import Change, differs, file_change, git_change, head_text, text_change
from context.secrets import mask_secrets


def has_file_changes(engine: Engine, path: str, head: str | None = None) -> bool:
    """Whether ``path``'s text in ``engine`` (its overlay, an editor's unsaved buffer, when it has one) differs
    from ``head``, its text at ``HEAD`` (read with git when not given). Cheap: nothing is diffed or parsed, so an
    editor may ask on every code-action request. Raises a `UsageError` outside a git work tree or without git."""
    rel = checked_path(engine.root, path)
    now = engine.text(rel)
    return differs(mask_secrets(head_text(engine.root, rel) if head is None else head), now)


def _file_change(engine: Engine, path: str) -> Change:
    rel = checked_path(engine.root, path)
    change = file_change(rel, mask_secrets(head_text(engine.root, rel)), engine.text(rel))
    if change is None:
        raise UsageError(f"{rel} has no uncommitted changes against HEAD")
    return change


def change_of(engine: Engine, rev: str | None = None, diff: str | None = None, *, path: str | None = None) -> Change:
    """The change to review in ``engine``'s repository: ``diff`` text when given, else the git revision or range
    ``rev``, else the uncommitted changes against ``HEAD`` (of the one file ``path`` when given, its text as
    the engine has it: an editor's unsaved buffer is reviewed as the user sees it)."""
    if diff is not None and rev is not None:
        raise UsageError("give a revision or a diff, not both")
    if path is not None:
        if diff is not None or rev is not None:
            raise UsageError("give a file or a revision or a diff, not several")
        return _file_change(engine, path)

    def working_text(path: str) -> str:
        try:
            return engine.text(path)
        except UsageError:
            return ""

    if diff is not None:
        return text_change(diff, working_text)
    return git_change(engine.root, rev, working_text)


def review(engine: Engine, rev: str | None = None, diff: str | None = None, *, budget: int = 16384,
           path: str | None = None) -> Review:
    """The review prompt for ``rev``, ``diff`` or one file's ``path`` (see `change_of`) within ``budget`` tokens."""
    return review_prompt(engine, change_of(engine, rev, diff, path=path), budget=budget,
                         long_context=engine.config.long_context)


__all__ = ["REVIEW_SYSTEM_PROMPT", "Change", "Review", "change_of", "chat_rendering", "has_file_changes", "head_text",
           "review", "review_prompt"]
