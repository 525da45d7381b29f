"""The packer: fills a token budget with context files at graceful granularity, counting as it goes.

A file comes whole (the closest dependencies), as its chosen definitions' headers and doc lines with ``⋮``
where lines were left out, or as bare names; a definition comes with its enclosing scopes' headers. Costs are
exact token counts of the pieces, so the estimate matches the rendered prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from context.errors import UnknownFile
from context.index.symbols import Definition
from context.index.view import IndexView
from context.prompt.candidates import Item, top_level
from context.prompt.memo import PromptCaches
from context.prompt.repomap import ELISION, header_range
from context.weights import (
    DETAIL_MIN_BUDGET,
    FARTHER_MIN_SHARE,
    MAX_BODY_LINES,
    MAX_PACKING_MISSES,
    MAX_SCOPE_HEADERS,
    MAX_SECTION_REASONS,
    MIN_PACKING_ROOM,
    MIN_WHOLE_FILE_ROOM,
)

#: Characters of a definition's doc looked for in the lines around its header to find its doc line.
DOC_MATCH_CHARS = 40


def _doc_line_number(lines: Sequence[str], definition: Definition, top: int, bottom: int) -> int | None:
    """The line holding the definition's doc (the line after the header, or the comment just above it)."""
    doc = definition.doc[:DOC_MATCH_CHARS]
    if not doc:
        return None
    for number in (bottom + 1, bottom + 2, top - 1, top - 2):
        if 0 <= number < len(lines) and doc in lines[number]:
            return number
    return None


@dataclass(slots=True)
class FilePlan:
    """What one context file contributes: the whole file, or chosen definitions (as headers) and names."""

    path: str
    whole: bool = False
    #: ``id()`` of the definitions shown (the objects live in the engine's snapshot while the plan exists).
    shown: set[int] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)
    lines: set[int] = field(default_factory=set)
    best: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def note(self, reason: str, score: float) -> None:
        self.best = max(self.best, score)
        if reason not in self.reasons:
            self.reasons.append(reason)


class Packer:
    """Fills a token budget with context files at graceful granularity, counting as it goes."""

    def __init__(self, view: IndexView, caches: PromptCaches, budget: int, chat: bool) -> None:
        self.view = view
        self.caches = caches
        self.budget = budget
        self.chat = chat
        self.used = 0
        self.plans: dict[str, FilePlan] = {}
        self.texts: dict[str, str | None] = {}
        self.qualnames: dict[str, dict[str, Definition]] = {}
        self.elision = caches.tokens.count(ELISION + "\n")

    # -- reading
    # ------------------------------------------------------------------------------------------------

    def text(self, path: str) -> str | None:
        if path not in self.texts:
            try:
                self.texts[path] = self.caches.defused(self.view.text(path))
            except UnknownFile:
                self.texts[path] = None
        return self.texts[path]

    def lines(self, path: str) -> list[str] | None:
        text = self.text(path)
        return None if text is None else self.caches.split(text)

    # -- costs
    # --------------------------------------------------------------------------------------------------

    def _section_overhead(self, path: str) -> int:
        """Tokens of a section's frame: marker (or Markdown heading and fences), path, final line."""
        if self.chat:
            return self.caches.tokens.count(f"`{path}`\n```\n```\n\n") + 2 + self.elision
        return 1 + self.caches.tokens.count(f"{path}\n") + self.elision

    def _header(self, lines: list[str], definition: Definition) -> tuple[int, int]:
        return self.caches.headers.get(definition, lambda: header_range(lines, definition))

    def _definition_lines(self, lines: list[str], definition: Definition) -> list[int]:
        top, bottom = self._header(lines, definition)
        if self.budget < DETAIL_MIN_BUDGET:
            return [min(max(definition.line, top), bottom)]
        numbers = list(range(top, bottom + 1))
        doc = _doc_line_number(lines, definition, top, bottom)
        if doc is not None:
            numbers.append(doc)
        return numbers

    def _lines_cost(self, lines: list[str], numbers: Iterable[int], plan: FilePlan) -> tuple[int, list[int]]:
        fresh = sorted({n for n in numbers if n not in plan.lines})
        if not fresh:
            return 0, fresh
        text = "\n".join(lines[n] for n in fresh) + "\n"
        runs = 1 + sum(1 for a, b in pairwise(fresh) if b != a + 1)
        return self.caches.tokens.count(text) + runs * self.elision, fresh

    # -- adding
    # -------------------------------------------------------------------------------------------------

    def fits(self, cost: int) -> bool:
        return self.used + cost <= self.budget

    def _plan(self, path: str) -> tuple[FilePlan, int]:
        plan = self.plans.get(path)
        if plan is not None:
            return plan, 0
        return FilePlan(path), self._section_overhead(path)

    def add_definition(self, item: Item) -> bool:
        """Show a definition's header (and its parents'), else its bare name; False if neither fits."""
        definition = item.definition
        plan, overhead = self._plan(definition.path)
        if plan.whole or id(definition) in plan.shown:
            return True
        lines = self.lines(definition.path)
        if lines is None:
            return False
        numbers = self._definition_lines(lines, definition)
        for parent in self._parents(definition):
            numbers.extend(self._definition_lines(lines, parent))
        cost, fresh = self._lines_cost(lines, numbers, plan)
        if self.fits(cost + overhead):
            self.plans[definition.path] = plan
            self.used += cost + overhead
            plan.lines.update(fresh)
            plan.shown.add(id(definition))
            plan.note(item.reason, item.score)
            return True
        if definition.name in plan.names:
            return True
        name_cost = self.caches.tokens.count(definition.name) + 1 + (self.elision if not plan.names else 0)
        if self.fits(name_cost + overhead):
            self.plans[definition.path] = plan
            self.used += name_cost + overhead
            plan.names[definition.name] = item.reason
            plan.note(item.reason, item.score)
            return True
        return False

    def _parents(self, definition: Definition) -> list[Definition]:
        """The enclosing definitions (class of a method, ...), innermost first."""
        if not definition.parent:
            return []
        by_qualname = self.qualnames.get(definition.path)
        if by_qualname is None:
            by_qualname = self.caches.facts(self.view, definition.path).by_qualname
            self.qualnames[definition.path] = by_qualname
        parents: list[Definition] = []
        found = by_qualname.get(definition.parent)
        while found is not None and len(parents) < MAX_SCOPE_HEADERS:
            parents.append(found)
            found = by_qualname.get(found.parent) if found.parent else None
        return parents

    def add_body(self, item: Item) -> bool:
        """Show a whole definition (header and body) when it is short enough and fits."""
        definition = item.definition
        if definition.end_line - definition.line > MAX_BODY_LINES:
            return False
        plan, overhead = self._plan(definition.path)
        lines = self.lines(definition.path)
        if plan.whole or lines is None:
            return plan.whole
        top = self._header(lines, definition)[0]
        numbers = list(range(top, min(definition.end_line, len(lines) - 1) + 1))
        for parent in self._parents(definition):
            numbers.extend(self._definition_lines(lines, parent))
        cost, fresh = self._lines_cost(lines, numbers, plan)
        if not self.fits(cost + overhead):
            return False
        self.plans[definition.path] = plan
        self.used += cost + overhead
        plan.lines.update(fresh)
        plan.shown.add(id(definition))
        plan.note(f"{item.reason} (whole definition)", item.score)
        return True

    def whole_cost(self, path: str) -> int | None:
        """Tokens a whole-file section of ``path`` costs (None when unreadable or empty: nothing to show)."""
        text = self.text(path)
        if text is None or not text.strip():
            return None
        return self._section_overhead(path) + self.caches.tokens.count(text)

    def current_cost(self, path: str) -> int:
        plan = self.plans.get(path)
        if plan is None:
            return 0
        if plan.whole:
            return self.whole_cost(path) or 0
        return self.section_tokens(path)

    def add_whole(self, path: str, reason: str, score: float) -> bool:
        """Upgrade ``path`` to a whole-file section if the budget allows."""
        plan = self.plans.get(path)
        if plan is not None and plan.whole:
            return True
        cost = self.whole_cost(path)
        if cost is None:
            return False
        freed = self.current_cost(path) if plan is not None else 0
        if not self.fits(cost - freed):
            return False
        plan = plan or FilePlan(path)
        plan.whole = True
        plan.note(reason, score)
        self.plans[path] = plan
        self.used += cost - freed
        return True

    # -- output
    # -------------------------------------------------------------------------------------------------

    def content(self, path: str) -> str:
        """The text shown for ``path``: the whole file, or headers with elisions, then bare names."""
        plan = self.plans[path]
        text = self.text(path) or ""
        if plan.whole:
            return text.removesuffix("\n")
        lines = self.caches.split(text)
        out: list[str] = []
        previous = -1
        for number in sorted(plan.lines):
            if number != previous + 1:
                out.append(ELISION)
            out.append(lines[number])
            previous = number
        if plan.lines and previous < len(lines) - 1:
            out.append(ELISION)
        if plan.names:
            out.append(f"{ELISION} " + ", ".join(plan.names))
        return "\n".join(out)

    def kind(self, path: str) -> str:
        plan = self.plans[path]
        if plan.whole:
            return "file"
        return "signatures" if plan.lines else "names"

    def reason(self, path: str) -> str:
        reasons = self.plans[path].reasons
        more = f" (+{len(reasons) - MAX_SECTION_REASONS} more)" if len(reasons) > MAX_SECTION_REASONS else ""
        return "; ".join(reasons[:MAX_SECTION_REASONS]) + more

    def section_tokens(self, path: str) -> int:
        return 1 + self.caches.tokens.count(f"{path}\n{self.content(path)}\n")


def pack_items(
    packer: Packer,
    items: Sequence[Item],
    closest: Sequence[str],
    farther: Callable[[], Iterable[str]],
) -> None:
    """Definitions as headers (or names) in rank order, then whole files for the closest dependencies, then
    whole files or headers of the farther neighbourhood while the budget lasts (``farther`` is only called
    when enough budget is left to make it worth listing)."""
    misses = 0
    for item in items:
        misses = 0 if packer.add_definition(item) else misses + 1
        if packer.budget - packer.used < MIN_PACKING_ROOM or misses > MAX_PACKING_MISSES:
            break
    file_scores: dict[str, float] = {}
    for item in items:
        file_scores[item.definition.path] = file_scores.get(item.definition.path, 0.0) + item.score
    order = sorted(set(closest) | set(packer.plans), key=lambda p: (-file_scores.get(p, 0.0), p))
    for path in order:
        if packer.budget - packer.used < MIN_WHOLE_FILE_ROOM:
            return
        packer.add_whole(path, "whole file: closest dependency", file_scores.get(path, 0.0))
    if packer.budget - packer.used < packer.budget * FARTHER_MIN_SHARE:
        return
    for path in farther():
        if path in packer.plans and packer.plans[path].whole:
            continue
        if not packer.add_whole(path, "whole file: near in the dependency graph", 0.0):
            for definition in top_level(packer.view, packer.caches, path, set()):
                packer.add_definition(Item(definition, 0.0, "near in the dependency graph"))
        if packer.budget - packer.used < MIN_WHOLE_FILE_ROOM:
            break


__all__ = ["FilePlan", "Packer", "pack_items"]
