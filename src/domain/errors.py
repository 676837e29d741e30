"""Errors the domain raises, each a refusal that changes nothing."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class IllegalTransition(DomainError):
    """A command that the run's current status does not allow (cancel a finished run...)."""


class Refusal(IllegalTransition):
    """A refusal with a name a client can act on (``signal.inbox_full``...)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class Problem(msgspec.Struct, frozen=True):
    """One thing wrong with a definition, at a path such as ``steps[2].next``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InvalidDefinition(DomainError):
    """A definition refused as a whole; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"invalid definition ({count} {noun}): " + "; ".join(map(str, problems)))


class ExpressionError(DomainError):
    """An expression that does not parse, or fails while it is evaluated."""

    code = "expression.error"


class ExpressionTooCostly(ExpressionError):
    """An evaluation that would build or walk more than its budget allows (never retried:
    the same data costs the same again)."""

    code = "expression.too_costly"


class InvalidParams(DomainError):
    """Params that do not fit their action's params type; ``problems`` has each with its path."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(map(str, self.problems)))


class InvalidPayload(DomainError):
    """A payload that does not have the shape a step asks for; each problem has its path."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(map(str, self.problems)))
