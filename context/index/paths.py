"""Paths going into the engine: relative POSIX paths inside the repository's root, never outside it."""

from __future__ import annotations

import os
import posixpath
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


__all__ = ["checked_path", "relative_path"]
