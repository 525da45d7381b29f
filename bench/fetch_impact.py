"""Fetch the release histories of the impact benchmark: consecutive releases of real projects, unpacked.

Usage (from the repository root; idempotent)::

    .venv/bin/python bench/fetch_impact.py              # every series into .scratch/impact
    .venv/bin/python bench/fetch_impact.py rust c       # some languages only

Real git history is out of reach here (the only network is the package registries), so a release series stands
in for it: each pair of consecutive releases is one "commit", whose definition changes and the edits they forced
on other files are mined by `bench/bench_impact.py`. Each release is unpacked into
``.scratch/impact/<series>/<version>`` (the project's source folder only), with the same registry clients as
`bench/fetch_corpus.py`: ``pip download`` of source distributions and ``npm pack``.

Three languages so far (Python, TypeScript, JavaScript). Rust sources ship in PyPI sdists (pydantic-core), but
``pip download`` of such an sdist builds its metadata with maturin, which fails here; Debian holds one version of
each Go and Rust package, so it gives no history. Both are left for a fetch that unpacks sdists without pip.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fetch_corpus import COMPLETE, Package, fetch_package

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = ROOT / ".scratch" / "impact"


@dataclass(frozen=True)
class Series:
    """Consecutive releases of one project: its registry, package name, versions and source folder."""

    language: str
    registry: str
    name: str
    versions: tuple[str, ...]
    subpath: str

    def package(self, version: str) -> Package:
        return Package(self.registry, f"{self.name}=={version}" if self.registry == "pypi" else f"{self.name}@{version}")


SERIES: dict[str, Series] = {
    "django": Series("python", "pypi", "Django", ("4.2", "5.0", "5.1"), "django"),
    "effect": Series("typescript", "npm", "effect", ("3.9.0", "3.10.0", "3.11.0"), "src"),
    "eslint": Series("javascript", "npm", "eslint", ("9.0.0", "9.1.0", "9.2.0"), "lib"),
}


def release(series: str, version: str, dest: Path) -> Path:
    """The source folder of one release, fetched on first use."""
    spec = SERIES[series]
    target = dest / series / version
    if (target / COMPLETE).exists():
        return target
    unpacked = fetch_package(spec.package(version), dest.parent / f"{dest.name}-downloads" / series / version)
    source = unpacked / spec.subpath
    if not source.is_dir():
        raise SystemExit(f"fetch_impact: {spec.name} {version} has no folder {spec.subpath}")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns(COMPLETE))
    (target / COMPLETE).touch()
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("languages", nargs="*", metavar="LANGUAGE", help="only these languages (default: all)")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help=f"target folder (default {DEFAULT_DEST})")
    args = parser.parse_args(argv)
    for key, series in SERIES.items():
        if args.languages and series.language not in args.languages:
            continue
        for version in series.versions:
            print(f"{key} {version}: {release(key, version, args.dest.resolve())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
