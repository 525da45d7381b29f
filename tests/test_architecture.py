"""The shape of the project, checked: the engine imports no protocol code, the public API is small and stable."""

from __future__ import annotations

import ast
from pathlib import Path

import context

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("pygls", "lsprotocol", "mcp", "lsp_server", "mcp_server")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_engine_imports_nothing_from_the_protocol_adapters() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_modules(path) & set(FORBIDDEN))
        for path in (ROOT / "context").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_only_parse_and_languages_touch_tree_sitter_and_only_model_touches_the_http_clients() -> None:
    owners = {"tree_sitter": {"parse.py", "languages.py"}, "openai": {"wire.py"}, "httpx2": {"wire.py"}, "httpx": set()}
    for path in (ROOT / "context").rglob("*.py"):
        for module in _imported_modules(path):
            family = "tree_sitter" if module.startswith("tree_sitter") else module
            if family in owners:
                assert path.name in owners[family], f"{path.name} imports {module}"


def test_the_public_api_is_what_the_package_exports() -> None:
    for name in context.__all__:
        assert hasattr(context, name), name
    assert "Engine" in context.__all__
    assert "QwenContextError" in context.__all__
