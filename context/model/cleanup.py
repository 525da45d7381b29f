"""Turn what the model wrote into the text an editor can insert at the cursor.

Every FIM route needs this: the model may run past the middle into the next file (`<|file_sep|>`), write the
suffix again, close brackets the suffix already closes, or keep going for a hundred lines. The chat route adds
Markdown fences and echoes of the prefix. The rules, in order:

1. cut at the first Qwen special token (`<|file_sep|>`, `<|fim_pad|>`, `<|endoftext|>`, `<|im_end|>`, ...);
2. chat route: keep the inside of a Markdown fence, drop an echo of the prefix's last lines;
3. shape from the cursor: mid-line (something other than closing brackets after the cursor) or the end of an
   ordinary line -> one line; after a block opener (`:`, `{`, `(`, `[`, `=>`, `do`, `then`) or on a blank line ->
   several lines, ending where the indentation leaves the block, and at most `max_lines`;
4. cut where the completion closes a bracket opened before the cursor that the suffix already closes;
5. cut where the completion starts writing the suffix again, and drop a tail that repeats the suffix's start.

`clean_completion` applies them to a finished text; `CompletionStream` applies them while tokens arrive and says
when the rest of the stream is no longer needed, so the client can hang up early.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

#: Qwen's special tokens; none of them can be part of a completion. FIM/repo tokens are `special: false` in the
#: tokenizer, so servers do not strip them from the text.
SPECIAL_TOKENS: tuple[str, ...] = (
    "<|file_sep|>", "<|fim_pad|>", "<|endoftext|>", "<|im_end|>", "<|im_start|>", "<|fim_prefix|>",
    "<|fim_suffix|>", "<|fim_middle|>", "<|repo_name|>",
)
_SPECIAL_RE = re.compile("|".join(re.escape(token) for token in SPECIAL_TOKENS))
_LONGEST_SPECIAL = max(len(token) for token in SPECIAL_TOKENS)

#: Only these may follow the cursor on its line for a completion to still be "at the end of the line".
_CLOSERS = set(")]}>\"'`;,: \t")
_OPEN_TO_CLOSE = {"(": ")", "[": "]", "{": "}"}
#: Line endings that open a block whose body the completion may write.
_BLOCK_OPENER_RE = re.compile(r"(?:[{(\[]|=>|->|\bdo|\bthen|\bbegin)\s*$")
#: Lines that continue a block at its opener's indentation instead of leaving it.
_CONTINUATION_RE = re.compile(r"[)\]}]|(?:else|elif|elsif|except|finally|catch|rescue|ensure|end|when|case)\b")
#: How much text around the cursor the bracket count looks at (bounds the work per keystroke).
_BRACKET_WINDOW = 50_000
_ECHO_LINES = 40  # how many of the prefix's last lines an echo may repeat
_FENCE_RE = re.compile(r"^[ \t]*(```|~~~)")


@dataclass(frozen=True)
class Shape:
    """What the text around the cursor allows the completion to be."""

    multiline: bool
    block_indent: int  # lines indented less than this (or as much, after an opener) leave the block
    after_opener: bool
    open_brackets: int  # brackets the completion may close: opened before the cursor, not closed after it


def _without_partial_special(text: str) -> str:
    """`text` without a tail that may be the start of a special token still arriving (`<|file_`)."""
    for size in range(min(len(text), _LONGEST_SPECIAL - 1), 0, -1):
        if any(token.startswith(text[-size:]) for token in SPECIAL_TOKENS):
            return text[:-size]
    return text


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


@cache
def _bracket_token_re(language: str | None) -> re.Pattern[str]:
    """Brackets outside strings and comments, for one language's comment syntax."""
    hash_comments = language in (None, "python", "ruby", "bash", "php")
    slash_comments = language not in ("python", "ruby", "bash", "lua")
    parts = [r'"""[\s\S]*?"""', r"'''[\s\S]*?'''"] if language in (None, "python") else []
    parts += [r'"(?:\\.|[^"\\\n])*"', r"`(?:\\.|[^`\\])*`"]
    # Rust lifetimes ('a) are not strings: only a one-character literal counts there.
    parts.append(r"'(?:\\.[^'\n]{0,8}|[^'\\\n])'" if language == "rust" else r"'(?:\\.|[^'\\\n])*'")
    if hash_comments:
        parts.append(r"#[^\n]*")
    if slash_comments:
        parts += [r"//[^\n]*", r"/\*[\s\S]*?\*/"]
    if language == "lua":
        parts.append(r"--[^\n]*")
    parts.append(r"(?P<b>[()\[\]{}])")
    return re.compile("|".join(parts))


def _brackets(text: str, language: str | None) -> list[tuple[int, str]]:
    """(offset, bracket) for every bracket of `text` outside strings and comments."""
    return [(m.start("b"), m.group("b")) for m in _bracket_token_re(language).finditer(text) if m.group("b")]


def _unclosed_openers(prefix: str, language: str | None) -> int:
    """How many brackets are still open at the end of the prefix."""
    depth = 0
    for _, char in _brackets(prefix[-_BRACKET_WINDOW:], language):
        depth = depth + 1 if char in _OPEN_TO_CLOSE else max(0, depth - 1)
    return depth


def _unopened_closers(suffix: str, language: str | None) -> int:
    """How many brackets the suffix closes that it did not open itself."""
    depth = closers = 0
    for _, char in _brackets(suffix[:_BRACKET_WINDOW], language):
        if char in _OPEN_TO_CLOSE:
            depth += 1
        elif depth:
            depth -= 1
        else:
            closers += 1
    return closers


def shape_at(prefix: str, suffix: str, language: str | None) -> Shape:
    """Decide from the syntax at the cursor whether one line or a block is wanted."""
    line_before = prefix[prefix.rfind("\n") + 1:]
    rest_of_line = suffix.split("\n", 1)[0]
    code_before = line_before.rstrip()
    allowed = max(0, _unclosed_openers(prefix, language) - _unopened_closers(suffix, language))
    opener = bool(_BLOCK_OPENER_RE.search(code_before)) or (language == "python" and code_before.endswith(":"))
    if any(char not in _CLOSERS for char in rest_of_line):
        return Shape(False, 0, False, allowed)
    if opener:
        return Shape(True, _indent(line_before), True, allowed)
    if not code_before:
        return Shape(True, len(line_before.expandtabs(4)), False, allowed)
    return Shape(False, 0, False, allowed)


def _strip_fences(text: str, final: bool) -> tuple[str | None, bool]:
    """The inside of a Markdown code fence (chat answers); (text or None while undecided, whether a closing
    fence ended it). Undecided until the first non-blank line is complete: it may be an opening fence."""
    lines = text.split("\n")
    first_code = next((i for i, line in enumerate(lines) if line.strip()), None)
    if not final and (first_code is None or first_code == len(lines) - 1):
        return None, False
    if first_code is not None and _FENCE_RE.match(lines[first_code]):
        body = lines[first_code + 1:]
    elif final and (opening := next((i for i, line in enumerate(lines) if _FENCE_RE.match(line)), None)):
        # Prose first, then a fenced block: the block is the answer.
        if not any(_FENCE_RE.match(line) for line in lines[opening + 1:]):
            return text, False
        body = lines[opening + 1:]
    else:
        return text, False
    closing = next((i for i, line in enumerate(body) if _FENCE_RE.match(line)), None)
    if closing is None:
        return "\n".join(body), False
    return "\n".join(body[:closing]), True


def _strip_prefix_echo(text: str, prefix: str, final: bool) -> str | None:
    """`text` without a repetition of the prefix's last lines; None while it may still be one (streaming)."""
    for start in _last_line_starts(prefix, _ECHO_LINES + 1):
        echoed = prefix[start:]
        if not echoed.strip():
            continue
        if text.startswith(echoed):
            return text[len(echoed):]
        if not final and echoed.startswith(text):
            return None
    current = prefix[prefix.rfind("\n") + 1:].strip()
    stripped = text.lstrip(" \t")
    if current and stripped.startswith(current):
        rest = stripped[len(current):]
        return rest.lstrip(" \t") if prefix[-1:].isspace() else rest
    if not final and current and current.startswith(stripped) and "\n" not in text:
        return None
    return text


def _last_line_starts(text: str, count: int) -> list[int]:
    """The offsets where the last `count` lines of `text` start, in order (found from the end: the prefix may be
    a whole file, and this runs once per streamed line)."""
    starts: list[int] = []
    end = len(text)
    while len(starts) < count:
        newline = text.rfind("\n", 0, end)
        starts.append(newline + 1)
        if newline < 0:
            break
        end = newline
    return starts[::-1]


def _cut_dedent(text: str, shape: Shape) -> tuple[str, bool]:
    """Cut at the first line that leaves the block the cursor is in."""
    lines = text.split("\n")
    for number, line in enumerate(lines[1:], start=1):
        if not line.strip():
            continue
        indent = _indent(line)
        body = line.lstrip()
        if shape.after_opener:
            leaves = indent <= shape.block_indent and not _CONTINUATION_RE.match(body)
        else:
            leaves = indent < shape.block_indent and body[0] not in ")]}"
        if leaves:
            return "\n".join(lines[:number]), True
    return text, False


def _cut_max_lines(text: str, max_lines: int) -> tuple[str, bool]:
    """Keep at most `max_lines` lines (not counting the rest of an opener's line the completion starts on)."""
    lines = text.split("\n")
    body_start = 1 if lines and not lines[0].strip() else 0
    if len(lines) - body_start <= max_lines:
        return text, False
    return "\n".join(lines[:body_start + max_lines]), True


def _cut_brackets(text: str, shape: Shape, language: str | None) -> tuple[str, bool]:
    """Cut where the completion closes more brackets opened before it than the suffix leaves open."""
    depth = 0
    for offset, char in _brackets(text, language):
        depth += 1 if char in _OPEN_TO_CLOSE else -1
        if depth < -shape.open_brackets:
            return text[:offset], True
    return text, False


def _cut_suffix_repeat(text: str, suffix: str, final: bool) -> tuple[str, bool]:
    """Cut where the completion starts a line that is the suffix's first distinctive line."""
    following = suffix.split("\n")[1:] if "\n" in suffix else []
    target = next((line.strip() for line in following if line.strip()), "")
    if len(target) < 3 or all(char in _CLOSERS for char in target):
        return text, False  # too short to tell a repetition from a coincidence; brackets handle closers
    lines = text.split("\n")
    complete = lines if final else lines[:-1]  # a line still arriving may grow past the target
    for number, line in enumerate(complete[1:], start=1):
        if line.strip() == target:
            return "\n".join(lines[:number]), True
    return text, False


def _drop_suffix_overlap(text: str, suffix: str) -> str:
    """Drop a tail of the completion that the rest of the line after the cursor already holds."""
    rest = suffix.split("\n", 1)[0]
    for size in range(min(len(text), len(rest)), 0, -1):
        overlap = rest[:size]
        if overlap.strip() and text.endswith(overlap):
            return text[:-size]
    return text


def _trim_end(text: str) -> str:
    """Drop trailing blank lines (but keep spaces the cursor's line needs)."""
    stripped = text.rstrip()
    return stripped if "\n" in text[len(stripped):] else text


def _clean(text: str, prefix: str, suffix: str, language: str | None, max_lines: int, *, chat: bool,
           final: bool, shape: Shape | None = None) -> tuple[str | None, bool]:
    """(cleaned text or None while undecided, whether the completion is complete); `shape`: `shape_at` of the
    cursor, when the caller already has it."""
    done = False
    special = _SPECIAL_RE.search(text)
    if special:
        text, done = text[:special.start()], True
        final = True
    elif not final:
        text = _without_partial_special(text)
    if chat:
        unfenced, fenced = _strip_fences(text, final)
        if unfenced is None:
            return None, False
        text, done, final = unfenced, done or fenced, final or fenced
        unechoed = _strip_prefix_echo(text, prefix, final)
        if unechoed is None:
            return None, False
        text = unechoed
    shape = shape or shape_at(prefix, suffix, language)
    if not shape.multiline:
        newline = text.find("\n")
        if newline >= 0:
            text, done = text[:newline], True
    else:
        text, dedented = _cut_dedent(text, shape)
        text, repeated = _cut_suffix_repeat(text, suffix, final)
        text, limited = _cut_max_lines(text, max_lines)
        done = done or dedented or repeated or limited
    # Until the text is whole, a line still arriving may open a string that hides a bracket: count brackets in
    # complete lines only.
    scanned = text if final or done else text[:text.rfind("\n") + 1]
    cut, closed = _cut_brackets(scanned, shape, language)
    if closed:
        text, done = cut, True
    if done or final:
        text = _trim_end(_drop_suffix_overlap(text, suffix))
    return text, done


def clean_completion(text: str, prefix: str, suffix: str, language: str | None = None, max_lines: int = 16,
                     *, chat: bool = False) -> str:
    """The part of a finished model output to insert between `prefix` and `suffix`.

    `chat=True` also strips Markdown fences and echoed prefix lines (what chat models add).
    """
    cleaned, _ = _clean(text, prefix, suffix, language, max_lines, chat=chat, final=True)
    return cleaned or ""


class CompletionStream:
    """Apply `clean_completion` while deltas arrive: emit only text that later tokens cannot change.

    Whole lines are released as they complete; the line under construction is held back, because a special
    token, a bracket or a repetition of the suffix may still cut it. `done` turns true once the rules have cut
    the completion: the caller should stop reading (and close the stream) and call `finish()`.

    Linear in the answer's length: the rules only change their verdict when a line completes or a special token
    arrives, so the text is cleaned again only then (and, before any code, not for blank lines); the cursor's
    shape is computed once. Every rule that sets `done` does so within `max_lines` (plus the echo window) lines.
    """

    def __init__(self, prefix: str, suffix: str, language: str | None = None, max_lines: int = 16, *,
                 chat: bool = False) -> None:
        self._args = (prefix, suffix, language, max_lines)
        self._chat = chat
        self._shape = shape_at(prefix, suffix, language)
        self._raw: list[str] = []
        self._tail = ""  # the last characters received, where a special token may be split across deltas
        self._blank = chat  # chat only: nothing but whitespace so far (a fence may still open)
        self._sent = ""
        self.done = False

    def feed(self, delta: str) -> str:
        """Add a delta; return the newly safe text (maybe empty)."""
        self._raw.append(delta)
        window = self._tail + delta
        self._tail = window[-(_LONGEST_SPECIAL - 1):]
        self._blank = self._chat and self._blank and not delta.strip()
        if self._blank or ("\n" not in delta and not _SPECIAL_RE.search(window)):
            return ""
        cleaned, self.done = _clean("".join(self._raw), *self._args, chat=self._chat, final=False,
                                    shape=self._shape)
        if cleaned is None or self.done:
            return ""
        # Whole lines only, and no trailing blank lines: the final clean-up may still drop those.
        return self._release(cleaned[:cleaned.rfind("\n") + 1].rstrip())

    def finish(self) -> str:
        """The rest of the completion once the stream ended (or `done` said to stop)."""
        cleaned, _ = _clean("".join(self._raw), *self._args, chat=self._chat, final=True, shape=self._shape)
        return self._release(cleaned or "")

    @property
    def text(self) -> str:
        """Everything released so far."""
        return self._sent

    def _release(self, upto: str) -> str:
        if not upto.startswith(self._sent) or len(upto) <= len(self._sent):
            return ""  # the final clean-up shortened what was already released: nothing more to add
        new, self._sent = upto[len(self._sent):], upto
        return new
