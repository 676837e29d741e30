"""Metrics as a user reads them on /metrics, from runs driven through the local engine."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from tests.recording import RecordingEventPublisher
from wfa.adapters.actions.builtin import builtin_actions
from wfa.adapters.actions.catalog import ActionRegistry
from wfa.adapters.clock import FakeClock
from wfa.adapters.observability.metrics import (
    FanOutPublisher,
    HttpMetrics,
    MetricsPublisher,
    render,
)
from wfa.application.ports.actions import ActionContext, ActionError
from wfa.domain.events import (
    AttemptFailed,
    AttemptStarted,
    AttemptSucceeded,
    ErrorInfo,
    Event,
    RunCreated,
)
from wfa.domain.run import RunStatus
from wfa.entrypoints.local import LocalEngine

T0 = datetime(2030, 1, 1, tzinfo=UTC)


class SlowFlaky:
    """Takes ``seconds`` of the engine's fake clock per call; the first ``failures`` fail."""

    name = "slow_flaky"
    params_type: Any = dict[str, Any]

    def __init__(self, seconds: float, failures: int, error: str) -> None:
        self.seconds, self.failures, self.error = seconds, failures, error
        self.clock: FakeClock | None = None
        self.calls = 0

    async def __call__(self, params: dict[str, Any], context: ActionContext) -> Any:
        assert self.clock is not None
        self.clock.advance(self.seconds)
        self.calls += 1
        if self.calls <= self.failures:
            raise ActionError(self.error, f"call {self.calls} failed")
        return {"call": self.calls}


def scrape(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the exposition text, keyed by name and labels, as a scraper parses it."""
    body, content_type = render(registry)
    assert content_type.startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def engine_with(metrics: MetricsPublisher, *actions: Any) -> LocalEngine:
    registry = ActionRegistry([*builtin_actions(), *actions])
    return LocalEngine.virtual(
        actions=registry, publisher=metrics, events=RecordingEventPublisher()
    )


def task(step_id: str, action: str = "noop", **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "task", "action": action, **extra}


async def test_a_flaky_run_counts_each_attempt_and_times_it_on_the_virtual_clock():
    metrics = MetricsPublisher()
    flaky = SlowFlaky(seconds=1.5, failures=2, error="http.status.5xx")
    engine = engine_with(metrics, flaky)
    assert isinstance(engine.clock, FakeClock)
    flaky.clock = engine.clock
    retry = {"max_attempts": 3, "initial_interval": 2.0, "backoff_rate": 3.0}
    steps = [task("call", "slow_flaky", retry=retry), task("after")]
    details = await engine.run_once({"name": "flaky", "steps": steps})
    assert details.run.status is RunStatus.SUCCEEDED

    samples = scrape(metrics.registry)
    assert value(samples, "wfa_runs_started_total", trigger="manual") == 1
    assert value(samples, "wfa_runs_finished_total", status="succeeded") == 1
    assert value(samples, "wfa_runs_finished_total", status="failed") is None
    attempts = "wfa_step_attempts_total"
    assert value(samples, attempts, outcome="failed", error="http") == 2
    assert value(samples, attempts, outcome="succeeded", error="") == 2  # call, then after
    # Three tries of 1.5 s each on the fake clock, and the noop that takes none.
    duration = "wfa_step_duration_seconds"
    assert value(samples, f"{duration}_count") == 4
    assert value(samples, f"{duration}_sum") == pytest.approx(4.5)
    assert value(samples, f"{duration}_bucket", le="1.0") == 1
    assert value(samples, f"{duration}_bucket", le="2.5") == 4
    # Every attempt started the moment it was due: retries when their backoff ended.
    assert value(samples, "wfa_queue_lag_seconds_count") == 4
    assert value(samples, "wfa_queue_lag_seconds_sum") == 0
    # The followers' publisher is told first and still hears everything.
    assert len(engine.events.published) == len(details.history)


async def test_queue_lag_is_the_time_from_due_to_started():
    metrics = MetricsPublisher()
    engine = engine_with(metrics)
    workflow = await engine.add_workflow({"name": "one", "steps": [task("only")]})
    run_id = await engine.start(workflow.id)
    assert isinstance(engine.clock, FakeClock)
    engine.clock.advance(7)  # the job sits in the queue while no worker takes it
    await engine.settle(run_id)

    samples = scrape(metrics.registry)
    assert value(samples, "wfa_queue_lag_seconds_count") == 1
    assert value(samples, "wfa_queue_lag_seconds_sum") == 7
    assert value(samples, "wfa_queue_lag_seconds_bucket", le="5.0") == 0
    assert value(samples, "wfa_queue_lag_seconds_bucket", le="10.0") == 1


async def test_queue_lag_is_measured_by_a_worker_that_never_saw_the_schedule():
    """With separate roles the API or scheduler schedules and a worker starts: it knows."""
    metrics = MetricsPublisher()
    started = AttemptStarted(
        seq=3, at=at(12), step_id="fetch", attempt=1, deadline=at(72), due_at=at(2)
    )
    await metrics.publish("run-1", [started])

    samples = scrape(metrics.registry)
    assert value(samples, "wfa_queue_lag_seconds_count") == 1
    assert value(samples, "wfa_queue_lag_seconds_sum") == 10


async def test_a_cancelled_run_is_counted_as_finished_cancelled():
    metrics = MetricsPublisher()
    engine = engine_with(metrics)
    steps = [{"id": "pause", "type": "wait", "seconds": 3600}, task("never")]
    workflow = await engine.add_workflow({"name": "waits", "steps": steps})
    run_id = await engine.start(workflow.id)
    await engine.cancel.execute(run_id, "not needed any more")

    samples = scrape(metrics.registry)
    assert value(samples, "wfa_runs_started_total", trigger="manual") == 1
    assert value(samples, "wfa_runs_finished_total", status="cancelled") == 1
    assert value(samples, "wfa_runs_finished_total", status="succeeded") is None
    assert value(samples, "wfa_step_attempts_total", outcome="succeeded", error="") is None


async def test_a_failed_run_counts_its_unretried_error_by_family():
    metrics = MetricsPublisher()
    engine = engine_with(metrics)
    fail = task("call", "fail", params={"error": "FetchFailed", "retryable": False})
    details = await engine.run_once({"name": "fails", "steps": [fail]})
    assert details.run.status is RunStatus.FAILED

    registry = metrics.registry
    assert registry.get_sample_value("wfa_runs_finished_total", {"status": "failed"}) == 1
    failed = {"outcome": "failed", "error": "FetchFailed"}
    assert registry.get_sample_value("wfa_step_attempts_total", failed) == 1


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def created(seq: int, trigger: str) -> RunCreated:
    return RunCreated(
        seq=seq, at=T0, run_id="r", workflow_id="w", workflow_version=1, trigger=trigger
    )


async def test_webhook_runs_are_labelled_by_trigger_type_not_by_path():
    metrics = MetricsPublisher()
    await metrics.publish("r1", [created(1, "webhook:orders")])
    await metrics.publish("r2", [created(1, "webhook:refunds")])
    runs = metrics.registry.get_sample_value
    assert runs("wfa_runs_started_total", {"trigger": "webhook"}) == 2
    assert runs("wfa_runs_started_total", {"trigger": "webhook:orders"}) is None


async def test_error_families_beyond_the_bound_are_counted_as_other():
    metrics = MetricsPublisher()
    for n in range(60):
        error = ErrorInfo(error=f"custom{n}.thing")
        await metrics.publish(
            "r", [AttemptFailed(seq=n + 1, at=T0, step_id="s", attempt=n, error=error)]
        )
    count = metrics.registry.get_sample_value
    assert count("wfa_step_attempts_total", {"outcome": "failed", "error": "custom0"}) == 1
    assert count("wfa_step_attempts_total", {"outcome": "failed", "error": "custom59"}) is None
    assert count("wfa_step_attempts_total", {"outcome": "failed", "error": "other"}) == 10


async def test_start_times_are_bounded_and_the_oldest_is_forgotten():
    metrics = MetricsPublisher(open_attempts=2)
    starts = [
        AttemptStarted(seq=n, at=at(0), step_id=f"s{n}", attempt=1, deadline=at(60))
        for n in (1, 2, 3)
    ]
    await metrics.publish("r", starts)
    ends = [AttemptSucceeded(seq=3 + n, at=at(n), step_id=f"s{n}", attempt=1) for n in (1, 2, 3)]
    await metrics.publish("r", ends)
    # s1's start was pushed out by s3's: its end counts as an attempt, but has no duration.
    get = metrics.registry.get_sample_value
    assert get("wfa_step_attempts_total", {"outcome": "succeeded", "error": ""}) == 3
    assert get("wfa_step_duration_seconds_count") == 2
    assert get("wfa_step_duration_seconds_sum") == 5


class Broken:
    async def publish(self, run_id: str, events: Sequence[Event]) -> None:
        raise ConnectionError("redis went away")


async def test_fan_out_tells_every_publisher_in_order_though_one_fails(caplog):
    first, last = RecordingEventPublisher(), RecordingEventPublisher()
    fan_out = FanOutPublisher(first, Broken(), last)
    events = [created(1, "manual")]
    with caplog.at_level(logging.ERROR, logger="wfa.adapters.observability.metrics"):
        await fan_out.publish("r1", events)
    assert first.published == [("r1", events[0])]
    assert last.published == [("r1", events[0])]
    [record] = caplog.records
    assert "Broken" in record.getMessage()
    assert record.run_id == "r1"
    assert record.exc_info is not None
    assert record.exc_info[0] is ConnectionError


def test_http_requests_are_labelled_by_route_template_on_the_shared_registry():
    metrics = MetricsPublisher()
    http = HttpMetrics(metrics.registry)
    http.observe("get", "/api/v1/runs/{run_id}", 200, 0.05)
    http.observe("GET", "/api/v1/runs/{run_id}", 404, 0.01)
    http.observe("BREW", None, 405, 0.001)  # no route matched, a method no one uses

    samples = scrape(metrics.registry)
    route = "/api/v1/runs/{run_id}"
    requests = "wfa_http_requests_total"
    assert value(samples, requests, method="GET", route=route, status="200") == 1
    assert value(samples, requests, method="GET", route=route, status="404") == 1
    assert value(samples, requests, method="other", route="unmatched", status="405") == 1
    duration = "wfa_http_request_duration_seconds"
    assert value(samples, f"{duration}_count", method="GET", route=route) == 2
    assert value(samples, f"{duration}_sum", method="GET", route=route) == pytest.approx(0.06)
    assert value(samples, "wfa_runs_started_total", trigger="manual") is None  # none yet


def test_each_publisher_has_a_registry_of_its_own_by_default():
    one, two = MetricsPublisher(), MetricsPublisher()
    assert one.registry is not two.registry
    assert HttpMetrics().registry is not one.registry
