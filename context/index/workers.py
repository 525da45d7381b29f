"""Parse worker processes that never outlive the engine that started them.

A process pool's workers wait for work on a pipe; when their parent is killed (``kill -9``, the OOM killer) they
would go on waiting, one per core, for ever. `end_with_parent` is the pool's initializer: on Linux it asks the
kernel to kill the worker when its parent dies (``prctl(PR_SET_PDEATHSIG)``), and everywhere it starts a thread
that ends the worker once the engine's process is gone (the parent of a worker started by a fork server is the
fork server, not the engine, so the engine's pid is watched as well).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

#: ``PR_SET_PDEATHSIG`` from ``<linux/prctl.h>``.
_PR_SET_PDEATHSIG = 1

#: How often the watch thread looks for the engine's process (seconds).
WATCH_INTERVAL_S = 0.5


def _alive(pid: int) -> bool:
    """Tell whether process ``pid`` exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by another user
        return True
    return True


def _watch(engine_pid: int, parent_pid: int) -> None:
    """End this process as soon as its parent or the engine's process is gone."""
    while True:
        if os.getppid() != parent_pid or not _alive(engine_pid):
            os._exit(1)  # no clean-up: the work in hand belongs to a dead engine
        time.sleep(WATCH_INTERVAL_S)


def end_with_parent(engine_pid: int) -> None:
    """Pool initializer: make this worker end when the engine process ``engine_pid`` or its parent dies."""
    parent = os.getppid()
    if sys.platform == "linux":
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the watch thread alone does it
            pass
    if not _alive(engine_pid):  # the engine died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch, args=(engine_pid, parent), name="qwen-context-parent-watch",
                     daemon=True).start()


__all__ = ["end_with_parent"]
