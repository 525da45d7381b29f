"""What an assembled prompt is: its text, exact token count and the sections it is made of."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Section:
    """One part of a prompt: a context file (``file``, ``signatures``, ``names``) or the ``current`` file."""

    path: str
    kind: str
    tokens: int
    reason: str


@dataclass(slots=True)
class Prompt:
    """An assembled prompt: its text, exact token count, the budget it fits, and what went into it."""

    text: str
    tokens: int
    budget: int
    sections: list[Section]
    elapsed_ms: float
    #: The current file's FIM prefix and suffix as they appear in the prompt (secret-masked); empty for chat.
    prefix: str = ""
    suffix: str = ""
    path: str = ""
    repo_name: str = ""

    def to_dict(self) -> dict[str, object]:
        """The CLI's JSON shape: ``prompt``, ``tokens``, ``budget``, ``sections``, ``elapsed_ms``, ..."""
        return {
            "prompt": self.text,
            "tokens": self.tokens,
            "budget": self.budget,
            "sections": [
                {"path": s.path, "kind": s.kind, "tokens": s.tokens, "reason": s.reason}
                for s in self.sections
            ],
            "elapsed_ms": round(self.elapsed_ms, 3),
            "path": self.path,
            "repo_name": self.repo_name,
        }


__all__ = ["Prompt", "Section"]
