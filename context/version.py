"""The installed qwen-context's version, for ``--version`` and the servers' ``serverInfo``."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    """The version of the installed qwen-context distribution ("unknown" in a tree that was never installed)."""
    try:
        return version("qwen-context")
    except PackageNotFoundError:
        return "unknown"
