"""The checks a model's answer passes before it may change a user's code; one implementation for every server.

A code action's answer comes from a network service we do not control: it may be empty, cut off by
``max_tokens``, prose instead of code, or code that quietly changes what it was not asked to change. An edit is
applied only when the answer is complete (``finish_reason`` is ``stop``), holds code, and that code parses where
it lands; a docstring rewrite must also leave every token outside comments and docstrings as it was (the
signature included). Anything else becomes a `Checked` with a ``problem``: the server shows the answer to the
user and changes nothing.

The code sent to the model was secret-masked (`context.secrets`), so the answer holds ``***`` where the user's
secrets were: those lines get their original text back (`restore_secrets`), and an answer that would still write
a mask into the file is refused.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from context.errors import QwenContextError
from context.index.parse import GRAMMARS, code_shape
from context.secrets import MASK, mask_secrets
from context.serve.tasks import Target, Task, code_from_reply, reindent

#: The ``finish_reason`` of an answer the model ended itself (anything else was cut off or went elsewhere).
COMPLETE = "stop"


@dataclass(frozen=True)
class Checked:
    """The outcome of checking an answer: the ``code`` to write, or the ``problem`` that stops it."""

    code: str = ""
    problem: str = ""

    @property
    def ok(self) -> bool:
        """Whether the code may be applied."""
        return not self.problem


def answer_problem(content: str, finish_reason: str | None) -> str:
    """Why an answer cannot be used as it stands ('' when it can): empty, or not finished by the model."""
    if not content.strip():
        return "the model's answer was empty"
    if finish_reason != COMPLETE:
        cause = "it reached the answer length limit" if finish_reason == "length" else (
            f"finish_reason {finish_reason!r}" if finish_reason else "no finish_reason")
        return f"the model's answer is incomplete ({cause})"
    return ""


def restore_secrets(code: str, original: str) -> str:
    """``code`` with each line that repeats a secret-masked line of ``original`` given back its original text.

    The model saw ``mask_secrets(original)``; an unchanged line comes back masked and is restored here (in
    order, keeping the answer's indentation), so applying an edit never replaces a secret with ``***``.
    """
    masked = mask_secrets(original)
    if masked == original:
        return code
    originals: defaultdict[str, deque[str]] = defaultdict(deque)
    for before, after in zip(original.split("\n"), masked.split("\n"), strict=False):
        if before != after:
            originals[after.strip()].append(before.strip())
    rows = code.split("\n")
    for number, row in enumerate(rows):
        queue = originals.get(row.strip())
        if queue:
            rows[number] = row[: len(row) - len(row.lstrip())] + queue.popleft()
    return "\n".join(rows)


def _replaced(document: str, first: int, last: int, code: str) -> tuple[str, int, int]:
    """``document`` with lines ``first..last`` replaced by ``code``, and the rows the code occupies there."""
    lines = document.split("\n")
    head, tail = lines[:first], lines[last + 1:]
    body = code.removesuffix("\n").split("\n")
    return "\n".join([*head, *body, *tail]), first, first + len(body) - 1


def _parse_problem(language: str, before: str, after: str, rows: tuple[int, int]) -> str:
    """Why ``after`` (``before`` with new code on ``rows``) may not replace ``before`` as far as parsing goes."""
    if language not in GRAMMARS:
        return ""  # no grammar to check with: the other checks still apply
    old = code_shape(before.encode("utf-8", "replace"), language)
    new = code_shape(after.encode("utf-8", "replace"), language)
    first, last = rows
    if any(first <= row <= last for row in new.error_rows) or (new.error_rows and not old.error_rows):
        return f"the answer does not parse as {language}"
    return ""


def checked_rewrite(task: Task, target: Target, document: str, content: str,
                    finish_reason: str | None) -> Checked:
    """Check an answer that rewrites ``target`` (lines ``first..last`` of ``document``) for ``task``.

    Returns the replacement code (ending with a newline) when the answer is complete, holds code, writes no
    masked secret, parses in place, and, for a docstring, changes nothing but comments and docstrings.
    """
    if problem := answer_problem(content, finish_reason):
        return Checked(problem=problem)
    language = target.language
    code = restore_secrets(reindent(code_from_reply(content, language), target.code), target.code)
    if not code.strip():
        return Checked(problem="the answer holds no code")
    if MASK in code and MASK not in target.code:
        return Checked(problem="the answer would write masked secrets (***) into the file")
    after, first, last = _replaced(document, target.first, target.last, code)
    try:
        if problem := _parse_problem(language, document, after, (first, last)):
            return Checked(problem=problem)
        if task is Task.DOCSTRING and code_shape(after.encode("utf-8", "replace"), language).code != code_shape(
                document.encode("utf-8", "replace"), language).code:
            return Checked(problem="the answer changes code outside the docstring")
    except QwenContextError as exc:  # no grammar for the language
        return Checked(problem=str(exc))
    return Checked(code=code)


def checked_addition(target: Target, existing: str, content: str, finish_reason: str | None) -> Checked:
    """Check an answer that adds code (generated tests) to a file whose text is ``existing``: complete, holds
    code, and the file still parses with it appended. The code is returned with the blank lines that separate
    it from what is already there."""
    if problem := answer_problem(content, finish_reason):
        return Checked(problem=problem)
    code = code_from_reply(content, target.language)
    if not code.strip():
        return Checked(problem="the answer holds no code")
    separator = ("\n\n" if existing.endswith("\n") else "\n\n\n") if existing.strip() else ""
    after = existing + separator + code
    start = existing.count("\n") + separator.count("\n")
    if problem := _parse_problem(target.language, existing, after, (start, after.count("\n"))):
        return Checked(problem=problem)
    return Checked(code=separator + code)
