"""The composition root sizes what it builds from the configuration."""

from __future__ import annotations

import pytest

from wfa.entrypoints.config import load_settings
from wfa.entrypoints.container import Container

URL = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # never connected to: pools open lazily


@pytest.mark.parametrize(("concurrency", "pooled"), [("1", 10), ("16", 20), ("64", 68)])
def test_the_database_pool_holds_a_connection_for_every_step_in_flight(
    concurrency: str, pooled: int
) -> None:
    # A pool smaller than the steps in flight closes and reopens a connection per
    # transaction; make bench showed that halving a worker's throughput.
    env = {"WFA_DATABASE_URL": URL, "WFA_WORKER_CONCURRENCY": concurrency}
    container = Container(settings=load_settings(env, env_file=None))
    assert container.database().engine.pool.size() == pooled  # type: ignore[attr-defined]


def test_every_role_decides_runs_with_the_configured_history_budget() -> None:
    env = {"WFA_DATABASE_URL": URL, "WFA_RUN_MAX_EVENTS": "321", "WFA_LEASE_SECONDS": "12"}
    container = Container(settings=load_settings(env, env_file=None))
    engine = container.engine_settings()
    assert (engine.max_events, engine.lease) == (321, 12.0)
    # The one write path every role (API, worker, scheduler) moves runs through.
    assert container.transitions().settings is engine
