"""Build the benchmark corpora: real code from the package registries, unpacked into a scratch folder.

Usage (from the repository root; idempotent: what is already there is skipped)::

    .venv/bin/python bench/fetch_corpus.py                      # every corpus into .scratch/corpus
    .venv/bin/python bench/fetch_corpus.py --dest /tmp/corpus go rust
    .venv/bin/python bench/fetch_corpus.py --counts             # only print the file counts
    .venv/bin/python bench/fetch_corpus.py --set recall         # the recall set, .scratch/recall/<project>

The folder it fills (default ``.scratch/corpus``, git-ignored, never committed) holds one repository per
language, each a coherent project (or a few) with cross-file calls, as the recall benchmark expects:

=============  ================================================================  =====================
folder         what                                                              from
=============  ================================================================  =====================
python         Django, SymPy and SQLAlchemy source distributions (>= 3,000 files)  PyPI sdists
typescript     RxJS's TypeScript sources                                         npm tarball
javascript     three.js's ES-module sources                                      npm tarball
go             golang.org/x/tools and golang.org/x/net                           Debian golang-*-dev
rust           the tokio, syn and regex crates                                   Debian librust-*-dev
ruby           Rails' ActiveSupport and ActionPack, Rack                         Debian ruby-*
c              libuv (vendored in uvloop's source distribution)                  PyPI sdist
=============  ================================================================  =====================

``--set recall`` fills ``.scratch/recall`` instead: one repository per project (pydantic, rich, aider,
SQLAlchemy; RxJS, Zod, MobX; three.js, ESLint, Preact; cobra, gin, Prometheus' client; grep-searcher, ignore,
serde_json, regex, tokio; Rack, Thor, Sinatra, Faraday; libuv, Brotli, zstandard's C extension), so the recall
benchmark judges several code bases per language, each indexed alone.

The whole folder is the ``mixed`` corpus of the indexing benchmark: more than 5,000 files in Python, TypeScript,
JavaScript, Go, Rust, Ruby and C. Downloads and unpacked packages are kept beside it in ``<dest>-downloads`` so a
corpus can be rebuilt without the network; the download is about 50 MB (about 250 MB unpacked).

Only the registries' ordinary clients are used: ``pip download`` (source distributions, no dependencies),
``npm pack`` and ``apt-get download`` + ``dpkg -x`` (nothing is installed; run ``apt-get update`` once first).
Versions are pinned where the client allows it, so two machines build the same corpus.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from context.index.scan import scan

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = ROOT / ".scratch" / "corpus"
#: Marks a finished folder (a corpus or an unpacked package), so an interrupted run starts that folder afresh.
COMPLETE = ".corpus-complete"
COMMAND_TIMEOUT = 900


@dataclass(frozen=True)
class Package:
    """One registry package and the folder of it a corpus takes."""

    registry: str  # "pypi", "npm" or "deb"
    spec: str  # what the client is asked for: "Django==5.1.4", "rxjs@7.8.1", "librust-tokio-dev"
    subpath: str = ""  # the folder inside the unpacked package to copy ("" for all of it)
    #: The folder holds one project per child folder (Debian's ``tokio-1.24.2/``, ``rack-2.2.22/``): copy those.
    children: bool = False


PACKAGES: dict[str, Package] = {
    "django": Package("pypi", "Django==5.1.4"),
    "sympy": Package("pypi", "sympy==1.13.3"),
    "sqlalchemy": Package("pypi", "SQLAlchemy==2.0.36"),
    "libuv": Package("pypi", "uvloop==0.21.0", "vendor/libuv"),
    "rxjs": Package("npm", "rxjs@7.8.1", "src"),
    "three": Package("npm", "three@0.170.0", "src"),
    "x-tools": Package("deb", "golang-golang-x-tools-dev", "usr/share/gocode/src/golang.org/x/tools"),
    "x-net": Package("deb", "golang-golang-x-net-dev", "usr/share/gocode/src/golang.org/x/net"),
    "tokio": Package("deb", "librust-tokio-dev", "usr/share/cargo/registry", children=True),
    "syn": Package("deb", "librust-syn-dev", "usr/share/cargo/registry", children=True),
    "regex": Package("deb", "librust-regex-dev", "usr/share/cargo/registry", children=True),
    "activesupport": Package("deb", "ruby-activesupport", "usr/share/rubygems-integration/all/gems", children=True),
    "actionpack": Package("deb", "ruby-actionpack", "usr/share/rubygems-integration/all/gems", children=True),
    "rack": Package("deb", "ruby-rack", "usr/share/rubygems-integration/all/gems", children=True),
    # The recall set's further projects (`--set recall`): a few per language, each its own repository.
    "pydantic": Package("pypi", "pydantic==2.9.2", "pydantic"),
    "rich": Package("pypi", "rich==13.9.4", "rich"),
    "aider": Package("pypi", "aider-chat==0.86.2", "aider"),
    "zod": Package("npm", "zod@4.1.5", "src"),
    "mobx": Package("npm", "mobx@6.13.5", "src"),
    "eslint": Package("npm", "eslint@8.57.0", "lib"),
    "preact": Package("npm", "preact@10.24.3"),
    "cobra": Package("deb", "golang-github-spf13-cobra-dev", "usr/share/gocode/src/github.com/spf13/cobra"),
    "gin": Package("deb", "golang-github-gin-gonic-gin-dev", "usr/share/gocode/src/github.com/gin-gonic/gin"),
    "prometheus": Package(
        "deb", "golang-github-prometheus-client-golang-dev",
        "usr/share/gocode/src/github.com/prometheus/client_golang",
    ),
    "grep-searcher": Package("deb", "librust-grep-searcher-dev", "usr/share/cargo/registry", children=True),
    "ignore": Package("deb", "librust-ignore-dev", "usr/share/cargo/registry", children=True),
    "serde-json": Package("deb", "librust-serde-json-dev", "usr/share/cargo/registry", children=True),
    "thor": Package("deb", "ruby-thor", "usr/share/rubygems-integration/all/gems", children=True),
    "sinatra": Package("deb", "ruby-sinatra", "usr/share/rubygems-integration/all/gems", children=True),
    "brotli": Package("pypi", "Brotli==1.1.0", "c"),
    "zstd": Package("pypi", "zstandard==0.23.0", "c-ext"),
    "faraday": Package("deb", "ruby-faraday", "usr/share/rubygems-integration/all/gems", children=True),
}

CORPORA: dict[str, tuple[str, ...]] = {
    "python": ("django", "sympy", "sqlalchemy"),
    "typescript": ("rxjs",),
    "javascript": ("three",),
    "go": ("x-tools", "x-net"),
    "rust": ("tokio", "syn", "regex"),
    "ruby": ("activesupport", "actionpack", "rack"),
    "c": ("libuv",),
}

#: The recall benchmark's set (``--set recall``, default folder ``.scratch/recall``): one repository per
#: project, several projects per language, so no single code base decides a language's figure.
RECALL: dict[str, tuple[str, ...]] = {
    key: (key,)
    for key in (
        "pydantic", "rich", "aider", "sqlalchemy",
        "rxjs", "zod", "mobx",
        "three", "eslint", "preact",
        "cobra", "gin", "prometheus",
        "grep-searcher", "ignore", "serde-json", "regex", "tokio",
        "rack", "thor", "sinatra", "faraday",
        "libuv", "brotli", "zstd",
    )
}
SETS: dict[str, tuple[dict[str, tuple[str, ...]], Path]] = {
    "corpus": (CORPORA, DEFAULT_DEST),
    "recall": (RECALL, ROOT / ".scratch" / "recall"),
}


def run(command: list[str], cwd: Path) -> None:
    """Run a registry client, failing loudly with its output."""
    print(f"  $ {' '.join(command)}", file=sys.stderr)
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT, check=False)
    if done.returncode != 0:
        hint = "\n(run `apt-get update` once first)" if command[0] == "apt-get" else ""
        raise SystemExit(f"fetch_corpus: {command[0]} failed:\n{done.stdout}\n{done.stderr}{hint}")


def download(package: Package, folder: Path) -> Path:
    """Download ``package`` into the empty ``folder`` with its registry's client; return the file."""
    if package.registry == "pypi":
        name = package.spec.split("==")[0]
        run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", name, "--quiet",
             "--dest", str(folder), package.spec], folder)
    elif package.registry == "npm":
        run(["npm", "pack", "--silent", package.spec], folder)
    else:
        run(["apt-get", "download", "--quiet", package.spec], folder)
    (found,) = list(folder.iterdir())
    return found


def unpack(archive: Path, target: Path) -> None:
    """Unpack a tarball or a Debian package into ``target``, dropping a single top folder of a tarball."""
    if archive.suffix == ".deb":
        run(["dpkg", "-x", str(archive), str(target)], archive.parent)
        return
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    tops = list(target.iterdir())
    if len(tops) == 1 and tops[0].is_dir():
        for child in tops[0].iterdir():
            child.rename(target / child.name)
        tops[0].rmdir()


def fetch(key: str, cache: Path) -> Path:
    """The unpacked package ``key`` (downloaded and unpacked on first use)."""
    return fetch_package(PACKAGES[key], cache / key)


def fetch_package(package: Package, unpacked: Path) -> Path:
    """``package`` unpacked into the folder ``unpacked`` (downloaded and unpacked on first use)."""
    if (unpacked / COMPLETE).exists():
        return unpacked
    shutil.rmtree(unpacked, ignore_errors=True)
    print(f"fetching {package.spec} ({package.registry})", file=sys.stderr)
    unpacked.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=unpacked.parent) as scratch:
        archive = download(package, Path(scratch))
        unpacked.mkdir()
        unpack(archive, unpacked)
    (unpacked / COMPLETE).touch()
    return unpacked


def build(name: str, keys: tuple[str, ...], dest: Path, cache: Path) -> None:
    """Build the corpus ``name`` from the packages ``keys`` in ``dest/name`` unless it is complete already."""
    corpus = dest / name
    if (corpus / COMPLETE).exists():
        print(f"{name}: already there", file=sys.stderr)
        return
    shutil.rmtree(corpus, ignore_errors=True)
    building = dest / f".{name}.building"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    for key in keys:
        package = PACKAGES[key]
        source = fetch(key, cache) / package.subpath
        if not source.is_dir():
            raise SystemExit(f"fetch_corpus: {package.spec} has no folder {package.subpath}")
        parts = sorted(child for child in source.iterdir() if child.is_dir()) if package.children else [source]
        for part in parts:
            target = building / (part.name if package.children else key)
            shutil.copytree(part, target, symlinks=True, ignore=shutil.ignore_patterns(COMPLETE))
    (building / COMPLETE).touch()
    building.rename(corpus)
    print(f"{name}: built from {', '.join(PACKAGES[key].spec for key in keys)}", file=sys.stderr)


def counts(corpus: Path) -> Counter[str]:
    """Indexable files per language in ``corpus``, as the engine's scanner sees them."""
    return Counter(scanned.language for scanned in scan(corpus).files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpora", nargs="*", metavar="CORPUS", help="names of the set's corpora (default: all)")
    parser.add_argument("--set", choices=SETS, default="corpus",
                        help="corpus: one folder per language (default); recall: one folder per project")
    parser.add_argument("--dest", type=Path, help="target folder (default .scratch/corpus or .scratch/recall)")
    parser.add_argument("--counts", action="store_true", help="only print the file counts of what is there")
    args = parser.parse_args(argv)
    corpora, default_dest = SETS[args.set]
    dest: Path = (args.dest or default_dest).resolve()
    names = args.corpora or list(corpora)
    unknown = sorted(set(names) - set(corpora))
    if unknown:
        parser.error(f"unknown corpus {', '.join(unknown)}: choose from {', '.join(corpora)}")
    if not args.counts:
        cache = dest.parent / f"{dest.name}-downloads"
        cache.mkdir(parents=True, exist_ok=True)
        dest.mkdir(parents=True, exist_ok=True)
        for name in names:
            build(name, corpora[name], dest, cache)
    total: Counter[str] = Counter()
    for name in names:
        if (dest / name / COMPLETE).exists():
            found = counts(dest / name)
            total += found
            by_language = ", ".join(f"{language} {count}" for language, count in found.most_common())
            print(f"{name:<11} {sum(found.values()):>6} files  {dest / name}  ({by_language})")
    by_language = ", ".join(f"{language} {count}" for language, count in total.most_common())
    print(f"{'mixed':<11} {sum(total.values()):>6} files  {dest}  ({by_language})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
