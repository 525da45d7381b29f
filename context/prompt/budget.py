"""Token budgets: the range a prompt may be asked to fit, checked before any work is done."""

from __future__ import annotations

from context.errors import InvalidBudget

MIN_BUDGET = 1_024


MAX_BUDGET = 262_144


MAX_LONG_CONTEXT_BUDGET = 1_048_576


def check_budget(budget: int, long_context: bool = False) -> int:
    """``budget`` if it is allowed, else `InvalidBudget` saying what is."""
    ceiling = MAX_LONG_CONTEXT_BUDGET if long_context else MAX_BUDGET
    if not isinstance(budget, int) or isinstance(budget, bool) or not MIN_BUDGET <= budget <= ceiling:
        hint = "" if long_context else " (up to 1,048,576 with long context enabled, for YaRN deployments)"
        raise InvalidBudget(f"token budget {budget!r} is outside {MIN_BUDGET:,}..{ceiling:,}{hint}")
    return budget


__all__ = ["MAX_BUDGET", "MAX_LONG_CONTEXT_BUDGET", "MIN_BUDGET", "check_budget"]
