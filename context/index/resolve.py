"""Resolving import statements to the repository files they bring in.

Purely a function of the set of indexed files (plus ``go.mod`` module paths, ``tsconfig.json`` aliases and
declared packages): no file is read while resolving, so the whole repository's imports resolve in milliseconds.
Each language follows its own rules, as far as they can be followed without a build system:

- Python: absolute modules from the root and from source roots (the folder above a top-level package, ``src/``,
  ``lib/``), relative modules (``from ..a import b``), ``from pkg import submodule``;
- JavaScript/TypeScript: relative paths with or without extension, ``.js`` written for a ``.ts`` file, folder
  ``index`` files, ``paths`` aliases and ``baseUrl`` of the nearest ``tsconfig.json``/``jsconfig.json``, and
  root-relative paths;
- Go: import paths below a ``go.mod`` module path -> every file of that package directory;
- Rust: ``mod x;`` -> ``x.rs``/``x/mod.rs``, ``use crate::``/``self::``/``super::`` paths -> the longest module file;
- Java/Kotlin/C#/PHP: qualified names -> a file declaring that package with that type's name, or a package's files;
- C/C++: ``#include "..."`` relative to the file, the root, then ``include/`` and ``src/`` folders, then by suffix;
- Ruby ``require_relative``/``require``, Lua ``require("a.b")``, Bash ``source``: relative paths, then by suffix.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from context.index.symbols import Import

#: Files that are not indexed but change how imports resolve: an update of one re-resolves every import.
BUILD_FILES = frozenset({"go.mod", "tsconfig.json", "jsconfig.json"})

#: Folders commonly holding a project's importable sources (Python, C/C++ include roots, Ruby/Lua libs).
SOURCE_ROOTS = ("src", "lib", "include", "python", "source")

_JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_JS_LANGUAGES = frozenset({"javascript", "typescript", "tsx"})
_PACKAGE_LANGUAGES = frozenset({"java", "kotlin", "csharp", "php"})
_EXTENSIONS_OF = {
    "java": (".java", ".kt"), "kotlin": (".kt", ".kts", ".java"), "csharp": (".cs",), "php": (".php",),
    "ruby": (".rb",), "lua": (".lua",), "bash": (".sh", ".bash", ""), "c": (".h", ".c"), "cpp": (".h", ".hpp"),
}


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What resolution needs to know about one indexed file."""

    path: str
    language: str
    package: str


class Resolver:
    """Resolves imports against one fixed set of files; build a new one when files are created or deleted."""

    def __init__(self, files: Iterable[FileFacts], go_modules: dict[str, str] | None = None,
                 ts_configs: dict[str, TsConfig] | None = None) -> None:
        """``go_modules`` maps the folder of each ``go.mod`` ("" for the root) to its module path, ``ts_configs``
        the folder of each ``tsconfig.json``/``jsconfig.json`` to its module resolution settings."""
        self.facts = {f.path: f for f in files}
        self.paths = frozenset(self.facts)
        self.go_modules = dict(go_modules or {})
        self.ts_configs = dict(ts_configs or {})
        self.by_dir: dict[str, list[str]] = {}
        self.by_stem: dict[str, list[str]] = {}
        self.by_package: dict[str, list[str]] = {}
        for path in sorted(self.paths):
            folder, base = posixpath.split(path)
            self.by_dir.setdefault(folder, []).append(path)
            self.by_stem.setdefault(base.split(".", 1)[0], []).append(path)
            package = self.facts[path].package
            if package:
                self.by_package.setdefault(package.replace("\\", "."), []).append(path)
        self.python_roots = self._python_roots()
        self._python_modules: dict[str, str] | None = None
        #: Absolute imports resolve the same from every file: (module, first name) -> files.
        self._absolute: dict[tuple[str, str], list[str]] = {}
        self._rules: dict[str, Callable[[Import, str], list[str]]] = {
            "python": self._python, "go": self._go, "rust": self._rust, "c": self._c_include,
            "cpp": self._c_include, "ruby": self._ruby, "lua": self._lua, "bash": self._bash,
            **{lang: self._js for lang in _JS_LANGUAGES},
            **{lang: self._qualified for lang in _PACKAGE_LANGUAGES},
        }

    def resolve(self, imp: Import, language: str) -> list[str]:
        """The files ``imp`` (found in a file of ``language``) brings in, best first; empty when external."""
        rule = self._rules.get(language)
        if rule is None or not imp.module:
            return []
        found = rule(imp, posixpath.dirname(imp.path))
        return [f for f in dict.fromkeys(found) if f != imp.path]

    # --- helpers -------------------------------------------------------------------------------------------

    def _first(self, candidates: Iterable[str]) -> list[str]:
        for candidate in candidates:
            if candidate in self.paths:
                return [candidate]
        return []

    def _by_suffix(self, relpath: str, extensions: Iterable[str]) -> list[str]:
        """Files whose path ends with ``relpath`` + one of ``extensions`` (shortest paths first)."""
        stem = posixpath.basename(relpath)
        found: list[str] = []
        for ext in extensions:
            tail = relpath + ext
            found += sorted((p for p in self.by_stem.get(stem.split(".", 1)[0], ())
                             if p == tail or p.endswith("/" + tail)), key=len)
        return found

    @staticmethod
    def _join(folder: str, relpath: str) -> str | None:
        joined = posixpath.normpath(posixpath.join(folder, relpath))
        return None if joined.startswith("../") or joined == ".." else joined.removeprefix("./")

    # --- Python --------------------------------------------------------------------------------------------

    def _python_roots(self) -> list[str]:
        """Folders Python modules are imported relative to: the root, source roots, and each folder that holds
        a top-level package (a package whose parent folder is not itself a package)."""
        roots = {""}
        roots.update(r for r in SOURCE_ROOTS if r in self.by_dir or any(
            d.startswith(r + "/") for d in self.by_dir))
        for path in self.by_dir:
            if posixpath.join(path, "__init__.py") in self.paths:
                parent = posixpath.dirname(path)
                if posixpath.join(parent, "__init__.py") not in self.paths:
                    roots.add(parent)
        return sorted(roots, key=lambda r: (len(r), r))

    def _python_module(self, base: str, dotted: str) -> list[str]:
        rel = posixpath.join(base, *dotted.split(".")) if dotted else base
        return self._first((rel + ".py", posixpath.join(rel, "__init__.py"), rel + ".pyi"))

    def _python_module_index(self) -> dict[str, str]:
        """Dotted module name -> file, for every Python file under every Python root (nearest root wins)."""
        if self._python_modules is None:
            modules: dict[str, str] = {}
            python_files = sorted((p for p in self.paths if p.endswith((".py", ".pyi"))),
                                  key=lambda p: (p.endswith(".pyi"), p))
            for root in self.python_roots:
                prefix = root + "/" if root else ""
                for path in python_files:
                    if not path.startswith(prefix):
                        continue
                    stem = path[len(prefix):].rpartition(".")[0]
                    if stem == "__init__":
                        continue
                    stem = stem.removesuffix("/__init__")
                    modules.setdefault(stem.replace("/", "."), path)
            self._python_modules = modules
        return self._python_modules

    def _python(self, imp: Import, folder: str) -> list[str]:
        module = imp.module
        stripped = module.lstrip(".")
        level = len(module) - len(stripped)
        first = imp.names[0] if imp.names and imp.names[0] != "*" else ""
        if not level:
            key = (stripped, first)
            found = self._absolute.get(key)
            if found is None:
                modules = self._python_module_index()
                path = (modules.get(f"{stripped}.{first}") if first else None) or modules.get(stripped)
                found = self._absolute[key] = [path] if path else []
            return found
        base = folder
        for _ in range(level - 1):
            if not base:
                return []  # above the root
            base = posixpath.dirname(base)
        if first:  # `from . import submodule`
            found = self._python_module(base, f"{stripped}.{first}" if stripped else first)
            if found:
                return found
        return self._python_module(base, stripped)

    # --- JavaScript / TypeScript ---------------------------------------------------------------------------

    def _js(self, imp: Import, folder: str) -> list[str]:
        module = imp.module
        if module.startswith("."):
            target = self._join(folder, module)
            return self._js_file(target) if target is not None else []
        if module.startswith("/"):
            return self._js_file(module.lstrip("/"))
        # a path alias or baseUrl of the nearest tsconfig/jsconfig, else root-relative; packages from
        # node_modules are not indexed, so they stay unresolved
        for target in self._ts_targets(module, folder) + [module]:
            found = self._js_file(target)
            if found:
                return found
        return []

    def _ts_targets(self, module: str, folder: str) -> list[str]:
        probe = folder
        while probe not in self.ts_configs:
            if not probe:
                return []
            probe = posixpath.dirname(probe)
        config = self.ts_configs[probe]
        base = posixpath.normpath(posixpath.join(probe, config.base_url or "."))
        targets: list[str] = []
        for pattern, replacements in config.paths:
            prefix, star, suffix = pattern.partition("*")
            if star and module.startswith(prefix) and module.endswith(suffix) and \
                    len(module) >= len(prefix) + len(suffix):
                matched = module[len(prefix):len(module) - len(suffix)]
                targets += [r.replace("*", matched, 1) for r in replacements]
            elif not star and module == pattern:
                targets += list(replacements)
        if config.base_url:
            targets.append(module)
        return [t for t in (self._join(base, target) for target in targets) if t is not None]

    def _js_file(self, target: str) -> list[str]:
        """The file a JS/TS module path names: as written, with an extension, ``.js`` for ``.ts``, or an index."""
        candidates = [target] + [target + ext for ext in _JS_EXTENSIONS]
        stem, ext = posixpath.splitext(target)
        if ext in (".js", ".jsx", ".mjs", ".cjs"):
            candidates += [stem + e for e in (".ts", ".tsx", ".mts", ".cts")]
        candidates += [posixpath.join(target, "index" + e) for e in _JS_EXTENSIONS]
        return self._first(candidates)

    # --- Go ------------------------------------------------------------------------------------------------

    def _go(self, imp: Import, folder: str) -> list[str]:
        for mod_dir, mod_path in sorted(self.go_modules.items(), key=lambda item: -len(item[1])):
            if imp.module == mod_path or imp.module.startswith(mod_path + "/"):
                sub = imp.module[len(mod_path):].lstrip("/")
                package_dir = posixpath.join(mod_dir, sub) if sub else mod_dir
                files = [p for p in self.by_dir.get(package_dir.rstrip("/"), ())
                         if p.endswith(".go") and not p.endswith("_test.go")]
                if files:
                    return files
        return []

    # --- Rust ----------------------------------------------------------------------------------------------

    def _rust_module_dir(self, path: str) -> str:
        """The folder in which a Rust file's child modules live (``a.rs`` -> ``a/``, ``mod.rs``/``lib.rs`` -> its
        folder)."""
        folder, base = posixpath.split(path)
        if base in ("mod.rs", "lib.rs", "main.rs"):
            return folder
        return posixpath.join(folder, base[:-3])

    def _rust_crate_dir(self, folder: str) -> str:
        probe = folder
        while True:
            if any(posixpath.join(probe, root) in self.paths for root in ("lib.rs", "main.rs")):
                return probe
            if not probe:
                return folder
            probe = posixpath.dirname(probe)

    def _rust(self, imp: Import, folder: str) -> list[str]:
        parts = [p for p in imp.module.replace("::", "/").split("/") if p and p != "{" and p != "*"]
        if not parts:
            return []
        if len(parts) == 1 and parts[0] not in ("crate", "self", "super"):  # `mod x;`
            base = self._rust_module_dir(imp.path)
            return self._first((posixpath.join(base, parts[0] + ".rs"), posixpath.join(base, parts[0], "mod.rs")))
        head = parts[0]
        if head == "crate":
            base, rest = self._rust_crate_dir(folder), parts[1:]
        elif head in ("self", "super"):
            base = self._rust_module_dir(imp.path)
            rest = parts
            while rest and rest[0] in ("self", "super"):
                if rest[0] == "super":
                    base = posixpath.dirname(base)
                rest = rest[1:]
        else:
            return []
        for end in range(len(rest), 0, -1):  # longest module path that exists; the rest are items
            rel = posixpath.join(base, *rest[:end])
            found = self._first((rel + ".rs", posixpath.join(rel, "mod.rs")))
            if found:
                return found
        return []

    # --- Java / Kotlin / C# / PHP --------------------------------------------------------------------------

    def _qualified(self, imp: Import, folder: str) -> list[str]:
        language = self.facts[imp.path].language if imp.path in self.facts else "java"
        module = imp.module.replace("\\", ".").strip(".").removesuffix(".*")
        if language == "php" and ("/" in module or module.endswith(".php")):
            return self._relative_or_suffix(imp.module, folder, (".php", ""))
        package, _, last = module.rpartition(".")
        for p in self.by_package.get(package, ()):
            if posixpath.basename(p).split(".", 1)[0] == last:
                return [p]
        if module in self.by_package:  # a whole package (`import a.b.*`, C# `using A.B;`)
            return self.by_package[module]
        return self._by_suffix(module.replace(".", "/"), _EXTENSIONS_OF[language])

    # --- C / C++ -------------------------------------------------------------------------------------------

    def _c_include(self, imp: Import, folder: str) -> list[str]:
        header = imp.module.strip("<>\"")
        candidates = [self._join(folder, header), self._join("", header)]
        candidates += [self._join(root, header) for root in ("include", "src")]
        found = self._first(c for c in candidates if c)
        return found or self._by_suffix(header, ("",))[:1]

    # --- Ruby / Lua / Bash ---------------------------------------------------------------------------------

    def _relative_or_suffix(self, module: str, folder: str, extensions: tuple[str, ...]) -> list[str]:
        for base in (folder, ""):
            target = self._join(base, module)
            if target:
                found = self._first(target + ext for ext in extensions)
                if found:
                    return found
        return self._by_suffix(module.lstrip("./"), extensions)[:1]

    def _ruby(self, imp: Import, folder: str) -> list[str]:
        return self._relative_or_suffix(imp.module, folder, (".rb", ""))

    def _lua(self, imp: Import, folder: str) -> list[str]:
        rel = imp.module.replace(".", "/")
        found = self._first((rel + ".lua", posixpath.join(rel, "init.lua")))
        return found or self._by_suffix(rel, (".lua", "/init.lua"))[:1]

    def _bash(self, imp: Import, folder: str) -> list[str]:
        return self._relative_or_suffix(imp.module, folder, ("", ".sh", ".bash"))


@dataclass(frozen=True, slots=True)
class TsConfig:
    """Module resolution settings of a ``tsconfig.json``/``jsconfig.json``: ``baseUrl`` and ``paths`` aliases."""

    base_url: str
    paths: tuple[tuple[str, tuple[str, ...]], ...]


_JSON_COMMENT = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.DOTALL)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def ts_config(text: str) -> TsConfig | None:
    """The module resolution settings of a tsconfig/jsconfig text (JSON with comments); None when it has none
    or cannot be read."""
    stripped = _TRAILING_COMMA.sub(r"\1", _JSON_COMMENT.sub(lambda m: m.group(1) or "", text))
    try:
        options = json.loads(stripped).get("compilerOptions") or {}
        base_url = options.get("baseUrl") or ""
        paths = tuple((str(pattern), tuple(str(t) for t in targets))
                      for pattern, targets in (options.get("paths") or {}).items() if isinstance(targets, list))
    except (ValueError, AttributeError):
        return None
    if not isinstance(base_url, str) or (not base_url and not paths):
        return None
    return TsConfig(base_url, paths)


def go_module_path(go_mod_text: str) -> str | None:
    """The module path declared by a ``go.mod`` file's text."""
    for line in go_mod_text.splitlines():
        words = line.split("//", 1)[0].split()
        if len(words) >= 2 and words[0] == "module":
            return words[1].strip('"')
    return None
