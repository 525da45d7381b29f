"""Where the model lives and how to talk to it: settings, presets and the config file.

Precedence, highest first: per-client overrides (the servers pass what their client sent), environment
(`QWEN_*`; the key falls back to `DASHSCOPE_API_KEY` for DashScope, then `OPENAI_API_KEY`), the TOML config file
(`$QWEN_CONTEXT_CONFIG`, else `~/.config/qwen-context/config.toml`, table `[model]`), the preset named by any of
those (`QWEN_PRESET`), then the defaults below. With no base URL from any of them, `context.model.client` probes the
usual local ports (unless `QWEN_NO_AUTODETECT=1`).

This module does no network I/O: probing lives in `context.model.client`, the one module that speaks HTTP.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from context.errors import ConfigError

FimMode = Literal["completions", "infill", "chat"]


@dataclass(frozen=True)
class Preset:
    """One serving stack for Qwen3-Coder: where it listens, what it calls the model, how FIM reaches it."""

    base_url: str
    model: str
    fim_model: str
    fim_mode: FimMode
    needs_key: bool = False


PRESETS: dict[str, Preset] = {
    # vLLM and SGLang serve raw /v1/completions, so the repository-level FIM prompt goes through untouched.
    "vllm": Preset("http://127.0.0.1:8000/v1", "Qwen/Qwen3-Coder-30B-A3B-Instruct",
                   "Qwen/Qwen3-Coder-30B-A3B-Instruct", "completions"),
    "sglang": Preset("http://127.0.0.1:30000/v1", "Qwen/Qwen3-Coder-30B-A3B-Instruct",
                     "Qwen/Qwen3-Coder-30B-A3B-Instruct", "completions"),
    # llama-server --fim-qwen-30b-default: /infill builds the FIM prompt itself from prefix, suffix and files.
    "llamacpp": Preset("http://127.0.0.1:8080/v1", "qwen3-coder", "qwen3-coder", "infill"),
    # Ollama's qwen3-coder renderer ignores `suffix` (ollama issue 12387): FIM must go through chat.
    "ollama": Preset("http://127.0.0.1:11434/v1", "qwen3-coder:30b", "qwen3-coder:30b", "chat"),
    "lmstudio": Preset("http://127.0.0.1:1234/v1", "qwen/qwen3-coder-30b", "qwen/qwen3-coder-30b", "completions"),
    # DashScope's /completions FIM serves only Qwen2.5-Coder models, so Qwen3-Coder FIM goes through chat.
    "dashscope": Preset("https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "qwen3-coder-plus",
                        "qwen3-coder-flash", "chat", needs_key=True),
    "dashscope-cn": Preset("https://dashscope.aliyuncs.com/compatible-mode/v1", "qwen3-coder-plus",
                           "qwen3-coder-flash", "chat", needs_key=True),
    # OpenRouter routes to many providers; not all of them take raw prompts, chat works with every one.
    "openrouter": Preset("https://openrouter.ai/api/v1", "qwen/qwen3-coder", "qwen/qwen3-coder", "chat",
                         needs_key=True),
}

# The local ports autodetection probes, in order, and the preset each one implies.
#: Seconds one whole request may take, by kind, unless `QWEN_ANSWER_TIMEOUT` sets one value for all: a model
#: list is a few bytes, a completion is at most `max_tokens` (256) tokens the editor waits for, a chat answer may
#: be thousands of tokens from a slow local model.
ANSWER_DEADLINES: dict[str, float] = {"models": 15.0, "fim": 60.0, "chat": 600.0}

LOCAL_PORTS: tuple[tuple[int, str], ...] = (
    (8000, "vllm"), (8080, "llamacpp"), (11434, "ollama"), (1234, "lmstudio"), (30000, "sglang"),
)


def config_path() -> Path:
    """The TOML config file: `$QWEN_CONTEXT_CONFIG`, else `$XDG_CONFIG_HOME/qwen-context/config.toml`."""
    explicit = os.environ.get("QWEN_CONTEXT_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or "~/.config").expanduser()
    return base / "qwen-context" / "config.toml"


def _preset_values(name: object) -> dict[str, Any]:
    """The settings a preset name stands for ({} for no name; an unknown name is reported by validation)."""
    preset = PRESETS.get(str(name).lower()) if name else None
    if preset is None:
        return {}
    return {"base_url": preset.base_url, "model": preset.model, "fim_model": preset.fim_model,
            "fim_mode": preset.fim_mode}


class ModelSettings(BaseSettings):
    """Everything the model client needs; every field has a default, so an empty environment is valid."""

    model_config = SettingsConfigDict(env_prefix="QWEN_", extra="ignore", validate_by_name=True,
                                      validate_by_alias=True, frozen=True)

    preset: str | None = None
    base_url: str | None = None
    # QWEN_API_KEY or `api_key`; else DASHSCOPE_API_KEY (DashScope hosts only), else OPENAI_API_KEY.
    api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("api_key", "QWEN_API_KEY"))
    model: str | None = None  # None: the first Qwen3-Coder model the server lists
    fim_model: str | None = None  # None: same as `model`
    fim_mode: FimMode = "completions"
    connect_timeout: float = Field(default=3.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)  # the longest silence allowed between two chunks
    first_token_timeout: float = Field(default=30.0, gt=0)
    # The whole of one request, from sending it to its last byte; None: the route's default (ANSWER_DEADLINES).
    answer_timeout: float | None = Field(default=None, gt=0)
    max_answer_bytes: int = Field(default=1_048_576, ge=1024)  # of generated text per answer, whatever max_tokens
    max_tokens: int = Field(default=256, ge=1)  # per completion
    chat_max_tokens: int = Field(default=4096, ge=1)
    temperature: float = Field(default=0.0, ge=0, le=2)  # Qwen's own FIM evaluation decodes greedily
    chat_temperature: float = Field(default=0.7, ge=0, le=2)  # the model card's chat setting
    max_lines: int = Field(default=16, ge=1)  # of one multi-line completion
    retries: int = Field(default=3, ge=0, le=10)
    retry_backoff: float = Field(default=0.5, ge=0)  # seconds; doubled per retry, with full jitter
    max_retry_after: float = Field(default=30.0, ge=0)  # a longer Retry-After fails at once instead
    breaker_threshold: int = Field(default=3, ge=1)  # consecutive connection failures that open the circuit
    breaker_cooldown: float = Field(default=5.0, ge=0)
    no_autodetect: bool = False

    @model_validator(mode="before")
    @classmethod
    def _fallback_key(cls, data: Any) -> Any:
        """Borrow a key from the conventional variables when no source gave one. DashScope's key only goes to
        DashScope, so a key kept in the shell for one service is not sent to another."""
        if not isinstance(data, dict) or data.get("api_key") or data.get("QWEN_API_KEY"):
            return data
        host = urlsplit(str(data.get("base_url") or "")).hostname or ""
        dashscope = os.environ.get("DASHSCOPE_API_KEY") if host.endswith(".aliyuncs.com") else None
        key = dashscope or os.environ.get("OPENAI_API_KEY")
        return {**data, "api_key": key} if key else data

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = value.lower()
        if name not in PRESETS:
            raise ValueError(f"unknown preset {value!r}; choose one of {', '.join(PRESETS)}")
        return name

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL such as http://127.0.0.1:8000/v1")
        path = parts.path.rstrip("/") or "/v1"  # a bare host:port means the usual OpenAI-compatible root
        return f"{parts.scheme}://{parts.netloc}{path}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_settings = TomlConfigSettingsSource(settings_cls, toml_file=config_path(), toml_table_header=("model",))
        higher = (init_settings, env_settings, file_settings)
        preset = next((name for source in higher if (name := source().get("preset"))), None)
        return (*higher, InitSettingsSource(settings_cls, init_kwargs=_preset_values(preset)))

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> ModelSettings:
        """The named preset with `overrides` on top (environment and config file still apply in between)."""
        return load_settings({"preset": name, **overrides})

    def deadline(self, kind: str) -> float:
        """Seconds a whole request of `kind` (`models`, `fim`, `chat`) may take."""
        return self.answer_timeout if self.answer_timeout is not None else ANSWER_DEADLINES[kind]

    @property
    def completion_model(self) -> str | None:
        """The model that fills in the middle."""
        return self.fim_model or self.model

    @property
    def needs_key(self) -> bool:
        """Whether the preset's service refuses requests without an API key."""
        return self.preset is not None and PRESETS[self.preset].needs_key

    @property
    def configured(self) -> bool:
        """Whether an endpoint was chosen (otherwise the client probes local ports)."""
        return self.base_url is not None


def load_settings(overrides: Mapping[str, Any] | None = None) -> ModelSettings:
    """Settings from overrides, environment, config file and preset; raises ConfigError on a bad value."""
    try:
        return ModelSettings(**dict(overrides or {}))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the config file {config_path()}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors())
        raise ConfigError(f"invalid model settings: {problems}") from exc


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "value"
    return f"{where}: {error['msg']}"


__all__ = ["ANSWER_DEADLINES", "LOCAL_PORTS", "PRESETS", "FimMode", "ModelSettings", "Preset", "config_path",
           "load_settings"]
