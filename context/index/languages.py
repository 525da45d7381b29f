"""Which language a file is written in, decided from its name alone.

Scanning asks this for every file of a repository, so it is a dictionary lookup on the lower-cased extension
and never opens the file. The names returned are the ones `context.index.parse` knows how to parse.
"""

from __future__ import annotations

import posixpath

#: File extension (lower case, without the dot) -> language name understood by `context.index.parse`.
EXTENSIONS: dict[str, str] = {
    "py": "python",
    "pyi": "python",
    "js": "javascript",
    "mjs": "javascript",
    "cjs": "javascript",
    "jsx": "javascript",
    "ts": "typescript",
    "mts": "typescript",
    "cts": "typescript",
    "tsx": "tsx",
    "go": "go",
    "rs": "rust",
    "java": "java",
    "c": "c",
    "h": "c",
    "cc": "cpp",
    "cpp": "cpp",
    "cxx": "cpp",
    "hpp": "cpp",
    "hh": "cpp",
    "hxx": "cpp",
    "cs": "csharp",
    "rb": "ruby",
    "php": "php",
    "kt": "kotlin",
    "kts": "kotlin",
    "sh": "bash",
    "bash": "bash",
    "lua": "lua",
}

#: Every language `language_for` can answer, in a stable order.
LANGUAGES: tuple[str, ...] = tuple(dict.fromkeys(EXTENSIONS.values()))


def language_for(path: str) -> str | None:
    """Return the language of ``path`` from its extension, or None when no parser handles it.

    ``.h`` headers are read as C: the C grammar parses most C++ headers' declarations well enough, and
    guessing from content would need the file.
    """
    _, ext = posixpath.splitext(path)
    return EXTENSIONS.get(ext[1:].lower()) if ext else None
