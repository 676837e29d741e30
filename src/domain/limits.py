"""How large a workflow definition may be: every list and expression a client writes is bounded.

Each limit has a default, an environment variable that changes it, and a refusal that names
both. The step count is checked before anything else is decoded, so a huge definition costs
no more than counting its steps.
"""

from __future__ import annotations

import msgspec

from wfa.domain.expressions import DEFAULT_MAX_EXPRESSION_LENGTH


class DefinitionLimits(msgspec.Struct, frozen=True, kw_only=True):
    """The largest definition this engine accepts."""

    max_steps: int = 1_000  # steps in one definition
    max_choices: int = 100  # choices of one choice step
    max_catches: int = 50  # catch entries of one task
    max_triggers: int = 50  # triggers of one definition
    max_error_names: int = 50  # names in one retry_on or one catch's errors
    max_expression_length: int = DEFAULT_MAX_EXPRESSION_LENGTH  # characters of one expression
    max_branches: int = 100  # branches of one parallel step
    max_map_concurrency: int = 1_000  # the highest max_concurrency a map step may ask for
    max_notify: int = 10  # notification targets of one definition


DEFAULT_LIMITS = DefinitionLimits()

VARIABLES = {
    "max_steps": "WFA_MAX_STEPS",
    "max_choices": "WFA_MAX_CHOICES",
    "max_catches": "WFA_MAX_CATCHES",
    "max_triggers": "WFA_MAX_TRIGGERS",
    "max_error_names": "WFA_MAX_ERROR_NAMES",
    "max_expression_length": "WFA_MAX_EXPRESSION_LENGTH",
    "max_branches": "WFA_MAX_BRANCHES",
    "max_map_concurrency": "WFA_MAX_MAP_CONCURRENCY",
    "max_notify": "WFA_MAX_NOTIFY",
}


def too_many(limits: DefinitionLimits, limit: str, count: int, what: str) -> str | None:
    """The refusal of ``count`` items when ``limit`` allows fewer, else None."""
    allowed: int = getattr(limits, limit)
    if count <= allowed:
        return None
    return f"{count:,} {what}; at most {allowed:,} are allowed ({VARIABLES[limit]})"
