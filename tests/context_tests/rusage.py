"""Run a command and read what it cost: its peak resident memory and CPU time, with the children it waited for.

A direct child would inherit its parent's memory high-water mark: Linux keeps a process's ``maxrss`` across
``exec``, and Python's subprocess starts children with ``vfork``, so under pytest (or a large bench) the mark
would be the parent's size, not the command's. The command therefore runs as the grandchild of a small launcher,
a fork of which starts from a few MB. Shared by tests/context_tests/test_scale.py and bench/bench_scale.py.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: Runs its arguments in a grandchild and writes that grandchild's rusage to the file named first.
_LAUNCH = r"""
import os, sys
report, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    os.execvp(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as out:
    out.write(f"{usage.ru_maxrss} {usage.ru_utime} {usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


@dataclass(frozen=True)
class Usage:
    """What a command cost: peak resident memory (MB) and user plus system CPU seconds."""

    peak_mb: float
    cpu: float


def run_with_usage(argv: list[str], env: dict[str, str], cwd: Path | None = None,
                   timeout: float | None = None) -> tuple[subprocess.CompletedProcess[bytes], Usage | None]:
    """Run ``argv`` to its end with its output captured; its usage, or None when it failed before reporting."""
    with tempfile.TemporaryDirectory(prefix="rusage-") as work:
        report = Path(work) / "rusage"
        done = subprocess.run([sys.executable, "-c", _LAUNCH, str(report), *argv], env=env, cwd=cwd,
                              capture_output=True, timeout=timeout, check=False)
        if not report.exists():
            return done, None
        maxrss, user, system = report.read_text().split()
    return done, Usage(int(maxrss) / 1024, float(user) + float(system))
