"""Prometheus metrics taken from the engine's own history events, plus HTTP request metrics.

``MetricsPublisher`` is an ``EventPublisher``: wired beside the followers' publisher (with
``FanOutPublisher``), it sees every event a process commits, so each process that starts,
executes or changes runs counts what it did, and Prometheus sums the processes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from wfa.application.ports.delivery import EventPublisher
from wfa.application.use_cases.follow_run import WaiterLimit
from wfa.domain.events import (
    AttemptFailed,
    AttemptStarted,
    AttemptSucceeded,
    Event,
    RunCancelled,
    RunCreated,
    RunFailed,
    RunSucceeded,
)

log = logging.getLogger(__name__)

# generate_latest writes the classic text format, whatever CONTENT_TYPE_LATEST says in newer
# clients (1.0.0); naming the format it writes keeps scrapers parsing it the way it is written.
TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Steps call the outside world: seconds to an hour, not the client's web-request defaults.
STEP_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)
QUEUE_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)

OPEN_ATTEMPTS_KEPT = 10_000  # attempts awaiting their start or end; the oldest are forgotten
LABEL_VALUES_KEPT = 50  # distinct trigger types / error buckets; more are counted as "other"
OTHER = "other"

K = TypeVar("K")
V = TypeVar("V")

_AttemptKey = tuple[str, str, int]  # (run_id, step_id, attempt): unique within the engine


class MetricsPublisher:
    """Counts runs and attempts, and times attempts, from the events it is given."""

    def __init__(
        self, registry: CollectorRegistry | None = None, open_attempts: int = OPEN_ATTEMPTS_KEPT
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.runs_started = Counter(
            "wfa_runs_started",
            "Runs created, by trigger type.",
            ["trigger"],
            registry=self.registry,
        )
        self.runs_finished = Counter(
            "wfa_runs_finished",
            "Runs that ended, by final status.",
            ["status"],
            registry=self.registry,
        )
        self.step_attempts = Counter(
            "wfa_step_attempts",
            "Task step attempts that ended, by outcome and error family (first dotted segment).",
            ["outcome", "error"],
            registry=self.registry,
        )
        self.step_duration = Histogram(
            "wfa_step_duration_seconds",
            "Seconds from an attempt's start to its success or failure.",
            buckets=STEP_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.queue_lag = Histogram(
            "wfa_queue_lag_seconds",
            "Seconds from the time an attempt was due to the time a worker started it.",
            buckets=QUEUE_LAG_BUCKETS,
            registry=self.registry,
        )
        self._started = _Recent[_AttemptKey, datetime](open_attempts)
        self._triggers = _BoundedLabel()
        self._errors = _BoundedLabel()

    async def publish(self, run_id: str, events: Sequence[Event]) -> None:
        for event in events:
            self._record(run_id, event)

    def _record(self, run_id: str, event: Event) -> None:
        match event:
            case RunCreated(trigger=trigger):
                # Webhook runs say "webhook:<path>": only the type before ":" is a bounded label.
                kind = self._triggers.bucket(trigger.split(":", 1)[0])
                self.runs_started.labels(trigger=kind).inc()
            case RunSucceeded():
                self.runs_finished.labels(status="succeeded").inc()
            case RunFailed():
                self.runs_finished.labels(status="failed").inc()
            case RunCancelled():
                self.runs_finished.labels(status="cancelled").inc()
            case AttemptStarted(step_id=step_id, attempt=attempt, at=at, due_at=due_at):
                self._started.put((run_id, step_id, attempt), at)
                if due_at is not None:  # the event says when it was due, wherever scheduled
                    self.queue_lag.observe(_seconds(due_at, at))
            case AttemptSucceeded(step_id=step_id, attempt=attempt, at=at):
                self.step_attempts.labels(outcome="succeeded", error="").inc()
                self._observe_duration((run_id, step_id, attempt), at)
            case AttemptFailed(step_id=step_id, attempt=attempt, at=at, error=error):
                family = self._errors.bucket(error.error.split(".", 1)[0])
                self.step_attempts.labels(outcome="failed", error=family).inc()
                self._observe_duration((run_id, step_id, attempt), at)
            case _:
                pass

    def _observe_duration(self, key: _AttemptKey, ended_at: datetime) -> None:
        # An attempt started in another process (or forgotten) has no duration here.
        started_at = self._started.pop(key)
        if started_at is not None:
            self.step_duration.observe(_seconds(started_at, ended_at))


class FanOutPublisher:
    """Publishes to several publishers in order; one failing does not keep the rest from it.

    Events are published after their transaction commits and the stored history is the
    source of truth (followers refill from it), so a failure is logged, not raised: raising
    would tell the caller a committed move had failed.
    """

    def __init__(self, *publishers: EventPublisher) -> None:
        self.publishers = publishers

    async def publish(self, run_id: str, events: Sequence[Event]) -> None:
        for publisher in self.publishers:
            try:
                await publisher.publish(run_id, events)
            except Exception:
                log.exception(
                    "event publisher %s failed", type(publisher).__name__, extra={"run_id": run_id}
                )


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"


class HttpMetrics:
    """Request counts and durations, labelled by route template so cardinality stays bounded."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "wfa_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "wfa_http_request_duration_seconds",
            "Seconds spent answering an HTTP request.",
            ["method", "route"],
            registry=self.registry,
        )

    def observe(self, method: str, route_template: str | None, status: int, seconds: float) -> None:
        """Record one answered request; pass the route TEMPLATE (``/api/v1/runs/{run_id}``).

        ``None`` stands for a request that matched no route (a 404 or 405): raw paths and
        invented methods come from clients, so they would make labels without bound.
        """
        method = method.upper() if method.upper() in KNOWN_METHODS else OTHER
        route = route_template or UNMATCHED_ROUTE
        self.requests.labels(method=method, route=route, status=str(status)).inc()
        self.duration.labels(method=method, route=route).observe(seconds)


class WaiterMetrics(Collector):
    """The ``?wait`` holders of this process and the callers turned away, read when scraped."""

    def __init__(self, waiters: WaiterLimit) -> None:
        self._waiters = waiters

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "wfa_webhook_waiters",
            "Webhook callers holding for their run's end now (at most WFA_MAX_WAITERS).",
            value=self._waiters.holding,
        )
        yield CounterMetricFamily(
            "wfa_webhook_waits_refused",
            "Webhook callers that asked to wait but were answered at once: no place was free.",
            value=self._waiters.refused,
        )


def process_registry(waiters: WaiterLimit) -> CollectorRegistry:
    """The registry of one process, with its webhook waiters on it."""
    registry = CollectorRegistry()
    registry.register(WaiterMetrics(waiters))
    return registry


def render(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The registry in the Prometheus text format, with the content type to serve it under."""
    return generate_latest(registry), TEXT_CONTENT_TYPE


def _seconds(since: datetime, until: datetime) -> float:
    # Clocks of different processes may disagree a little; a negative time means none.
    return max(0.0, (until - since).total_seconds())


class _Recent(Generic[K, V]):
    """A bounded map: when full, the oldest entry leaves, so memory stays flat however many
    attempts start here and end elsewhere (or never end, when their run is cancelled)."""

    def __init__(self, size: int) -> None:
        self._entries: dict[K, V] = {}
        self._size = size

    def put(self, key: K, value: V) -> None:
        self._entries.pop(key, None)
        if len(self._entries) >= self._size:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = value

    def pop(self, key: K) -> V | None:
        return self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


class _BoundedLabel:
    """Passes the first ``LABEL_VALUES_KEPT`` distinct values through, then says "other".

    Trigger types and error names come partly from users (custom actions name their errors),
    and every distinct label value is a time series kept forever.
    """

    def __init__(self, size: int = LABEL_VALUES_KEPT) -> None:
        self._seen: set[str] = set()
        self._size = size

    def bucket(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self._size:
            return OTHER
        self._seen.add(value)
        return value
