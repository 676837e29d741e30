"""Where workflows, runs, schedules, API keys, secrets and webhook deliveries are kept.

One unit of work holds them all.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

import msgspec

from wfa.domain.api_keys import ApiKey
from wfa.domain.events import Event, SignalReceived
from wfa.domain.notices import Notice
from wfa.domain.run import Run, RunStatus
from wfa.domain.schedule import Schedule
from wfa.domain.secrets import StoredSecret
from wfa.domain.workflow import Workflow


class PublishedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event published through the API: kept until handled, and a while after."""

    id: str
    name: str
    payload: Any = None
    received_at: datetime
    handled_at: datetime | None = None


class RunFilter(msgspec.Struct, frozen=True, kw_only=True):
    workflow_id: str | None = None
    status: RunStatus | None = None
    created_after: datetime | None = None  # runs created at or after this instant
    created_before: datetime | None = None  # runs created before this instant


class RunPage(msgspec.Struct, frozen=True, kw_only=True):
    """Runs newest first; pass ``next_cursor`` back to get the page after this one."""

    runs: list[Run]
    next_cursor: str | None = None


class WorkflowRepository(Protocol):
    async def add(self, workflow: Workflow) -> None:
        """Store a new workflow or a new version of one (versions are never overwritten).

        The version's webhook paths replace the ones the workflow had. Raises
        WebhookPathTaken when another live workflow owns one of them; on SQL the route
        table's primary key decides between concurrent claims.
        """
        ...

    async def get(self, workflow_id: str, version: int | None = None) -> Workflow | None:
        """One version, or the latest when ``version`` is None. Deleted workflows keep their
        versions for the runs that use them, but the latest of a deleted one is None."""
        ...

    async def latest(self, limit: int, after: str | None = None) -> list[Workflow]:
        """The latest version of each workflow not deleted, by id, after ``after``."""
        ...

    async def delete(self, workflow_id: str) -> bool:
        """Delete a workflow (its runs are kept) and free its webhook paths; False when
        there was none."""
        ...

    async def by_webhook(self, path: str) -> Workflow | None:
        """The latest version of the live workflow whose webhook trigger has ``path``."""
        ...

    async def by_name(self, name: str, limit: int) -> list[Workflow]:
        """The latest versions of up to ``limit`` live workflows named ``name``, by id."""
        ...

    async def by_event(self, name: str) -> list[Workflow]:
        """The latest versions of the live workflows with an event trigger called ``name``."""
        ...

    async def with_webhook_secrets(self) -> list[Workflow]:
        """Every stored version (of deleted workflows too) with a webhook secret."""
        ...

    async def replace_definition(self, workflow: Workflow) -> None:
        """Store ``workflow.definition`` in place of its version's: only for sealing the
        webhook secrets it holds again (the definition's meaning does not change)."""
        ...


class RunRepository(Protocol):
    async def add(self, run: Run, events: Sequence[Event]) -> None:
        """Store a new run with its first events.

        Raises DuplicateRun when the run's idempotency key is taken for its workflow.
        """
        ...

    async def add_many(self, created: Sequence[tuple[Run, Sequence[Event]]]) -> None:
        """Store new runs (a fan's children: no idempotency keys) with their first events.

        Raises ConcurrencyConflict when one of their ids is taken.
        """
        ...

    async def get(self, run_id: str, *, for_update: bool = False) -> Run | None:
        """The run; ``for_update`` locks it until the transaction ends where the store can
        (PostgreSQL), so writers that take it this way queue instead of conflicting."""
        ...

    async def children(
        self,
        run_id: str,
        step_id: str,
        attempt: int,
        after_index: int = -1,
        limit: int | None = None,
    ) -> list[Run]:
        """The child runs one attempt of one step of the run started, by index: those after
        ``after_index``, at most ``limit`` of them when it is given."""
        ...

    async def save(self, run: Run, events: Sequence[Event], expected_seq: int) -> None:
        """Store the run's new state and append ``events`` to its history.

        Raises ConcurrencyConflict unless the stored run still has ``expected_seq``.
        """
        ...

    async def by_idempotency_key(self, workflow_id: str, key: str) -> Run | None: ...

    async def awaiting(self, event_name: str, after_id: str | None, limit: int) -> list[Run]:
        """Runs whose await step waits for the event ``event_name`` now, by id, after
        ``after_id``: a page of those a published event is offered to."""
        ...

    async def signal_by_key(self, run_id: str, key: str) -> SignalReceived | None:
        """The signal the run received with idempotency key ``key``, if it received one."""
        ...

    async def history(
        self, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Event]:
        """The run's events with ``seq`` greater than ``after_seq``, in order; at most ``limit``
        of them when it is given (a page: the next one starts after the last seq read)."""
        ...

    async def page(self, where: RunFilter, limit: int, cursor: str | None = None) -> RunPage:
        """Runs newest first; branches and iterations are left out (their parent lists them)."""
        ...

    async def due(self, now: datetime, limit: int) -> list[str]:
        """Ids of unfinished runs whose timer is due at ``now``, earliest first.

        Adapters that many processes share hand each due run to one caller at a time.
        """
        ...

    async def next_wake(self, after: datetime) -> datetime | None:
        """The earliest timer of any run later than ``after``; None when there is none."""
        ...

    async def prune(self, finished_before: datetime | None, keep: int | None, limit: int) -> int:
        """Delete up to ``limit`` finished runs with their history; return how many went.

        Give one rule: runs that finished before ``finished_before``, or runs that have
        ``keep`` newer finished runs. Unfinished runs are never pruned.
        """
        ...


class ApiKeyRepository(Protocol):
    """API keys by hash; the keys themselves are never stored."""

    async def add(self, key: ApiKey) -> None:
        """Store a new key. Raises DuplicateApiKey when its hash is stored already."""
        ...

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        """The key with this hash, revoked or not."""
        ...

    async def get(self, key_id: str) -> ApiKey | None: ...

    async def all(self) -> list[ApiKey]:
        """Every key, revoked ones too, newest first."""
        ...

    async def revoke(self, key_id: str, at: datetime) -> bool:
        """Revoke a key; False when there is none. A key revoked before keeps its first time."""
        ...

    async def count_active(self) -> int: ...


class ScheduleRepository(Protocol):
    """The schedule triggers of live workflows with their next fire, keyed by workflow and key."""

    async def for_workflow(self, workflow_id: str) -> list[Schedule]: ...

    async def replace(self, workflow_id: str, schedules: Sequence[Schedule]) -> None:
        """The workflow's schedules become ``schedules`` (none: the workflow has no more)."""
        ...

    async def due(self, now: datetime, limit: int) -> list[Schedule]:
        """Schedules with a fire due at ``now`` or a buffered fire waiting, earliest first.

        Adapters that many processes share lock them for this transaction and skip those
        another transaction holds, so one fire is weighed by one scheduler.
        """
        ...

    async def save(self, schedule: Schedule) -> None:
        """Store a schedule's state after its fires were weighed."""
        ...


class SecretRepository(Protocol):
    """Secrets by name, their values encrypted: the repository never sees a value in clear."""

    async def get(self, name: str) -> StoredSecret | None: ...

    async def many(self, names: Collection[str]) -> list[StoredSecret]:
        """The stored secrets among ``names`` (one query), by name; unknown names are left out."""
        ...

    async def all(self) -> list[StoredSecret]:
        """Every secret, by name."""
        ...

    async def put(self, secret: StoredSecret) -> None:
        """Store a secret, replacing the ciphertext and ``updated_at`` of one with its name
        (whose ``created_at`` stays)."""
        ...

    async def delete(self, name: str) -> bool:
        """Delete a secret; False when there was none."""
        ...


class WebhookDeliveryRepository(Protocol):
    """The webhook deliveries seen lately, shared by every process: what refuses replays."""

    async def claim(self, claims: Sequence[str], remember_until: datetime, now: datetime) -> bool:
        """Remember ``claims`` until ``remember_until``; False (remembering nothing more)
        when one is remembered already and not past its time.

        Of two transactions claiming one value at once, one wins: on SQL the table's
        primary key makes the second wait for the first and then fail. Forgotten claims
        are dropped along the way.
        """
        ...


class PublishedEventRepository(Protocol):
    """Events published through the API, until they are handled and a while after."""

    async def add(self, event: PublishedEvent) -> bool:
        """Store a new event; False (storing nothing) when one with its id is stored."""
        ...

    async def get(self, event_id: str) -> PublishedEvent | None: ...

    async def claim(self, now: datetime, until: datetime, limit: int) -> list[PublishedEvent]:
        """Up to ``limit`` unhandled events nobody holds (or whose hold ran out), oldest
        first, held until ``until``: several handlers never take one event at once."""
        ...

    async def handled(self, event_id: str, at: datetime) -> None: ...

    async def prune(self, handled_before: datetime, limit: int) -> int:
        """Forget up to ``limit`` events handled before ``handled_before``; how many went."""
        ...


class StoredNotice(msgspec.Struct, frozen=True, kw_only=True):
    """A notice waiting to be posted, with the attempts made so far."""

    notice: Notice
    attempts: int = 0


class NoticeRepository(Protocol):
    """The notices decided with run events, kept until posted (an outbox)."""

    async def add(self, notices: Sequence[Notice], due_at: datetime) -> None:
        """Store new notices, due at ``due_at``; one whose id is stored is left as it is."""
        ...

    async def claim(self, now: datetime, until: datetime, limit: int) -> list[StoredNotice]:
        """Up to ``limit`` due notices nobody holds, oldest due first, held until ``until``."""
        ...

    async def retry(self, notice_id: str, attempts: int, due_at: datetime, error: str) -> None:
        """Post it again at ``due_at``; ``attempts`` made so far, the last one's ``error``."""
        ...

    async def done(self, notice_id: str, at: datetime, error: str | None = None) -> None:
        """Posted (``error`` None), or given up on with the last error."""
        ...

    async def prune(self, done_before: datetime, limit: int) -> int: ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without ``commit`` rolls everything back."""

    @property
    def workflows(self) -> WorkflowRepository: ...

    @property
    def runs(self) -> RunRepository: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...

    @property
    def schedules(self) -> ScheduleRepository: ...

    @property
    def secrets(self) -> SecretRepository: ...

    @property
    def webhook_deliveries(self) -> WebhookDeliveryRepository: ...

    @property
    def published(self) -> PublishedEventRepository: ...

    @property
    def notices(self) -> NoticeRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
