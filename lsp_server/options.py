"""The server's settings, from ``initializationOptions`` and ``workspace/didChangeConfiguration``.

Typed models with a default for every field (jedi-language-server's ``initialization_options.py``): a bad or
unknown value never stops the server; it falls back to its default and the user is told which setting was
ignored and why. Keys may be written in snake_case or camelCase, and may sit under a top-level ``"qwen"``
section.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

_MODEL_CONFIG = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ModelOptions(BaseModel):
    """Which model endpoint to use; unset fields come from the environment (``QWEN_*``) and the preset."""

    model_config = _MODEL_CONFIG

    preset: str | None = None
    base_url: str | None = None
    model: str | None = None


class ServerOptions(BaseModel):
    """Everything a user can configure in the editor."""

    model_config = _MODEL_CONFIG

    model: ModelOptions = ModelOptions()
    #: Token budget of a fill-in-the-middle prompt.
    budget: int = Field(default=8192, ge=1024, le=262_144)
    #: Quiet time after a keystroke before the model is asked (automatic triggers only).
    debounce_ms: int = Field(default=100, ge=0, le=5000)
    #: Language names (``python``, ``typescript``, ...) to serve; None serves every language the engine knows.
    languages: frozenset[str] | None = None
    #: Serve ``textDocument/inlineCompletion``.
    inline: bool = True
    #: Serve the completion fallback; None means only for clients that lack inline completion.
    completion: bool | None = None
    #: Serve the code actions (explain, docstring, refactor, fix, tests).
    actions: bool = True
    #: How many suggestions an explicitly invoked inline completion may return to cycle through.
    invoked_items: int = Field(default=3, ge=1, le=5)
    #: How long completions and code actions in a folder still being indexed for the first time wait for that
    #: index before going on without the repository context (a cold index of a big repository takes longer).
    index_wait_ms: int = Field(default=2000, ge=0, le=60_000)

    def serves(self, language: str | None) -> bool:
        """Whether completions are enabled for a file of ``language``."""
        return language is not None and (self.languages is None or language in self.languages)


def _section(raw: Any) -> Any:
    """The ``qwen`` section of a settings object when there is one, else the object itself."""
    if isinstance(raw, dict) and isinstance(raw.get("qwen"), dict):
        return raw["qwen"]
    return raw


def _drop(data: dict[str, Any], loc: tuple[int | str, ...]) -> dict[str, Any]:
    """A copy of ``data`` without the deepest mapping key named by an error location."""
    copy = dict(data)
    head = loc[0]
    nested = copy.get(str(head))
    if len(loc) > 1 and isinstance(nested, dict) and isinstance(loc[1], str):
        copy[str(head)] = _drop(nested, loc[1:])
    else:
        copy.pop(str(head), None)
    return copy


def parse_options(raw: Any) -> tuple[ServerOptions, list[str]]:
    """Validate user settings; return the options and one human-readable line per setting that was ignored."""
    data = _section(raw)
    if data is None:
        return ServerOptions(), []
    if not isinstance(data, dict):
        problem = f"qwen-lsp settings must be an object, not {type(data).__name__}; using defaults"
        return ServerOptions(), [problem]
    problems: list[str] = []
    while True:
        try:
            return ServerOptions.model_validate(data), problems
        except ValidationError as exc:
            for error in exc.errors():
                if not error["loc"]:
                    return ServerOptions(), [*problems, f"qwen-lsp settings ignored ({error['msg']})"]
                name = ".".join(str(part) for part in error["loc"])
                problems.append(f"qwen-lsp setting {name!r} ignored ({error['msg']}); using the default")
                data = _drop(data, error["loc"])


def merge(base: Any, update: Any) -> dict[str, Any]:
    """``update``'s settings layered over ``base``'s (raw objects; nested mappings are merged key by key)."""
    base, update = _section(base), _section(update)
    merged = dict(base) if isinstance(base, dict) else {}
    for key, value in (update.items() if isinstance(update, dict) else ()):
        nested = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = merge(merged[key], value) if nested else value
    return merged
