"""qwen-context: the repository-context engine for Qwen3-Coder.

The public API is small (in the manner of httpx): `Engine` indexes a repository and answers every question the
servers and the command line ask of it (symbols, outlines, references, ranked prompts in Qwen3-Coder's format);
`ModelClient` talks to any OpenAI-compatible endpoint; `FakeOpenAIServer` stands in for one on 127.0.0.1.
Everything else lives in modules that are private to the package. Errors share one base, `QwenContextError`.

    from context import Engine
    engine = Engine("path/to/repo")
    engine.index()
    prompt = engine.fim_prompt("src/app.py", line=10, character=4, budget=8192)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from context.engine import Engine, EngineConfig, IndexReport, IndexStats, OutlineNode
    from context.errors import *
    from context.index.symbols import Definition, Import, ParsedFile, Reference
    from context.model.client import ChatReply, ModelClient, ToolCall
    from context.model.fakeserver import FakeOpenAIServer
    from context.model.settings import ModelSettings, load_settings
    from context.prompt.result import Prompt, Section

# Names are imported on first use (PEP 562): every `import context.x` runs this file first, and the command line
# must not pay for pydantic, httpx and openai when it only searches the index.
_HOMES = {
    "ModelSettings": "model.settings", "load_settings": "model.settings",
    "Engine": "engine", "EngineConfig": "engine", "IndexReport": "engine", "IndexStats": "engine",
    "OutlineNode": "engine",
    "FakeOpenAIServer": "model.fakeserver", "ModelClient": "model.client", "ChatReply": "model.client", "ToolCall": "model.client",
    "Prompt": "prompt.result", "Section": "prompt.result",
    "Definition": "index.symbols", "Import": "index.symbols", "ParsedFile": "index.symbols", "Reference": "index.symbols",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name, "errors" if name in _ERRORS else None)
    if home is None:
        raise AttributeError(f"module 'context' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"context.{home}"), name)
    globals()[name] = value
    return value


_ERRORS = frozenset({
    "ConfigError", "FimUnsupported", "IndexUnavailable", "InvalidBudget", "InvalidPosition", "ModelAuthError",
    "ModelError", "ModelNotConfigured", "ModelNotFound", "ModelRateLimited", "ModelResponseError", "ModelTimeout",
    "ModelUnavailable", "PathOutsideWorkspace", "QwenContextError", "SecretPathRefused", "UnknownFile",
    "UsageError",
})

__all__ = [
    "ChatReply",
    "ConfigError",
    "Definition",
    "Engine",
    "EngineConfig",
    "FakeOpenAIServer",
    "FimUnsupported",
    "Import",
    "IndexReport",
    "IndexStats",
    "IndexUnavailable",
    "InvalidBudget",
    "InvalidPosition",
    "ModelAuthError",
    "ModelClient",
    "ModelError",
    "ModelNotConfigured",
    "ModelNotFound",
    "ModelRateLimited",
    "ModelResponseError",
    "ModelSettings",
    "ModelTimeout",
    "ModelUnavailable",
    "OutlineNode",
    "ParsedFile",
    "PathOutsideWorkspace",
    "Prompt",
    "QwenContextError",
    "Reference",
    "SecretPathRefused",
    "Section",
    "ToolCall",
    "UnknownFile",
    "UsageError",
    "load_settings",
]
