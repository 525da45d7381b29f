"""The review prompt: a change and the code it reaches, in Qwen3-Coder's chat layout, within an exact budget.

The prompt is the system message (the review instruction) and one user message, rendered the way Qwen3-Coder's
chat template renders them (``<|im_start|>role ... <|im_end|>``), and its token count is of that rendering, so
what `--ask` sends fits the budget. The user message holds, in this order of importance:

1. the diff (whole when it fits half the budget, else hunk by hunk, the rest at the end if room is left);
2. one place per file where a changed name is used, with the header of the definition enclosing it (the uses
   of removed or renamed names first: they are what the change breaks);
3. the changed definitions as they are now;
4. the tests that use a changed name;
5. the signatures of what the changed code calls;
6. every use shown with more of its enclosing definition (whole when short).

Everything is secret-masked (the diff's lines too) and defused of control-token strings. The count is checked
on the rendered text; when the sum of the parts' counts misjudged it, the parts are packed again into less.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from unidiff.patch import Hunk, PatchedFile

from context.engine import Engine
from context.errors import UsageError
from context.prompt import tokens
from context.prompt.budget import check_budget
from context.prompt.result import Section
from context.review.changes import ChangedFile, changed_files
from context.review.sites import Callee, Use, callees_of_changes, uses_of_changes
from context.review.source import Change
from context.secrets import is_secret_path, mask_secrets

REVIEW_SYSTEM_PROMPT = (
    "You are Qwen3-Coder, reviewing a change to a repository. The user message holds the diff, then the code the "
    "change reaches: where the changed definitions are used, the changed definitions as they are now, the tests "
    "that use them and the signatures of what they call. Lines are numbered. Report bugs, broken callers, missing "
    "updates and risky behaviour changes, most serious first, each as `path:line: finding`; say so when the change "
    "looks right.")

#: Share of the budget the diff may take before its hunks are packed one by one.
DIFF_SHARE = 0.5
#: Share of the budget one changed definition may take.
DEFINITION_SHARE = 0.125
#: What the note ending a clipped hunk costs, a safe overestimate.
CLIP_NOTE_TOKENS = 24
#: What a rendered file block costs beyond its lines (path, fence, language), a safe overestimate.
BLOCK_OVERHEAD = 24

HEADINGS = {
    "diff": "## The change",
    "caller": "## Where the changed names are used",
    "definition": "## The changed definitions, as they are now",
    "test": "## Tests that use the changed names",
    "callee": "## Signatures of what the changed code calls",
}


@dataclass
class Review:
    """A review prompt: the chat messages, their rendering and count, and what went into them."""

    messages: list[dict[str, str]]
    prompt: str
    tokens: int
    budget: int
    changed: list[ChangedFile]
    sections: list[Section]
    elapsed_ms: float

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of ``review --json``."""
        return {
            "prompt": self.prompt, "tokens": self.tokens, "budget": self.budget,
            "changed": [{"path": f.path, "symbols": f.symbols} for f in self.changed],
            "sections": [{"path": s.path, "kind": s.kind, "tokens": s.tokens, "reason": s.reason}
                         for s in self.sections],
            "elapsed_ms": round(self.elapsed_ms, 3),
        }


def chat_rendering(messages: list[dict[str, str]]) -> str:
    """``messages`` as Qwen3-Coder's chat template renders them, ready for the assistant's turn."""
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return f"{turns}<|im_start|>assistant\n"


# --- the parts ---------------------------------------------------------------------------------------------------


@dataclass
class Block:
    """Lines of one file under one heading, with why they are there."""

    path: str
    kind: str
    reason: str
    lines: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Piece:
    """One step of packing: a hunk of the diff, a callee's signature, or lines to add to a file block."""

    path: str
    kind: str
    reason: str
    text: str = ""
    lines: frozenset[int] = frozenset()


def _masked_hunk(hunk: Hunk) -> str:
    """A hunk as diff text, its lines secret-masked together (a multi-line secret is seen whole)."""
    lines = list(hunk)
    body = mask_secrets("".join(line.value if line.value.endswith("\n") else line.value + "\n" for line in lines))
    masked = body.split("\n")
    header = f"@@ -{hunk.source_start},{hunk.source_length} +{hunk.target_start},{hunk.target_length} @@" \
             f"{' ' + hunk.section_header if hunk.section_header else ''}\n"
    return header + "".join(f"{line.line_type}{text}\n" for line, text in zip(lines, masked, strict=False))


def _diff_pieces(patched: PatchedFile, path: str) -> list[Piece]:
    if is_secret_path(path):
        return [Piece(path, "diff", "the change (a secret file: its lines are left out)",
                      f"--- a/{path}\n+++ b/{path}\n(a file holding secrets changed; its lines are not shown)\n")]
    head = f"--- a/{path}\n+++ b/{path}\n"
    return [Piece(path, "diff", "the change", (head if i == 0 else "") + tokens.defuse(_masked_hunk(hunk)))
            for i, hunk in enumerate(patched)]


def _clipped(piece: Piece, limit: int) -> Piece | None:
    """The first lines of a hunk too big for the room left, within ``limit`` tokens, saying how many are left
    out; None when not even its header fits."""
    lines = piece.text.splitlines(keepends=True)
    kept: list[str] = []
    used = CLIP_NOTE_TOKENS
    for line in lines:
        used += tokens.count(line)
        if used > limit:
            break
        kept.append(line)
    if len(kept) < 2 or len(kept) == len(lines):
        return None
    note = f"... ({len(lines) - len(kept)} more lines of this hunk left out for the budget)\n"
    return Piece(piece.path, piece.kind, "the change (clipped to the budget)", "".join(kept) + note)


def _definition_pieces(changed: list[ChangedFile]) -> list[Piece]:
    return [Piece(file.path, "definition", f"changed {d.kind} {d.name}",
                  lines=frozenset(range(d.line, d.end_line + 1)))
            for file in changed if not file.deleted_file for d in file.changed]


def _use_pieces(uses: list[Use], wide: bool) -> list[Piece]:
    pieces: list[Piece] = []
    seen: set[str] = set()
    for use in uses:
        if not wide and use.path in seen:
            continue
        seen.add(use.path)
        kind = "test" if use.in_test else "caller"
        why = "uses the old name" if use.broken else "uses"
        pieces.append(Piece(use.path, kind, f"{why} {use.name}", lines=use.more if wide else use.first))
    return pieces


def _callee_pieces(callees: list[Callee]) -> list[Piece]:
    return [Piece(c.definition.path, "callee", f"called by {c.called_from}",
                  f"- `{c.definition.path}:{c.definition.line + 1}` "
                  f"{tokens.defuse(mask_secrets(c.definition.signature or c.definition.name))}\n")
            for c in callees]


# --- packing -------------------------------------------------------------------------------------------------


class Packer:
    """Takes pieces in order while they fit an estimate of the budget; renders what it took."""

    def __init__(self, engine: Engine, limit: int) -> None:
        self.engine = engine
        self.limit = limit
        self.used = 0
        self.texts: list[Piece] = []
        self.blocks: dict[tuple[str, str], Block] = {}
        self._lines: dict[str, list[str]] = {}
        self._shown: dict[str, set[int]] = {}

    def lines_of(self, path: str) -> list[str]:
        if path not in self._lines:
            try:
                self._lines[path] = tokens.defuse(self.engine.text(path)).splitlines()
            except UsageError:
                self._lines[path] = []
        return self._lines[path]

    def add(self, piece: Piece, share: int | None = None) -> bool:
        """Take ``piece`` if it fits (within ``share`` tokens of it, when given); the lines of a file piece
        that are already shown cost nothing and those past the file's end are dropped."""
        if piece.text:
            cost = tokens.count(piece.text)
            if cost > self.limit - self.used or (share is not None and cost > share):
                return False
            self.texts.append(piece)
            self.used += cost
            return True
        lines = self.lines_of(piece.path)
        shown = self._shown.setdefault(piece.path, set())
        new = sorted(n for n in piece.lines if n < len(lines) and n not in shown)
        if not new:
            return bool(piece.lines) and all(n in shown for n in piece.lines if n < len(lines))
        key = (piece.path, piece.kind)
        cost = sum(tokens.count(f"{n + 1}| {lines[n]}\n") for n in new) + 2 * len(new) // 10
        cost += BLOCK_OVERHEAD if key not in self.blocks else 0
        if cost > self.limit - self.used or (share is not None and cost > share):
            return False
        self.blocks.setdefault(key, Block(piece.path, piece.kind, piece.reason)).lines.update(new)
        shown.update(new)
        self.used += cost
        return True

    def render_block(self, block: Block) -> str:
        lines = self.lines_of(block.path)
        out: list[str] = []
        previous = -2
        for n in sorted(block.lines):
            if out and n != previous + 1:
                out.append("⋮\n")
            out.append(f"{n + 1}| {lines[n]}\n")
            previous = n
        body = "".join(out)
        fence = "`" * max(3, max((len(r) for r in body.split("\n") if set(r) == {"`"}), default=0) + 1)
        language = self.engine.language(block.path) or ""
        return f"`{block.path}`\n{fence}{language}\n{body}{fence}\n\n"


def _pack(engine: Engine, change: Change, changed: list[ChangedFile], uses: list[Use], callees: list[Callee],
          limit: int) -> Packer:
    packer = Packer(engine, limit)
    diff = [piece for patched, file in zip(change.patch, changed, strict=True)
            for piece in _diff_pieces(patched, file.path)]
    share = int(limit * DIFF_SHARE)
    whole = sum(tokens.count(piece.text) for piece in diff) <= share
    late: list[Piece] = []
    for piece in diff:
        if not packer.add(piece, None if whole else share - packer.used):
            clipped = None if late else _clipped(piece, share - packer.used)
            if clipped is None or not packer.add(clipped):
                late.append(piece)
    for piece in _use_pieces([u for u in uses if not u.in_test], wide=False):
        packer.add(piece)
    for piece in _definition_pieces(changed):
        packer.add(piece, int(limit * DEFINITION_SHARE))
    for piece in [*_use_pieces([u for u in uses if u.in_test], wide=False), *_callee_pieces(callees),
                  *_use_pieces(uses, wide=True), *late]:
        packer.add(piece)
    return packer


def _user_message(packer: Packer, heading: str) -> tuple[str, list[Section]]:
    parts = [heading]
    sections: list[Section] = []
    for kind, title in HEADINGS.items():
        if kind == "diff" or kind == "callee":
            texts = [piece for piece in packer.texts if piece.kind == kind]
            if not texts:
                continue
            if kind == "diff":
                body = "".join(piece.text for piece in texts)
                fence = "`" * max(3, max((len(r) for r in body.split("\n") if set(r) == {"`"}), default=0) + 1)
                parts.append(f"{title}\n\n{fence}diff\n{body}{fence}\n\n")
            else:
                parts.append(f"{title}\n\n{''.join(piece.text for piece in texts)}\n")
            sections.extend(Section(p.path, p.kind, tokens.count(p.text), p.reason) for p in texts)
            continue
        blocks = [block for (_, block_kind), block in packer.blocks.items() if block_kind == kind]
        if not blocks:
            continue
        parts.append(f"{title}\n\n")
        for block in sorted(blocks, key=lambda b: b.path):
            text = packer.render_block(block)
            parts.append(text)
            sections.append(Section(block.path, kind, tokens.count(text), block.reason))
    return "".join(parts).rstrip("\n") + "\n", sections


def review_prompt(engine: Engine, change: Change, *, budget: int = 16384, long_context: bool = False) -> Review:
    """The review prompt for ``change`` in the repository of ``engine``, within ``budget`` tokens."""
    started = time.perf_counter()
    check_budget(budget, long_context)
    changed = changed_files(change)
    uses = uses_of_changes(engine, changed)
    callees = callees_of_changes(engine, changed)
    heading = f"Review {change.title} in the repository `{engine.root.name}`.\n\n"
    overhead = tokens.count(chat_rendering([{"role": "system", "content": REVIEW_SYSTEM_PROMPT},
                                            {"role": "user", "content": heading + "\n\n".join(HEADINGS.values())}]))
    limit = budget - overhead
    while True:
        packer = _pack(engine, change, changed, uses, callees, limit)
        user, sections = _user_message(packer, heading)
        messages = [{"role": "system", "content": REVIEW_SYSTEM_PROMPT}, {"role": "user", "content": user}]
        prompt = chat_rendering(messages)
        total = tokens.count(prompt)
        if total <= budget or limit <= 0:
            break
        limit -= total - budget + 16
    elapsed = (time.perf_counter() - started) * 1000
    return Review(messages, prompt, total, budget, changed, sections, elapsed)


__all__ = ["REVIEW_SYSTEM_PROMPT", "Review", "chat_rendering", "review_prompt"]
