"""Loopback ports for tests: one for a server a test starts, or one that nothing listens on (a dead endpoint)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port on 127.0.0.1 that was free when asked: bound, then released at once, so nothing listens there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
