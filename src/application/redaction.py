"""Keeping the secrets an attempt uses out of everything the attempt leaves behind.

``ExecuteStep`` opens a redaction scope around each attempt; the secrets rendered into the
attempt's params join it. The attempt's outcome (output, error) is redacted before it is
recorded, and log records made while the scope is open are redacted by the logging adapter,
which reads the scope of the record's task (``current_redactor``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import msgspec

from wfa.domain.commands import CompleteAttempt, FailAttempt
from wfa.domain.secrets import Redactor

_scope: ContextVar[Redactor | None] = ContextVar("wfa_redaction", default=None)


@contextmanager
def redacting() -> Iterator[Redactor]:
    """Open a scope; values given to ``protect`` inside it are redacted from its logs."""
    redactor = Redactor()
    token = _scope.set(redactor)
    try:
        yield redactor
    finally:
        _scope.reset(token)


def protect(values: Iterable[str]) -> None:
    """Redact these values from the open scope's logs and outcome (no scope: nothing to do)."""
    redactor = _scope.get()
    if redactor is not None:
        redactor.add(values)


def current_redactor() -> Redactor | None:
    """The open scope's redactor when it has values to redact, else None."""
    redactor = _scope.get()
    return redactor if redactor else None


def redact_outcome(
    outcome: CompleteAttempt | FailAttempt, redactor: Redactor
) -> CompleteAttempt | FailAttempt:
    """The outcome with the redactor's values replaced in its output or its error."""
    if not redactor:
        return outcome
    if isinstance(outcome, CompleteAttempt):
        return msgspec.structs.replace(outcome, output=redactor.value(outcome.output))
    error = outcome.error
    redacted = msgspec.structs.replace(
        error, error=redactor.text(error.error), message=redactor.text(error.message)
    )
    return msgspec.structs.replace(outcome, error=redacted)
