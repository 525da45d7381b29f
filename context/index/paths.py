"""Paths going into the engine: relative POSIX paths inside the repository's root, never outside it."""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path

from context.errors import UnknownFile
from context.index.scan import resolve_inside


def relative_path(root: Path, path: str) -> str | None:
    """``path`` as a relative POSIX path if it is lexically inside ``root`` (absolute paths included), else None."""
    if os.path.isabs(path):
        try:
            path = Path(path).relative_to(root).as_posix()
        except ValueError:
            try:
                path = Path(path).resolve().relative_to(root).as_posix()
            except (ValueError, OSError):
                return None
    rel = posixpath.normpath(path.replace(os.sep, "/")) if path else path
    if not rel or rel == "." or rel.startswith("../") or rel == "..":
        return None
    return rel


def checked_path(root: Path, path: str) -> str:
    """``path`` relative and safe: raises `PathOutsideWorkspace` (outside ``root``, symlinks resolved) or
    `SecretPathRefused` otherwise."""
    rel = relative_path(root, path)
    resolve_inside(root, rel if rel is not None else path)
    if rel is None:  # inside the root but no file in it: the root itself (".", "src/..")
        raise UnknownFile(f"{path!r} is the workspace folder, not a file: give a file path relative to it, "
                          "e.g. src/app.py")
    return rel


#: An absolute POSIX path in a message (not a URL's path, not a relative path's inner slash).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/-])/[^\s'\"`,;()\[\]]+")
#: What stands for an absolute path that is not inside the workspace.
HIDDEN_PATH = "<server path>"


def scrub(message: str, root: Path) -> str:
    """``message`` without absolute paths of this machine, for a client or a model to read: paths inside the
    root relative, the root itself named, others hidden."""
    top = str(root)
    message = message.replace(top + "/", "").replace(top, "the workspace root")
    return _ABSOLUTE_PATH.sub(HIDDEN_PATH, message)


__all__ = ["HIDDEN_PATH", "checked_path", "relative_path", "scrub"]
