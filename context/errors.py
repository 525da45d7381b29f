"""One exception tree for the whole engine (modelled on httpx's `_exceptions.py`).

Caller mistakes (`UsageError` and its leaves) are kept apart from runtime conditions (`ModelError`,
`IndexUnavailable`). Errors of dependencies (sqlite3, openai, httpx2, tree-sitter) are mapped to these where they
enter the engine, with ``raise X(...) from exc``, so adapters only ever catch `QwenContextError`.

Every message is written for a person (or a model) to act on: it says what happened and what to do.
"""

from __future__ import annotations


class QwenContextError(Exception):
    """Base class of every error the engine raises on purpose."""


# --- caller mistakes -------------------------------------------------------------------------------------------


class UsageError(QwenContextError):
    """The request itself is wrong: fix the arguments and ask again."""


class PathOutsideWorkspace(UsageError):
    """A path is absolute, escapes the workspace root (``..``, ``~``, a symlink), or holds a NUL byte."""


class SecretPathRefused(UsageError):
    """A path names a file that holds secrets (``.env``, private keys, credentials); it is never read."""


class UnknownFile(UsageError):
    """The path is inside the workspace but is not an indexed text file (missing, binary, ignored, too large)."""


class InvalidPosition(UsageError):
    """A line or column lies outside the file."""


class InvalidBudget(UsageError):
    """A token budget is out of range (1,024..262,144, or up to 1,048,576 when long context is enabled)."""


class ConfigError(UsageError):
    """A configuration value is invalid (unknown preset, malformed URL, bad option)."""


# --- runtime conditions ----------------------------------------------------------------------------------------


class IndexUnavailable(QwenContextError):
    """The on-disk index cannot be opened or written (permissions, full disk, another version locked it)."""


class IndexDiskFull(IndexUnavailable):
    """The disk holding the index cache is full: the index is kept as it was and still answers from what it holds."""


class ModelError(QwenContextError):
    """Base class of everything that goes wrong between us and the model endpoint."""


class ModelNotConfigured(ModelError):
    """No endpoint is configured and none answered on the usual local ports."""


class ModelUnavailable(ModelError):
    """The endpoint could not be reached (connection refused, DNS, wrong URL) or the circuit breaker is open."""


class ModelAuthError(ModelError):
    """The endpoint rejected the API key (401/403) or none was given where one is required."""


class ModelNotFound(ModelError):
    """The endpoint does not serve the configured model name (404 on the model)."""


class FimUnsupported(ModelError):
    """The endpoint has no raw completions route for this model; use ``QWEN_FIM_MODE=chat``."""


class ModelRateLimited(ModelError):
    """The endpoint kept answering 429 after our retries."""


class ModelTimeout(ModelError):
    """Connecting, the first token or the rest of the stream took longer than the configured timeout."""


class ModelResponseError(ModelError):
    """The endpoint answered with something we cannot use (5xx after retries, malformed stream)."""


__all__ = [
    "ConfigError",
    "FimUnsupported",
    "IndexDiskFull",
    "IndexUnavailable",
    "InvalidBudget",
    "InvalidPosition",
    "ModelAuthError",
    "ModelError",
    "ModelNotConfigured",
    "ModelNotFound",
    "ModelRateLimited",
    "ModelResponseError",
    "ModelTimeout",
    "ModelUnavailable",
    "PathOutsideWorkspace",
    "QwenContextError",
    "SecretPathRefused",
    "UnknownFile",
    "UsageError",
]
