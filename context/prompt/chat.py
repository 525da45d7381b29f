"""Repository context for a task described in words (chat, code actions, agents), as Markdown: one fenced
block per file, focus files whole when they fit, the best candidates' bodies, then headers."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from context.index.scan import resolve_inside
from context.index.view import IndexView
from context.prompt import rank, tokens
from context.prompt.budget import check_budget
from context.prompt.candidates import query_items
from context.prompt.memo import PromptCaches
from context.prompt.pack import Packer, pack_items
from context.prompt.result import Prompt, Section
from context.weights import CHAT_BODIES


def _fence(content: str) -> str:
    """A Markdown fence longer than any run of backticks in ``content``."""
    longest = max((len(run) for run in re.findall(r"`{3,}", content)), default=2)
    return "`" * (longest + 1)


def build_chat_context(
    view: IndexView,
    caches: PromptCaches,
    query: str,
    *,
    focus: Sequence[str] = (),
    budget: int = 16384,
    long_context: bool = False,
) -> Prompt:
    """The repository context for a task described in words, as Markdown: one fenced block per file.

    For chat, code actions and agents. Focus files (open or mentioned files) come whole when they fit.
    """
    started = time.perf_counter()
    check_budget(budget, long_context)
    for file in focus:
        resolve_inside(view.root, file)
    items = query_items(view, caches, query, focus)
    repo_name = view.root.name
    heading = f"Repository `{repo_name}`: context for the task below.\n\n"
    packer = Packer(view, caches, budget - tokens.count(heading), chat=True)
    for file in focus:
        packer.add_whole(file, "focus file", 1.0)
    for item in items[:CHAT_BODIES]:
        packer.add_body(item)
    pack_items(packer, items, [], list)
    graph = view.file_graph()
    while True:
        parts = [heading]
        sections: list[Section] = []
        for path in rank.dependency_order(packer.plans, graph):
            content = packer.content(path)
            fence = _fence(content)
            language = view.language(path) or ""
            block = f"`{path}`\n{fence}{language}\n{content}\n{fence}\n\n"
            parts.append(block)
            sections.append(Section(path, packer.kind(path), tokens.count(block), packer.reason(path)))
        text = "".join(parts)
        total = tokens.count(text)
        if total <= budget or not packer.plans:
            break
        weakest = min(packer.plans.values(), key=lambda plan: (plan.best, plan.path))
        del packer.plans[weakest.path]
    elapsed = (time.perf_counter() - started) * 1000
    return Prompt(text, total, budget, sections, elapsed, "", "", "", repo_name)


__all__ = ["build_chat_context"]
