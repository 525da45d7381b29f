"""Do the ranking tests guard the ranking? Zero each candidate-source weight, and reverse the fused order; every
such mutant must fail at least one test.

Each mutant runs the ranking tests in a new pytest process with a small plugin (this file, loaded with ``-p``)
that changes `context.weights.SOURCE_WEIGHTS` in place (the fusion reads that very dict) or wraps
`context.prompt.rank.reciprocal_rank_fusion` to reverse its answer; the source tree is never edited. A mutant
*survives* when every test passes with it: the tests would not notice that change of the ranking.

    .venv/bin/python bench/mutation_check.py [--tests tests/context_tests/test_ranking.py ...]

The baseline (no mutant) must pass first. Prints one line per mutant (killed by which tests, or SURVIVED) and
the count; exits 1 when a mutant survives.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TESTS = ("tests/context_tests/test_ranking.py", "tests/context_tests/test_rank.py",
                 "tests/context_tests/test_prompt.py")
MUTANT_ENV = "QWEN_RANKING_MUTANT"
REVERSED = "reverse-fused-order"
K = TypeVar("K")


def pytest_configure(config: object) -> None:
    """The plugin's hook: apply the mutant named in `MUTANT_ENV` before any test runs."""
    mutant = os.environ.get(MUTANT_ENV, "")
    if not mutant:
        return
    from context import weights
    from context.prompt import rank

    if mutant == REVERSED:
        fuse: Callable[..., list[Any]] = rank.reciprocal_rank_fusion

        def reversed_fusion(rankings: Mapping[str, Sequence[K]], *args: Any, **kwargs: Any) -> list[Any]:
            return list(reversed(fuse(rankings, *args, **kwargs)))

        rank.reciprocal_rank_fusion = reversed_fusion  # type: ignore[assignment]
        return
    source = mutant.removeprefix("SOURCE_WEIGHTS.")
    if source not in weights.SOURCE_WEIGHTS:
        raise SystemExit(f"mutation_check: no source weight {source!r}")
    weights.SOURCE_WEIGHTS[source] = 0.0


def mutants() -> list[str]:
    from context.weights import SOURCE_WEIGHTS

    return [f"SOURCE_WEIGHTS.{source}" for source in SOURCE_WEIGHTS] + [REVERSED]


def run(tests: Sequence[str], mutant: str) -> tuple[bool, list[str]]:
    """Run ``tests`` with ``mutant``: (all passed, the failed tests' names)."""
    env = {**os.environ, MUTANT_ENV: mutant, "PYTHONPATH": str(ROOT / "bench")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "mutation_check", "-rf", *tests],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False,
    )
    failed = [line.split("::")[-1].split(" ")[0] for line in done.stdout.splitlines() if line.startswith("FAILED")]
    if done.returncode not in (0, 1):
        raise SystemExit(f"mutation_check: pytest could not run ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.returncode == 0, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tests", nargs="+", default=list(DEFAULT_TESTS), help="test files to run per mutant")
    args = parser.parse_args()
    ok, failed = run(args.tests, "")
    if not ok:
        print(f"the tests fail without a mutant: {', '.join(failed)}")
        return 1
    survivors = 0
    for mutant in mutants():
        started = time.perf_counter()
        passed, failed = run(args.tests, mutant)
        survivors += passed
        verdict = "SURVIVED" if passed else f"killed by {len(failed)}: {', '.join(failed[:4])}"
        print(f"{mutant:<28} {verdict} ({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"{len(mutants()) - survivors} of {len(mutants())} mutants killed")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
