"""Import resolution per language, and the file graph's weighting, on literal file sets."""

from __future__ import annotations

import pytest

from context.index.graph import MAX_DEFINERS, FileGraph, name_weight
from context.index.resolve import FileFacts, Resolver, go_module_path
from context.index.snapshot import FileSymbols, Snapshot
from context.index.symbols import Definition, Import


def resolver(files: dict[str, str], packages: dict[str, str] | None = None,
             go_modules: dict[str, str] | None = None) -> Resolver:
    packages = packages or {}
    return Resolver([FileFacts(path, language, packages.get(path, "")) for path, language in files.items()],
                    go_modules)


def resolve(r: Resolver, path: str, module: str, language: str, names: tuple[str, ...] = ()) -> list[str]:
    return r.resolve(Import(module, names, path, 0), language)


PYTHON = {
    "src/pkg/__init__.py": "python", "src/pkg/core.py": "python", "src/pkg/sub/__init__.py": "python",
    "src/pkg/sub/leaf.py": "python", "tools/run.py": "python", "helpers.py": "python",
}


@pytest.mark.parametrize(
    ("path", "module", "names", "expected"),
    [
        ("tools/run.py", "pkg.core", (), ["src/pkg/core.py"]),  # through the src/ layout
        ("tools/run.py", "pkg", ("core",), ["src/pkg/core.py"]),  # from pkg import core (a submodule)
        ("tools/run.py", "pkg", ("something",), ["src/pkg/__init__.py"]),
        ("tools/run.py", "helpers", (), ["helpers.py"]),
        ("src/pkg/sub/leaf.py", "..core", ("x",), ["src/pkg/core.py"]),
        ("src/pkg/sub/leaf.py", ".", ("leaf",), []),  # itself
        ("src/pkg/core.py", ".sub.leaf", (), ["src/pkg/sub/leaf.py"]),
        ("src/pkg/core.py", ".sub", ("*",), ["src/pkg/sub/__init__.py"]),
        ("src/pkg/core.py", "os.path", (), []),
        ("src/pkg/core.py", "....toofar", (), []),
    ],
)
def test_python_modules_resolve_absolute_and_relative(path: str, module: str, names: tuple[str, ...],
                                                      expected: list[str]) -> None:
    assert resolve(resolver(PYTHON), path, module, "python", names) == expected


JS = {
    "src/app.ts": "typescript", "src/util/index.ts": "typescript", "src/api.js": "javascript",
    "src/widget.tsx": "tsx", "src/esm.ts": "typescript", "lib/shared.mjs": "javascript",
}


@pytest.mark.parametrize(
    ("module", "expected"),
    [("./util", "src/util/index.ts"), ("./api", "src/api.js"), ("./widget", "src/widget.tsx"),
     ("./esm.js", "src/esm.ts"), ("../lib/shared.mjs", "lib/shared.mjs"), ("react", None), ("../../x", None)],
)
def test_javascript_and_typescript_paths_resolve_with_extensions_and_index_files(module: str,
                                                                                 expected: str | None) -> None:
    found = resolve(resolver(JS), "src/app.ts", module, "typescript")
    assert found == ([expected] if expected else [])


def test_go_imports_resolve_to_every_file_of_the_package_folder() -> None:
    files = {"svc/go.mod": "go", "svc/main.go": "go", "svc/internal/db/conn.go": "go",
             "svc/internal/db/query.go": "go", "svc/internal/db/query_test.go": "go"}
    r = resolver(files, go_modules={"svc": "github.com/acme/svc"})
    assert resolve(r, "svc/main.go", "github.com/acme/svc/internal/db", "go") == [
        "svc/internal/db/conn.go", "svc/internal/db/query.go"]
    assert resolve(r, "svc/main.go", "github.com/other/lib", "go") == []
    assert go_module_path('// comment\nmodule "github.com/acme/svc" // trailing\n\ngo 1.22\n') == "github.com/acme/svc"


@pytest.mark.parametrize(
    ("path", "module", "expected"),
    [
        ("src/lib.rs", "net", "src/net/mod.rs"),  # mod net;
        ("src/lib.rs", "util", "src/util.rs"),
        ("src/net/mod.rs", "tcp", "src/net/tcp.rs"),
        ("src/net/tcp.rs", "crate::util::helper", "src/util.rs"),
        ("src/net/tcp.rs", "super::udp::Socket", "src/net/udp.rs"),
        ("src/net/tcp.rs", "self::inner", "src/net/tcp/inner.rs"),
        ("src/net/tcp.rs", "std::io", None),
    ],
)
def test_rust_mod_and_use_paths_resolve_to_module_files(path: str, module: str, expected: str | None) -> None:
    files = {p: "rust" for p in ("src/lib.rs", "src/util.rs", "src/net/mod.rs", "src/net/tcp.rs",
                                 "src/net/udp.rs", "src/net/tcp/inner.rs")}
    assert resolve(resolver(files), path, module, "rust") == ([expected] if expected else [])


def test_jvm_and_dotnet_qualified_names_resolve_through_packages_and_paths() -> None:
    files = {"app/src/main/java/com/acme/Main.java": "java", "app/src/main/java/com/acme/model/User.java": "java",
             "lib/src/main/kotlin/com/acme/util/Strings.kt": "kotlin", "Web/Models/Order.cs": "csharp",
             "Web/Models/Line.cs": "csharp", "web/Ctl.php": "php", "web/Repo/UserRepo.php": "php"}
    packages = {"app/src/main/java/com/acme/model/User.java": "com.acme.model",
                "lib/src/main/kotlin/com/acme/util/Strings.kt": "com.acme.util",
                "Web/Models/Order.cs": "Acme.Web.Models", "Web/Models/Line.cs": "Acme.Web.Models",
                "web/Repo/UserRepo.php": "App\\Repo"}
    r = resolver(files, packages)
    main = "app/src/main/java/com/acme/Main.java"
    assert resolve(r, main, "com.acme.model.User", "java") == ["app/src/main/java/com/acme/model/User.java"]
    assert resolve(r, main, "com.acme.model.*", "java") == ["app/src/main/java/com/acme/model/User.java"]
    assert resolve(r, main, "com.acme.util.Strings", "kotlin") == ["lib/src/main/kotlin/com/acme/util/Strings.kt"]
    assert resolve(r, main, "java.util.List", "java") == []
    assert resolve(r, "Web/Ctl.cs", "Acme.Web.Models", "csharp") == ["Web/Models/Line.cs", "Web/Models/Order.cs"]
    assert resolve(r, "web/Ctl.php", "App\\Repo\\UserRepo", "php") == ["web/Repo/UserRepo.php"]


def test_c_includes_resolve_relative_then_include_folders_then_by_suffix() -> None:
    files = {"src/main.c": "c", "src/util.h": "c", "include/proj/api.h": "c", "third/zlib/zlib.h": "c"}
    r = resolver(files)
    assert resolve(r, "src/main.c", "util.h", "c") == ["src/util.h"]
    assert resolve(r, "src/main.c", "proj/api.h", "c") == ["include/proj/api.h"]
    assert resolve(r, "src/main.c", "<zlib.h>", "c") == ["third/zlib/zlib.h"]
    assert resolve(r, "src/main.c", "stdio.h", "c") == []


def test_ruby_lua_and_bash_requires_resolve_relative_or_by_suffix() -> None:
    files = {"lib/app/models/user.rb": "ruby", "lib/app.rb": "ruby", "game/ui/menu.lua": "lua",
             "game/main.lua": "lua", "scripts/common.sh": "bash", "scripts/deploy.sh": "bash"}
    r = resolver(files)
    assert resolve(r, "lib/app.rb", "app/models/user", "ruby") == ["lib/app/models/user.rb"]
    assert resolve(r, "lib/app.rb", "./app/models/user", "ruby") == ["lib/app/models/user.rb"]
    assert resolve(r, "game/main.lua", "game.ui.menu", "lua") == ["game/ui/menu.lua"]
    assert resolve(r, "game/main.lua", "ui.menu", "lua") == ["game/ui/menu.lua"]
    assert resolve(r, "scripts/deploy.sh", "./common.sh", "bash") == ["scripts/common.sh"]


def entry(path: str, language: str, defines: list[str], uses: list[str]) -> FileSymbols:
    definitions = [Definition(n, "function", n, path, i, 0, i, f"def {n}()") for i, n in enumerate(defines)]
    return FileSymbols(path, language, path, "", definitions=definitions, imports=[],
                       references=[(n, "call", 0, 0) for n in uses])


def test_the_graph_links_references_to_the_few_files_defining_them() -> None:
    common = [entry(f"c{i}.py", "python", ["run"], []) for i in range(MAX_DEFINERS + 1)]
    snapshot = Snapshot([
        entry("a.py", "python", ["helper"], ["computeTotalPrice", "computeTotalPrice", "run", "helper", "missing"]),
        entry("b.py", "python", ["computeTotalPrice"], []),
        entry("b.js", "javascript", ["computeTotalPrice"], []),  # another language: never linked from Python
        *common,
    ])
    graph = FileGraph(snapshot, lambda path: [])
    edges = graph.edges_from("a.py")
    assert set(edges) == {"b.py"}  # not the 6 files defining `run`, not itself for `helper`
    assert edges["b.py"] == pytest.approx(name_weight("computeTotalPrice") * 2 ** 0.5)
    assert graph.edges_to("b.py") == {"a.py": edges["b.py"]}


def test_the_graph_updates_edges_of_files_referencing_a_name_that_moved() -> None:
    snapshot = Snapshot([entry("a.py", "python", [], ["parse_config"]),
                         entry("b.py", "python", ["parse_config"], []), entry("c.py", "python", [], [])])
    graph = FileGraph(snapshot, lambda path: [])
    assert set(graph.edges_to("b.py")) == {"a.py"}
    snapshot.put(entry("b.py", "python", [], []))
    snapshot.put(entry("c.py", "python", ["parse_config"], []))
    graph.invalidate(["b.py", "c.py"], ["parse_config"])
    assert graph.edges_from("a.py").keys() == {"c.py"}
    assert graph.edges_to("b.py") == {} and set(graph.edges_to("c.py")) == {"a.py"}


def test_name_weights_favour_distinctive_names_over_private_ones() -> None:
    assert name_weight("computeTotalPrice") > name_weight("total") > name_weight("_private_helper")


def test_typescript_path_aliases_and_base_url_follow_the_nearest_tsconfig() -> None:
    from context.index.resolve import ts_config

    config = ts_config('{\n  // aliases\n  "compilerOptions": {"baseUrl": "./src", "paths": {"@app/*": ["app/*"],\n'
                       '  "config": ["../config/index.ts"],},},\n}')
    assert config is not None
    files = {"web/src/app/main.ts": "typescript", "web/src/app/user/model.ts": "typescript",
             "web/src/shared/util.ts": "typescript", "web/config/index.ts": "typescript",
             "other/x.ts": "typescript"}
    r = Resolver([FileFacts(p, lang, "") for p, lang in files.items()], ts_configs={"web": config})
    main = "web/src/app/main.ts"
    assert resolve(r, main, "@app/user/model", "typescript") == ["web/src/app/user/model.ts"]
    assert resolve(r, main, "config", "typescript") == ["web/config/index.ts"]
    assert resolve(r, main, "shared/util", "typescript") == ["web/src/shared/util.ts"]  # through baseUrl
    assert resolve(r, "other/x.ts", "@app/user/model", "typescript") == []  # outside that tsconfig's folder
    assert resolve(r, main, "react", "typescript") == []
