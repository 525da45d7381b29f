"""How an engine indexes: where the index lives, what scanning skips, how many processes parse.

Defaults come from the environment (``QWEN_CONTEXT_CACHE_DIR``, ``QWEN_CONTEXT_MAX_FILE_BYTES``) so the CLI and
both servers agree on where a repository's shared index is and which files it holds.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from context.index.scan import ScanConfig

logger = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$QWEN_CONTEXT_CACHE_DIR``, else the user's cache folder for qwen-context."""
    configured = os.environ.get("QWEN_CONTEXT_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_cache_dir("qwen-context"))


def default_scan_config() -> ScanConfig:
    """Scan limits with ``$QWEN_CONTEXT_MAX_FILE_BYTES`` as the size cap when set, so the CLI and both servers
    agree on which files a repository's shared index holds (a bad value is logged and ignored)."""
    configured = os.environ.get("QWEN_CONTEXT_MAX_FILE_BYTES", "").strip()
    if not configured:
        return ScanConfig()
    try:
        max_file_bytes = int(configured)
    except ValueError:
        max_file_bytes = 0
    if max_file_bytes <= 0:
        logger.warning("QWEN_CONTEXT_MAX_FILE_BYTES=%r is not a positive number of bytes; using the default",
                       configured)
        return ScanConfig()
    return ScanConfig(max_file_bytes=max_file_bytes)


@dataclass(frozen=True)
class EngineConfig:
    """How an engine indexes: where its cache lives, what scanning skips, how many processes parse."""

    #: Folder holding the indexes of all repositories (None: `default_cache_dir`).
    cache_dir: Path | None = None
    #: What scanning skips (default: `default_scan_config`).
    scan: ScanConfig = field(default_factory=default_scan_config)
    #: Parsing processes for a cold index (None: one per core).
    workers: int | None = None
    #: Allow token budgets beyond 256K (YaRN-extended contexts), used by prompt assembly.
    long_context: bool = False


__all__ = ["EngineConfig", "default_cache_dir", "default_scan_config"]
