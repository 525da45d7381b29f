"""The repository-level FIM prompt, in the layout Qwen3-Coder was trained on
(QwenLM/Qwen3-Coder ``examples/Qwen2.5-Coder-repolevel-fim.py``)::

    <|repo_name|>{name}
    <|file_sep|>{path}
    {content}                      # context files, definitions before their users
    <|file_sep|>{current path}
    <|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>

Counting is exact and cheap because the control markers are single tokens that split the text for the
tokenizer: the prompt's count is the sum of its marker-separated segments, each counted once and cached.

Prefix caching: the repository part is ordered by the dependency graph and file names (never by per-keystroke
scores), the selection is computed from the buffer *without the cursor's line* (only the receiver typed before the cursor,
``self.io.``, is read from it) and reused while that input is
unchanged, and the current file's prefix starts on a line snapped to a coarse grid. Consecutive prompts while
the user types in one place therefore share almost all their leading tokens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from context.errors import InvalidPosition, UnknownFile
from context.index.scan import resolve_inside
from context.index.view import IndexView
from context.prompt import rank, tokens
from context.prompt.budget import check_budget
from context.prompt.candidates import fim_items, shared_folders
from context.prompt.cursor import Cursor, current_parts
from context.prompt.memo import PromptCaches, Selection
from context.prompt.pack import Packer, pack_items
from context.prompt.reach import cursor_receiver
from context.prompt.result import Prompt, Section
from context.secrets import mask_secrets
from context.weights import CURRENT_MIN, CURRENT_QUANTUM, CURRENT_SHARE, CURSOR_LINE_RESERVE

log = logging.getLogger(__name__)


def _render_context(packer: Packer, graph: dict[str, dict[str, float]]) -> Selection:
    """The repository part of a FIM prompt, in dependency order, with exact per-section counts."""
    sections: list[Section] = []
    parts: list[str] = []
    total = 0
    for path in rank.dependency_order(packer.plans, graph):
        content = packer.content(path)
        segment = f"{path}\n{content}\n"
        count = 1 + packer.caches.tokens.count(segment)
        parts.append(tokens.FILE_SEP + segment)
        sections.append(Section(path, packer.kind(path), count, packer.reason(path)))
        total += count
    return Selection(sections, "".join(parts), total)


def _imports_key(view: IndexView, path: str, line: int) -> tuple[tuple[str, tuple[str, ...], str | None], ...]:
    """The imports above the cursor: part of what the context selection depends on. Those below are left out on
    purpose: opening a string or a bracket on the cursor's line makes the parser lose them until it is closed,
    and the selection should not flicker while the user types."""
    try:
        imports = view.imports(path)
    except UnknownFile:
        return ()
    return tuple((imp.module, imp.names, imp.resolved) for imp in imports if imp.line < line)


def _buffer_text(view: IndexView, path: str, buffer: str | None) -> str:
    if buffer is None:
        return view.text(path)
    resolve_inside(view.root, path)
    return mask_secrets(buffer)


def _room(
    caches: PromptCaches, repo_name: str, path: str, lines: list[str], line: int, character: int, budget: int
) -> tuple[int, Cursor, int]:
    """The prompt's fixed tokens (markers, repository name, current path), the cursor's split of the current
    file, and the room left for the repository context (the current file's share reserved, on a coarse grid)."""
    fixed = 1 + caches.tokens.count(f"{repo_name}\n") + 1 + caches.tokens.count(f"{path}\n") + 3
    cursor = Cursor.at(lines, line, character)
    whole_current = cursor.prefix_tokens + cursor.suffix_tokens
    cap = max(int(budget * CURRENT_SHARE), CURRENT_MIN)
    reserve = min(cap, -(-(whole_current + CURSOR_LINE_RESERVE) // CURRENT_QUANTUM) * CURRENT_QUANTUM)
    return fixed, cursor, max(budget - fixed - reserve, 0)


def _choose(
    view: IndexView,
    caches: PromptCaches,
    path: str,
    lines: list[str],
    line: int,
    context_budget: int,
    recent: Sequence[str],
    receiver: tuple[str, ...],
) -> Selection:
    """The repository context for a cursor on ``line``: candidates ranked, packed to ``context_budget`` and
    rendered (not remembered: the caller keys it)."""
    items, hood = fim_items(view, caches, path, lines, line, recent, context_budget, receiver)
    packer = Packer(view, caches, context_budget, chat=False)
    closest = [p for p in hood.imported if p != path]

    def farther() -> list[str]:
        rest = sorted(
            (p for p in view.files() if p != path and p not in hood.scores and p not in hood.imported),
            key=lambda p: (-shared_folders(p, path), p),
        )
        return hood.ranked([path, *closest]) + rest

    pack_items(packer, [i for i in items if i.definition.path != path], closest, farther)
    packer.plans.pop(path, None)
    graph = hood.graph
    selection = _render_context(packer, graph)
    log.debug(
        "context for %s: estimated %d tokens, exactly %d, budget %d",
        path,
        packer.used,
        selection.tokens,
        context_budget,
    )
    while selection.tokens > context_budget and packer.plans:
        # Rare: the estimate ran over. Drop the weakest file and render again.
        weakest = min(packer.plans.values(), key=lambda plan: (plan.best, plan.path))
        del packer.plans[weakest.path]
        selection = _render_context(packer, graph)
    selection.texts = tuple(packer.texts.items())
    return selection


def build_fim_prompt(
    view: IndexView,
    caches: PromptCaches,
    path: str,
    line: int,
    character: int,
    *,
    budget: int = 8192,
    buffer: str | None = None,
    recent: Sequence[str] = (),
    long_context: bool = False,
) -> Prompt:
    """The repository-level FIM prompt for a cursor at 0-based ``line``/``character`` of ``path``.

    ``buffer`` is the editor's unsaved text of ``path`` (it wins over the file on disk); ``recent`` lists
    recently edited files, which pull their neighbourhood in. The result never exceeds ``budget`` tokens
    (up to 1M with ``long_context``). ``caches`` is the memory kept between prompts over ``view``.
    """
    started = time.perf_counter()
    check_budget(budget, long_context)
    text = tokens.defuse(_buffer_text(view, path, buffer))
    # Split afresh, not through the memo: the editor's buffer is a new text on every keystroke, and remembering
    # them held hundreds of whole buffers and their lines in a long-running server (issue 17's soak).
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        raise InvalidPosition(f"line {line} is outside {path} (0..{len(lines) - 1}, 0-based)")
    if character < 0:
        raise InvalidPosition(f"character {character} is negative")
    character = min(character, len(lines[line]))
    repo_name = view.root.name
    head = f"{tokens.REPO_NAME}{repo_name}\n"
    current_header = f"{path}\n"
    fixed, cursor, context_budget = _room(caches, repo_name, path, lines, line, character, budget)
    others = "\n".join(lines[:line] + lines[line + 1 :])
    receiver = cursor_receiver(lines[line][:character])
    key = (path, line, context_budget, others, tuple(recent), _imports_key(view, path, line), receiver)
    selection = caches.selections.get(key)
    if selection is None or not selection.still_current(view, caches):
        log.debug("choosing context for %s:%d (%s)", path, line, "new input" if selection is None else "files changed")
        selection = _choose(view, caches, path, lines, line, context_budget, recent, receiver)
        caches.remember(key, selection)

    current_budget = budget - fixed - selection.tokens
    prefix, suffix = current_parts(cursor, current_budget)
    # The body is never counted whole (a 256K-token count per keystroke): markers split it for the tokenizer,
    # so its count is the sum of its pieces' counts, ``fixed`` holding the markers, repository name and path.
    prefix_tokens = cursor.prefix_tokens if prefix is cursor.prefix else tokens.count(prefix)
    suffix_tokens = cursor.suffix_tokens if suffix is cursor.suffix else tokens.count(suffix)
    while fixed + selection.tokens + prefix_tokens + suffix_tokens > budget and prefix:
        # Cannot happen with marker-separated counting, but the budget is a promise: shorten the prefix.
        prefix = prefix[min(len(prefix), max(1, len(prefix) // 16)) :]
        prefix_tokens = tokens.count(prefix)
    total = fixed + selection.tokens + prefix_tokens + suffix_tokens
    body = (
        f"{head}{selection.text}{tokens.FILE_SEP}{current_header}"
        f"{tokens.FIM_PREFIX}{prefix}{tokens.FIM_SUFFIX}{suffix}{tokens.FIM_MIDDLE}"
    )
    current_tokens = total - 1 - caches.tokens.count(f"{repo_name}\n") - selection.tokens
    sections = [*selection.sections, Section(path, "current", current_tokens, "the file being edited")]
    elapsed = (time.perf_counter() - started) * 1000
    return Prompt(body, total, budget, sections, elapsed, prefix, suffix, path, repo_name)


def prepare_fim(
    view: IndexView,
    caches: PromptCaches,
    path: str,
    *,
    budget: int = 8192,
    recent: Sequence[str] = (),
    long_context: bool = False,
) -> None:
    """Do ahead what the first prompt in a just-opened ``path`` spends most on, whatever its cursor: choose the
    context for a cursor in the middle of the file, which reads, masks and counts the files around it and
    derives their facts (memoised in ``caches`` and the index). The choice itself is not remembered, so a
    later prompt is the same as without preparing, only sooner."""
    check_budget(budget, long_context)
    lines = caches.split(tokens.defuse(view.text(path)))
    line = len(lines) // 2
    _, _, context_budget = _room(caches, view.root.name, path, lines, line, 0, budget)
    _choose(view, caches, path, lines, line, context_budget, recent, ())


__all__ = ["build_fim_prompt", "prepare_fim"]
