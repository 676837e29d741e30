"""Pooled PostgreSQL connections are checked before use only after sitting idle a while.

SQLAlchemy's ``pool_pre_ping`` sends a round trip before every transaction: a tenth of the
CPU of a webhook-to-done run, summed over the API, the workers and PostgreSQL. What it
guards against is a connection the server dropped while it sat in the pool (a restart, an
idle timeout on the way): under load a connection goes back out within milliseconds. So
the check is kept for connections idle longer than ``idle_before_ping`` seconds; one that
fails it is replaced before anyone uses it.

The price, after a database restart or failover: a connection back from work less than
that long ago fails its next transaction, like one in use at the restart, and SQLAlchemy
then renews the whole pool. Such a request fails; a worker whose outcome could not be
written leaves its job unacked and the attempt is retried once its lease runs out (the
action runs again: actions run at least once).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine

IDLE_BEFORE_PING = 5.0


def ping_when_idle(engine: AsyncEngine, idle_before_ping: float = IDLE_BEFORE_PING) -> None:
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_before_ping:
            return  # new, or back from work a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # The pool drops this connection and hands out a new one.
            raise exc.DisconnectionError(f"a pooled connection was dropped: {error}") from error
