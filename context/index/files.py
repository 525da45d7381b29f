"""The one way the engine reads a file of the repository: `read_file`.

A repository is untrusted input that can change while it is read. A file can be swapped for a symlink to
``/etc`` between the scan and the parse, for a named pipe that blocks any ``open()`` forever, or for a device.
`read_file` opens the file so that none of that gets through:

* the path is walked one component at a time from a descriptor of the root (``openat`` with ``O_NOFOLLOW``), so
  no symlink is followed anywhere on the way, whatever was swapped in; a path whose own components hold a symlink
  (a symlinked file the scan indexes under its own name) is resolved first and walked again as its real path,
  which must lie inside the root;
* each step is opened with ``O_NONBLOCK`` (a FIFO opens at once instead of waiting for a writer), and the type is
  checked with ``lstat`` before the open, so a device is never opened at all;
* the open descriptor is checked with ``fstat`` (a regular file, within the size limit) before a byte is read,
  and no more than the limit is read even if the file grows meanwhile.

Everything in `context` that reads a workspace file (scan, parse workers, the text cache, tools, prompts, the
watcher, build files such as ``go.mod``) calls `read_file`; ``tests/hostile_tests/test_hostile_repo_reads.py``
checks by walking the syntax trees of `context` that no other code opens files.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import NamedTuple

from context.errors import UnknownFile

#: Flags of every open: never follow a symlink, never block (FIFOs), never leak into child processes.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = _OPEN_FLAGS | getattr(os, "O_DIRECTORY", 0)


class FileRefused(UnknownFile):
    """A workspace file that is not read, and why: ``reason`` is one of ``missing``, ``not_regular``,
    ``too_large``, ``outside``, ``symlink_loop`` and ``unreadable``."""

    def __init__(self, rel: str, reason: str, detail: str) -> None:
        super().__init__(f"cannot read {rel}: {detail}; list the indexed files to pick one")
        self.reason = reason


class FileBytes(NamedTuple):
    """What `read_file` read: the bytes, and the ``fstat`` of the descriptor they were read from."""

    data: bytes
    stat: os.stat_result


def _components(rel: str) -> list[str]:
    """The names of a relative POSIX path; ``.`` and empty parts dropped. ``..`` is refused by the walk."""
    return [part for part in rel.split("/") if part not in ("", ".")]


def _walk(root_fd: int, parts: list[str]) -> tuple[int, str]:
    """Open the folder holding the last of ``parts`` without following any symlink: (its descriptor, the name).

    Raises `OSError` (``ELOOP`` or ``ENOTDIR`` when a component is a symlink).
    """
    fd = os.dup(root_fd)
    try:
        for part in parts[:-1]:
            if part == "..":
                raise OSError(errno.EACCES, "'..' in a path")
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd, parts[-1]


def _open_in(root_fd: int, parts: list[str]) -> int:
    """A descriptor of the regular file at ``parts`` under ``root_fd``, reached without following symlinks."""
    folder, name = _walk(root_fd, parts)
    try:
        if name == "..":
            raise OSError(errno.EACCES, "'..' in a path")
        info = os.stat(name, dir_fd=folder, follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            raise OSError(errno.ELOOP, "a symlink")
        if not stat.S_ISREG(info.st_mode):  # never open a FIFO, socket or device, even non-blocking
            raise _NotRegular()
        return os.open(name, _OPEN_FLAGS, dir_fd=folder)
    finally:
        os.close(folder)


class _NotRegular(Exception):
    """The path names something other than a regular file."""


def _is_link_error(exc: OSError) -> bool:
    return exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)


def _real_parts(root: str, rel: str) -> list[str]:
    """The components of ``rel``'s resolved path relative to ``root``, or `FileRefused` when it leaves it."""
    real = os.path.realpath(os.path.join(root, rel))
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        raise FileRefused(rel, "outside", "it is a symlink leading out of the workspace")
    return _components(os.path.relpath(real, root).replace(os.sep, "/"))


def open_file(root: str | Path, rel: str) -> int:
    """Open the regular file ``rel`` (relative, ``/``-separated) under the resolved folder ``root``; return the
    descriptor (the caller closes it). Raises `FileRefused` for anything but a regular file inside the root."""
    top = str(root)
    parts = _components(rel)
    if "\0" in rel:
        raise FileRefused(repr(rel), "unreadable", "the path holds a NUL byte")
    if not parts:
        raise FileRefused(rel or ".", "not_regular", "it is the workspace folder, not a file")
    try:
        root_fd = os.open(top, _DIR_FLAGS & ~os.O_NOFOLLOW)  # the root itself may be reached through a symlink
    except OSError as exc:
        raise FileRefused(rel, "unreadable", f"the workspace folder cannot be opened ({exc.strerror})") from exc
    try:
        try:
            return _open_in(root_fd, parts)
        except OSError as exc:
            if not _is_link_error(exc):
                raise
        # A symlink on the way: allowed when its resolved path lies inside the root, which is walked in turn
        # without following anything (a symlink swapped in meanwhile fails the walk instead of leaving the root).
        real = _real_parts(top, rel)
        if not real:
            raise _NotRegular()
        return _open_in(root_fd, real)
    except _NotRegular:
        raise FileRefused(rel, "not_regular", "it is not a regular file (a folder, pipe, socket or device)") from None
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise FileRefused(rel, "missing", "no such file") from exc
        if _is_link_error(exc):
            raise FileRefused(rel, "symlink_loop", "it is a symlink loop or changed while it was opened") from exc
        raise FileRefused(rel, "unreadable", exc.strerror or str(exc)) from exc
    finally:
        os.close(root_fd)


def read_file(root: str | Path, rel: str, max_bytes: int, head: int | None = None) -> FileBytes:
    """Read the regular file ``rel`` under the resolved folder ``root`` safely (see the module's docstring).

    Reads the whole file, or only its first ``head`` bytes. A file over ``max_bytes`` (by its ``fstat``) is
    refused with reason ``too_large``; raises `FileRefused` for anything that is not a regular file inside the
    root, and never blocks.
    """
    fd = open_file(root, rel)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(rel, "not_regular", "it is not a regular file")
        if info.st_size > max_bytes:
            raise FileRefused(rel, "too_large", f"it is larger than {max_bytes} bytes")
        limit = max_bytes if head is None else min(head, max_bytes)
        chunks: list[bytes] = []
        left = limit
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if head is None and left == 0 and os.read(fd, 1):
            raise FileRefused(rel, "too_large", f"it grew beyond {max_bytes} bytes while it was read")
        return FileBytes(b"".join(chunks), info)
    except OSError as exc:
        raise FileRefused(rel, "unreadable", exc.strerror or str(exc)) from exc
    finally:
        os.close(fd)


def read_text(root: str | Path, rel: str, max_bytes: int) -> str:
    """`read_file` decoded as UTF-8 with invalid bytes replaced (U+FFFD)."""
    return read_file(root, rel, max_bytes).data.decode("utf-8", errors="replace")


__all__ = ["FileBytes", "FileRefused", "open_file", "read_file", "read_text"]
