"""qwen-context: the repository-context engine for Qwen3-Coder.

The public API is the names below, importable from ``context`` itself: `Engine` indexes a repository and answers
every question the servers and the command line ask of it (symbols, outlines, references, ranked prompts in
Qwen3-Coder's format); `ModelClient` talks to any OpenAI-compatible endpoint, configured by `ModelSettings` /
`load_settings`; `FakeOpenAIServer` stands in for one on 127.0.0.1. Errors share one base, `QwenContextError`;
the ones a caller of the engine meets are exported, every other lives in `context.errors`.

Everything else is private: the stage packages (`context.index`, `context.prompt`, `context.model`,
`context.serve`, `context.review`, `context.agent`), `context.engine`, `context.weights`, `context.secrets` and `context.cli` are the implementation.
The command line and the two servers of this distribution import them directly; anyone else should not, as
their names and signatures change without notice.

    from context import Engine
    engine = Engine("path/to/repo")
    engine.index()
    prompt = engine.fim_prompt("src/app.py", line=10, character=4, budget=8192)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from context.engine import Engine, EngineConfig, IndexReport, IndexStats, OutlineNode, iter_outline
    from context.errors import (
        ConfigError,
        IndexUnavailable,
        InvalidBudget,
        InvalidPosition,
        ModelError,
        PathOutsideWorkspace,
        QwenContextError,
        SecretPathRefused,
        UnknownFile,
        UsageError,
    )
    from context.index.symbols import Definition, Import, Reference
    from context.model.client import ModelClient
    from context.model.fakeserver import FakeOpenAIServer
    from context.model.settings import ModelSettings, load_settings
    from context.prompt.result import Prompt, Section

# Names are imported on first use (PEP 562): every `import context.x` runs this file first, and the command line
# must not pay for pydantic and the HTTP client when it only searches the index.
_HOMES = {
    "Engine": "engine", "EngineConfig": "engine", "IndexReport": "engine", "IndexStats": "engine",
    "OutlineNode": "engine", "iter_outline": "engine",
    "ConfigError": "errors", "IndexUnavailable": "errors", "InvalidBudget": "errors", "InvalidPosition": "errors",
    "ModelError": "errors", "PathOutsideWorkspace": "errors", "QwenContextError": "errors",
    "SecretPathRefused": "errors", "UnknownFile": "errors", "UsageError": "errors",
    "Definition": "index.symbols", "Import": "index.symbols", "Reference": "index.symbols",
    "ModelClient": "model.client", "FakeOpenAIServer": "model.fakeserver",
    "ModelSettings": "model.settings", "load_settings": "model.settings",
    "Prompt": "prompt.result", "Section": "prompt.result",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'context' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"context.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "ConfigError",
    "Definition",
    "Engine",
    "EngineConfig",
    "FakeOpenAIServer",
    "Import",
    "IndexReport",
    "IndexStats",
    "IndexUnavailable",
    "InvalidBudget",
    "InvalidPosition",
    "ModelClient",
    "ModelError",
    "ModelSettings",
    "OutlineNode",
    "PathOutsideWorkspace",
    "Prompt",
    "QwenContextError",
    "Reference",
    "SecretPathRefused",
    "Section",
    "UnknownFile",
    "UsageError",
    "iter_outline",
    "load_settings",
]
