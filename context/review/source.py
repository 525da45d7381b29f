"""What a review is of: a diff, and the text of each changed file before and after it.

Four sources, as `qwen-context review` takes them: the uncommitted changes (staged and unstaged) against
``HEAD``; one commit against its parent; a range ``A..B``; or a unified diff given as text (a file or stdin).
A fifth serves editors: one file's text as the engine has it (an unsaved buffer included) against ``HEAD``
(`file_change`).
Git runs as a subprocess with a timeout, in the repository's root, with ``--relative`` so every path is relative
to that root and files outside it are left out. A bad revision or a folder outside any git repository is a
`UsageError` saying so.

The text before a change is what definitions were (a removed or renamed definition's old callers matter most);
the text after is what they are. For a diff given as text the repository's file is one side of it: the diff is
applied to it, or reversed off it, whichever its lines say.
"""

from __future__ import annotations

import difflib
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchedFile, PatchSet

from context.errors import QwenContextError, UsageError

#: Seconds one git command may take before the review gives up on it.
GIT_TIMEOUT_SECONDS = 30
#: Git's empty tree: the "parent" of a root commit.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

#: The text of a repository-relative path on one side of the change ("" when the file is not there).
TextOf = Callable[[str], str]


@dataclass(frozen=True)
class Change:
    """A change under review: its parsed diff and the text of each file before and after it."""

    patch: PatchSet
    before: TextOf
    after: TextOf
    #: What was reviewed, in words (for the prompt's heading).
    title: str


def run_git(root: Path, *args: str) -> str:
    """The output of ``git args`` run in ``root``; a failure is a `UsageError` with git's own message."""
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=GIT_TIMEOUT_SECONDS,
                              check=False)
    except FileNotFoundError:
        raise UsageError("git is not installed (review needs it unless the diff is given with --diff)") from None
    except subprocess.TimeoutExpired:
        raise QwenContextError(f"git {' '.join(args)} took more than {GIT_TIMEOUT_SECONDS} s in {root}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(message[-1] if message else f"git {' '.join(args)} failed in {root}")
    return done.stdout.decode("utf-8", "replace")


def _commit(root: Path, rev: str) -> str:
    """The commit ``rev`` names, as a full hash; a bad revision is a `UsageError` naming it."""
    if not rev or rev.startswith("-"):
        raise UsageError(f"not a revision: {rev!r}")
    try:
        return run_git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}").strip()
    except UsageError:
        raise UsageError(f"unknown revision {rev!r} in {root}") from None


def _parent(root: Path, commit: str) -> str:
    """The first parent of ``commit``, or the empty tree for a root commit."""
    parents = run_git(root, "rev-list", "--parents", "-n", "1", commit).split()
    return parents[1] if len(parents) > 1 else EMPTY_TREE


def _shown(root: Path, rev: str) -> TextOf:
    """The text of a path at ``rev`` ("" where the path is not in it)."""

    def text(path: str) -> str:
        if rev == EMPTY_TREE:
            return ""
        try:
            return run_git(root, "show", f"{rev}:./{path}")
        except UsageError:
            return ""

    return text


def _parsed(diff: str) -> PatchSet:
    try:
        return PatchSet(diff)
    except UnidiffParseError as exc:
        raise UsageError(f"not a unified diff: {exc}") from None


def _require_work_tree(root: Path) -> None:
    """Raise a `UsageError` unless ``root`` is inside a git work tree (git missing included)."""
    try:
        inside = run_git(root, "rev-parse", "--is-inside-work-tree").strip() == "true"
    except UsageError:
        inside = False
    if not inside:
        raise UsageError(f"{root} is not inside a git work tree (review a diff there with --diff FILE)")


def head_text(root: Path, path: str) -> str:
    """The text of ``path`` (relative to ``root``) at ``HEAD`` of the git work tree at ``root``; "" when
    ``HEAD`` does not have it (a new file). A `UsageError` outside a work tree, before the first commit, or
    without git. One git command for a tracked file, the usual case."""
    try:
        return run_git(root, "show", f"HEAD:./{path}")
    except UsageError:
        _require_work_tree(root)
        _commit(root, "HEAD")
        return ""


def _diffable(text: str) -> str:
    """``text`` as it is compared and diffed: LF line ends and a final newline (neither is worth reviewing)."""
    text = text.replace("\r\n", "\n")
    return text if not text or text.endswith("\n") else text + "\n"


def differs(head: str, now: str) -> bool:
    """Whether ``now`` differs from ``head`` in more than line ends (see `file_change`)."""
    return _diffable(head) != _diffable(now)


def file_change(path: str, head: str, now: str) -> Change | None:
    """The change from ``head`` (``path`` at ``HEAD``, "" for a new file) to ``now`` (its text in the working
    tree or an editor's buffer), diffed here so that an unsaved buffer is reviewed as the user sees it; None
    when the two differ in nothing but line ends. Pass both secret-masked: the diff is made of them."""
    if not differs(head, now):
        return None
    diff = "".join(difflib.unified_diff(_diffable(head).splitlines(keepends=True),
                                        _diffable(now).splitlines(keepends=True),
                                        f"a/{path}" if head else "/dev/null", f"b/{path}"))
    return Change(_parsed(diff), lambda p: head if p == path else "", lambda p: now if p == path else "",
                  f"the uncommitted changes to `{path}`")


def git_change(root: Path, what: str | None, working_text: TextOf) -> Change:
    """The change ``what`` names in the git repository at ``root``: None for the uncommitted changes, ``REV``
    for a commit against its parent, ``A..B`` for a range. ``working_text`` reads the working tree's files."""
    _require_work_tree(root)
    if what is None:
        head = _commit(root, "HEAD")
        diff = run_git(root, "diff", "--relative", "--no-color", "--no-ext-diff", head, "--")
        return Change(_parsed(diff), _shown(root, head), working_text, "the uncommitted changes")
    if ".." in what:
        start, _, end = what.partition("..")
        if start.startswith(".") or end.startswith("."):
            raise UsageError(f"give a range as A..B, not {what!r}")
        base, tip = _commit(root, start or "HEAD"), _commit(root, end or "HEAD")
    else:
        tip = _commit(root, what)
        base = _parent(root, tip)
    diff = run_git(root, "diff", "--relative", "--no-color", "--no-ext-diff", base, tip, "--")
    return Change(_parsed(diff), _shown(root, base), _shown(root, tip), f"`{what}`")


def _apply(text: str, patched: PatchedFile, reverse: bool) -> str | None:
    """``text`` with the file's hunks applied (or reversed off it), or None when its lines do not match."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    at = 0
    for hunk in patched:
        start = (hunk.target_start if reverse else hunk.source_start) - 1
        start = max(start, 0)
        if start < at:
            return None
        out.extend(lines[at:start])
        at = start
        for line in hunk:
            consumed = line.is_context or (line.is_added if reverse else line.is_removed)
            produced = line.is_context or (line.is_removed if reverse else line.is_added)
            if consumed:
                if at >= len(lines) or lines[at].rstrip("\r\n") != line.value.rstrip("\r\n"):
                    return None
                at += 1
            if produced:
                out.append(line.value)
    out.extend(lines[at:])
    return "".join(out)


def text_change(diff: str, working_text: TextOf) -> Change:
    """A change given as diff text: each file's other side is made by applying the diff to the repository's
    file, or reversing it off that file, whichever matches (for a file matching neither, both sides are the
    repository's file, so the diff's line numbers still say which definitions it touches)."""
    patch = _parsed(diff)
    if not patch and diff.strip():
        raise UsageError("the diff holds no file changes (expected a unified diff: --- a/..., +++ b/..., @@ ...)")
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    for patched in patch:
        current = working_text(patched.path)
        if patched.is_added_file:
            before[patched.path], after[patched.path] = "", current or _apply("", patched, reverse=False) or ""
            continue
        applied = _apply(current, patched, reverse=True)
        if applied is not None:
            before[patched.path], after[patched.path] = applied, current
        else:  # not applied, or matching neither side (a hand-made diff): the lines say where, if not what
            before[patched.path], after[patched.path] = current, _apply(current, patched, reverse=False) or current
    return Change(patch, lambda path: before.get(path, ""), lambda path: after.get(path, ""), "the diff")


__all__ = ["GIT_TIMEOUT_SECONDS", "Change", "TextOf", "differs", "file_change", "git_change", "head_text", "run_git",
           "text_change"]
