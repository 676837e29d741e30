"""A step's error keeps a bounded chain of causes, the root cause always at its end."""

from __future__ import annotations

from wfa.domain.children import MAX_CAUSES, bounded_causes
from wfa.domain.events import ErrorInfo


def chain(length: int) -> ErrorInfo:
    error = ErrorInfo(error="workflow.too_deep")
    for level in range(length - 1):
        error = ErrorInfo(error="workflow.failed", message=str(level), cause=error)
    return error


def names(error: ErrorInfo | None) -> list[str]:
    found = []
    while error is not None:
        found.append(error.error)
        error = error.cause
    return found


def test_a_short_chain_is_kept_whole():
    assert bounded_causes(chain(3)) == chain(3)


def test_a_long_chain_keeps_its_outer_errors_and_its_root_cause():
    bounded = bounded_causes(chain(50))
    assert len(names(bounded)) == MAX_CAUSES
    assert names(bounded)[-1] == "workflow.too_deep"
    assert bounded.message == chain(50).message
