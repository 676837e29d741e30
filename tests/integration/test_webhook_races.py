"""One signed webhook request received twice at once, by two engines on one PostgreSQL.

Both contenders find the workflow before either claims the signature (they meet at a
rendezvous after that read), so both go on to claim it: the primary key of
``webhook_deliveries`` lets exactly one through, and exactly one run starts.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from tests.delegating import DelegatingUnitOfWork
from tests.recording import RecordingJobQueue
from wfa.adapters.actions.builtin import default_registry
from wfa.adapters.clock import FakeClock, SystemEntropy
from wfa.adapters.events.memory import InMemoryEventPublisher
from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.adapters.persistence.sqlalchemy.tables import runs, webhook_deliveries
from wfa.adapters.secrets.fernet import FernetCipher, generate_key
from wfa.application.errors import ReplayedWebhook
from wfa.application.ports.repositories import UnitOfWork
from wfa.application.run_transitions import RunTransitions
from wfa.application.use_cases.start_run import StartRun
from wfa.application.use_cases.webhooks import ReceiveWebhook, WebhookRequest
from wfa.application.use_cases.workflows import RegisterWorkflow

T0 = datetime(2030, 1, 1, tzinfo=UTC)
BODY = b'{"order": 1}'
HOOKED = {
    "name": "hooked",
    "trigger": {"type": "webhook", "path": "orders", "secret": "s3cret"},
    "steps": [{"id": "a", "type": "task", "action": "noop"}],
}


def signed_now() -> dict[str, str]:
    t = int(T0.timestamp())
    digest = hmac.new(b"s3cret", f"{t}.".encode() + BODY, hashlib.sha256).hexdigest()
    return {"x-wfa-signature": f"t={t},v1={digest}"}


class MeetAfterLookup(DelegatingUnitOfWork):
    """A real unit of work whose webhook lookup waits until every contender has looked."""

    def __init__(self, inner: UnitOfWork, barrier: asyncio.Barrier) -> None:
        super().__init__(inner)
        self._barrier = barrier

    @property
    def workflows(self) -> Any:
        inner, barrier = self._inner.workflows, self._barrier

        class Meeting:
            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

            async def by_webhook(self, path: str) -> Any:
                found = await inner.by_webhook(path)
                async with asyncio.timeout(5):
                    await barrier.wait()
                return found

        return Meeting()

    async def commit(self) -> None:
        await self._inner.commit()


async def test_one_signature_received_twice_at_once_starts_one_run(postgres_database, postgres_url):
    cipher, clock = FernetCipher.from_text(generate_key()), FakeClock(T0)
    register = RegisterWorkflow(
        postgres_database.unit_of_work, default_registry(), clock, SystemEntropy(), cipher=cipher
    )
    await register.execute(HOOKED)
    barrier = asyncio.Barrier(2)
    engines = [Database(postgres_url, pool_size=2) for _ in range(2)]
    queues = [RecordingJobQueue() for _ in engines]

    def receiver(database: Database, queue: RecordingJobQueue) -> ReceiveWebhook:
        def uow() -> MeetAfterLookup:
            return MeetAfterLookup(database.unit_of_work(), barrier)

        transitions = RunTransitions(uow, queue, InMemoryEventPublisher(), clock)
        start = StartRun(uow, transitions, clock, SystemEntropy())
        return ReceiveWebhook(uow, start, cipher, clock)

    request = WebhookRequest(path="orders", body=BODY, headers=signed_now())
    try:
        outcomes = await asyncio.gather(
            *(receiver(db, q).execute(request) for db, q in zip(engines, queues, strict=True)),
            return_exceptions=True,
        )
    finally:
        for database in engines:
            await database.dispose()

    assert barrier.n_waiting == 0  # both found the workflow before either claimed
    refused = [o for o in outcomes if isinstance(o, ReplayedWebhook)]
    assert len(refused) == 1, outcomes
    async with postgres_database.engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(runs)) == 1
        claims = await connection.scalar(select(func.count()).select_from(webhook_deliveries))
    assert claims == 1
    assert len(queues[0].sent + queues[1].sent) == 1
