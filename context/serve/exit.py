"""Ending a server process at once when its client is gone.

A normal interpreter exit waits for the engine's parse pool to finish the whole repository (minutes on a large
one) in a process nobody talks to any more, and finalises the interpreter while daemon threads (the engine,
indexing and stdin-reader workers) may still hold the lock of ``sys.stderr``, which CPython answers with a fatal
error and SIGABRT. So the pool's workers are terminated, the streams flushed and the process ended without
finalisation. That is safe: the index is a cache written in SQLite transactions, and the next start carries
on from the last committed batch.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
from typing import NoReturn


def exit_promptly(code: int) -> NoReturn:
    """End the process with ``code`` now: parse workers terminated, logs and standard streams flushed."""
    for worker in multiprocessing.active_children():
        worker.terminate()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed already: an LSP `exit` closes stdout
            stream.flush()
    os._exit(code)
