"""The run log as an operator reads it: one line per lifecycle event, from the in-memory engine."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.recording import RecordingEventPublisher
from tests.unit.adapters.test_metrics import SlowFlaky, task
from wfa.adapters.actions.builtin import builtin_actions
from wfa.adapters.actions.catalog import ActionRegistry
from wfa.adapters.observability.run_log import RUN_LOGGER, RunLogPublisher
from wfa.application.log_context import log_context
from wfa.domain.events import AttemptFailed, AttemptScheduled, ErrorInfo, RunStarted
from wfa.domain.run import RunStatus
from wfa.entrypoints.local import LocalEngine

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == RUN_LOGGER]


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == RUN_LOGGER]


def engine_with(*actions: Any) -> LocalEngine:
    registry = ActionRegistry([*builtin_actions(), *actions])
    # As the container wires it; `wfa run` leaves it out: its timeline says the same.
    return LocalEngine.virtual(
        actions=registry, publisher=RunLogPublisher(), events=RecordingEventPublisher()
    )


async def test_a_flaky_run_logs_its_start_each_failure_with_its_retry_time_and_its_success(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, RUN_LOGGER)
    flaky = SlowFlaky(seconds=1.5, failures=2, error="http.status.5xx")
    engine = engine_with(flaky)
    flaky.clock = engine.clock  # type: ignore[assignment]
    retry = {"max_attempts": 3, "initial_interval": 2.0, "backoff_rate": 3.0}
    details = await engine.run_once(
        {"name": "flaky", "steps": [task("call", "slow_flaky", retry=retry)]}
    )
    assert details.run.status is RunStatus.SUCCEEDED

    assert lines(caplog) == [
        (logging.INFO, "run started"),
        (logging.WARNING, "step failed: call 1 failed"),
        (logging.INFO, "step retried"),
        (logging.WARNING, "step failed: call 2 failed"),
        (logging.INFO, "step retried"),
        (logging.INFO, "run succeeded"),
    ]
    logged = records(caplog)
    assert {(r.run_id, r.workflow_id) for r in logged} == {
        (details.run.id, details.run.workflow_id)
    }  # type: ignore[attr-defined]
    first_failure = logged[1]
    assert (first_failure.step_id, first_failure.attempt) == ("call", 1)  # type: ignore[attr-defined]
    assert first_failure.error == "http.status.5xx"  # type: ignore[attr-defined]
    # Failed after 1.5 s; the retry waits 2 s after the failure.
    retry_at = datetime.fromisoformat(first_failure.retry_at)  # type: ignore[attr-defined]
    failed_at = next(e for e in details.history if isinstance(e, AttemptFailed)).at
    assert retry_at == failed_at + timedelta(seconds=2)
    assert (logged[2].step_id, logged[2].attempt) == ("call", 2)  # type: ignore[attr-defined]


async def test_a_failed_run_logs_warnings_with_no_retry(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, RUN_LOGGER)
    engine = engine_with()
    fail = task("call", "fail", params={"error": "FetchFailed", "retryable": False})
    details = await engine.run_once({"name": "fails", "steps": [fail]})
    assert details.run.status is RunStatus.FAILED

    levels = [level for level, _ in lines(caplog)]
    assert levels == [logging.INFO, logging.WARNING, logging.WARNING]
    step_failed, run_failed = records(caplog)[1:]
    assert step_failed.retry_at is None  # type: ignore[attr-defined]
    assert run_failed.getMessage().startswith("run failed")
    assert (run_failed.step_id, run_failed.error) == ("call", "FetchFailed")  # type: ignore[attr-defined]


async def test_a_cancelled_run_logs_its_reason(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, RUN_LOGGER)
    engine = engine_with()
    steps = [{"id": "pause", "type": "wait", "seconds": 3600}, task("never")]
    workflow = await engine.add_workflow({"name": "waits", "steps": steps})
    run_id = await engine.start(workflow.id)
    await engine.cancel.execute(run_id, "not needed any more")

    assert lines(caplog) == [
        (logging.INFO, "run started"),
        (logging.INFO, "run cancelled: not needed any more"),
    ]
    assert records(caplog)[1].workflow_id == workflow.id  # type: ignore[attr-defined]


async def test_a_lost_worker_is_named_as_such_with_its_retry() -> None:
    seen: list[logging.LogRecord] = []
    logger = logging.getLogger("wfa.runs.test_lost")
    handler = _Collect(seen)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    lost = ErrorInfo(error="worker.lost", message="the worker stopped reporting (lease expired)")
    retry_due = T0 + timedelta(seconds=4)
    events = [
        AttemptFailed(seq=5, at=T0, step_id="fetch", attempt=1, error=lost),
        AttemptScheduled(
            seq=6,
            at=T0,
            step_id="fetch",
            attempt=2,
            try_number=2,
            due_at=retry_due,
            wake_at=retry_due,
        ),
    ]
    with log_context(workflow_id="wf-1"):
        await RunLogPublisher(logger).publish("run-1", events)

    assert [(r.levelno, r.getMessage()) for r in seen] == [
        (
            logging.WARNING,
            "worker lost (lease expired): the worker stopped reporting (lease expired)",
        )
    ]
    record = seen[0]
    assert (record.run_id, record.workflow_id, record.step_id) == ("run-1", "wf-1", "fetch")  # type: ignore[attr-defined]
    assert record.retry_at == retry_due.isoformat()  # type: ignore[attr-defined]


async def test_nothing_is_made_when_the_run_logger_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    logger = logging.getLogger("wfa.runs.test_off")
    logger.setLevel(logging.ERROR)
    made: list[object] = []
    monkeypatch.setattr(logger, "makeRecord", lambda *a, **k: made.append(a))
    events = [
        RunStarted(seq=2, at=T0),
        AttemptFailed(seq=3, at=T0, step_id="s", attempt=1, error=ErrorInfo(error="x")),
    ]
    await RunLogPublisher(logger).publish("run-1", events)
    assert made == []


async def test_warnings_only_skip_the_info_lines() -> None:
    seen: list[logging.LogRecord] = []
    logger = logging.getLogger("wfa.runs.test_warnings")
    logger.addHandler(_Collect(seen))
    logger.setLevel(logging.WARNING)
    events = [
        RunStarted(seq=2, at=T0),
        AttemptFailed(seq=3, at=T0, step_id="s", attempt=1, error=ErrorInfo(error="x")),
    ]
    await RunLogPublisher(logger).publish("run-1", events)
    assert [r.getMessage() for r in seen] == ["step failed: x"]


class _Collect(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__()
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)
