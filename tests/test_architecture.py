"""The shape of the project, checked: no import cycle, stages that import only downstream, modules of a
readable size, and a public API that is exactly what the package exports."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import context

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("context", "lsp_server", "mcp_server")
FORBIDDEN = ("pygls", "lsprotocol", "mcp", "lsp_server", "mcp_server")
#: A module longer than this must say why at its top (a docstring line starting with `LONG_MODULE_REASON`).
MAX_MODULE_LINES = 600
LONG_MODULE_REASON = "Long on purpose:"
#: What `context` exports: what the CLI, the servers and users of the engine need.
PUBLIC_API = [
    "ConfigError", "Definition", "Engine", "EngineConfig", "FakeOpenAIServer", "Import", "IndexReport",
    "IndexStats", "IndexUnavailable", "InvalidBudget", "InvalidPosition", "ModelClient", "ModelError",
    "ModelSettings", "OutlineNode", "PathOutsideWorkspace", "Prompt", "QwenContextError", "Reference",
    "SecretPathRefused", "Section", "UnknownFile", "UsageError", "iter_outline", "load_settings",
]


def _modules() -> dict[str, Path]:
    """Every module of the three packages by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The modules of the three packages that module ``name`` imports anywhere: at top level, inside
    functions and under ``TYPE_CHECKING`` (``from a import b`` imports ``a.b`` when that is a module, else ``a``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        yield from (target for target in targets if target in known and target != name)


def _import_graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: set(_imports(name, path, known)) for name, path in known.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_no_module_of_the_engine_or_the_servers_imports_in_a_cycle() -> None:
    assert _cycles(_import_graph()) == []


def test_the_cycle_finder_sees_function_level_imports_and_finds_their_cycle(tmp_path: Path) -> None:
    probe = tmp_path / "fim.py"
    probe.write_text("def late():\n    from context.engine import Engine\n", encoding="utf-8")
    known = {"context.engine": Path("engine.py"), "context.prompt.fim": probe}
    assert list(_imports("context.prompt.fim", probe, known)) == ["context.engine"]
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_the_prompt_stage_reads_the_index_through_its_view_not_the_engine() -> None:
    graph = _import_graph()
    for name in (n for n in graph if n.startswith(("context.prompt", "context.index"))):
        assert "context.engine" not in graph[name], name


#: The stages in the data's order; a module may import its own stage, the stages before it and the shared modules.
STAGES = ("context.index", "context.prompt", "context.model", "context.serve", "context.engine", "context.review",
          "context.agent", "context.cli")
SHARED = ("context.errors", "context.secrets", "context.weights", "context.version")


def _stage(name: str) -> int | None:
    return next((i for i, stage in enumerate(STAGES) if name == stage or name.startswith(stage + ".")), None)


def test_each_stage_imports_only_the_stages_before_it() -> None:
    backwards = {}
    for name, imported in _import_graph().items():
        own = _stage(name)
        if own is None:
            continue
        later = sorted(d for d in imported if d not in SHARED and (_stage(d) if _stage(d) is not None else 99) > own)
        if later:
            backwards[name] = later
    assert backwards == {}


#: Private names of the standard library and dependencies a module may use: ``os._exit``, and the MCP SDK's
#: low-level server, reached the way the SDK's own in-memory client reaches it (to answer unreadable frames).
STDLIB_PRIVATE = frozenset({"_exit", "_lowlevel_server"})


def test_no_module_calls_into_another_modules_private_names() -> None:
    """``engine._forget_watcher(...)`` from the watcher was such a back-call: owners call their parts, parts
    report through what they are given."""
    reaching = []
    for path in _modules().values():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        own = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.ClassDef)}
        own |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                    and node.attr not in own | STDLIB_PRIVATE):
                reaching.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert reaching == []


def test_the_engine_imports_nothing_from_the_protocol_adapters() -> None:
    offenders = {}
    for path in (ROOT / "context").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
        names |= {node.module.split(".")[0] for node in ast.walk(tree)
                  if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
        if names & set(FORBIDDEN):
            offenders[str(path.relative_to(ROOT))] = sorted(names & set(FORBIDDEN))
    assert offenders == {}


def test_only_parse_and_languages_touch_tree_sitter_and_only_model_touches_the_http_clients() -> None:
    owners = {"tree_sitter": {"parse.py", "languages.py"}, "openai": {"wire.py"}, "httpx2": {"wire.py"}, "httpx": set()}
    for path in (ROOT / "context").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                       else [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                       else [])
            for module in modules:
                family = "tree_sitter" if module.startswith("tree_sitter") else module.split(".")[0]
                if family in owners:
                    assert path.name in owners[family], f"{path.name} imports {module}"


def test_no_module_is_long_without_a_reason_at_its_top() -> None:
    too_long = {}
    for path in _modules().values():
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n") + 1
        docstring = ast.get_docstring(ast.parse(text)) or ""
        reasoned = any(line.startswith(LONG_MODULE_REASON) for line in docstring.splitlines())
        if lines > MAX_MODULE_LINES and not reasoned:
            too_long[rel] = lines
    assert too_long == {}


def test_the_public_api_is_exactly_what_the_package_exports() -> None:
    assert sorted(context.__all__) == sorted(PUBLIC_API)
    assert len(set(context.__all__)) == len(context.__all__)
    for name in context.__all__:
        assert getattr(context, name).__name__ == name
    assert not hasattr(context, "ParsedFile")  # private: reachable only from its module
