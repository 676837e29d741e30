"""Workflows, runs and API keys in process memory, with the transaction rules of a database.

Writes are staged in the unit of work and applied at commit, all or nothing; a save whose
run changed since it was read raises ConcurrencyConflict, a taken idempotency key raises
DuplicateRun, a webhook path another workflow owns raises WebhookPathTaken, and a stored key
hash raises DuplicateApiKey, as the SQL adapters do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

import msgspec

from wfa.adapters.persistence.memory_api_keys import MemoryApiKeys, check_new_keys
from wfa.adapters.persistence.memory_events import Held, MemoryPublishedEvents
from wfa.adapters.persistence.memory_notices import MemoryNotices, Outgoing
from wfa.adapters.persistence.memory_schedules import MemorySchedules, ScheduleKey
from wfa.adapters.persistence.memory_secrets import MemorySecrets
from wfa.adapters.persistence.memory_staging import apply_staged
from wfa.adapters.persistence.memory_webhooks import (
    MemoryWebhookDeliveries,
    apply_claims,
    check_claims,
    routes_after,
)
from wfa.application.errors import ConcurrencyConflict, DuplicateRun
from wfa.application.paging import decode_cursor, encode_cursor
from wfa.application.ports.repositories import RunFilter, RunPage
from wfa.domain.api_keys import ApiKey
from wfa.domain.definition import WebhookTrigger
from wfa.domain.events import Event, SignalReceived
from wfa.domain.run import Run
from wfa.domain.schedule import Schedule
from wfa.domain.secrets import StoredSecret
from wfa.domain.workflow import Workflow


class MemoryStore:
    """What the memory adapter keeps, shared by every unit of work made from it."""

    def __init__(self) -> None:
        self.workflows: dict[str, list[Workflow]] = {}
        self.deleted: set[str] = set()
        self.runs: dict[str, Run] = {}
        self.history: dict[str, list[Event]] = {}
        # Child run ids by (parent run, step, attempt), in index order: what a join reads.
        self.children: dict[tuple[str, str, int], list[str]] = {}
        self.keys: dict[tuple[str, str], str] = {}
        self.routes: dict[str, str] = {}  # webhook path -> workflow id
        self.api_keys: dict[str, ApiKey] = {}
        self.schedules: dict[ScheduleKey, Schedule] = {}
        self.secrets: dict[str, StoredSecret] = {}
        self.webhook_deliveries: dict[str, datetime] = {}  # claim -> remembered until
        self.published: dict[str, Held] = {}  # event id -> the event and who holds it
        self.notices: dict[str, Outgoing] = {}  # notice id -> the notice and its posting
        self.commits = 0  # transactions committed, for tests of the engine's write path

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)


class _Pending(msgspec.Struct):
    workflows: list[Workflow] = []
    deletions: set[str] = set()
    runs: dict[str, tuple[Run, list[Event], int | None]] = {}
    deleted_runs: set[str] = set()
    api_keys: dict[str, ApiKey] = {}
    schedules: dict[ScheduleKey, Schedule | None] = {}
    secrets: dict[str, StoredSecret | None] = {}
    replaced: list[Workflow] = []  # versions whose definition is stored anew
    claims: dict[str, tuple[datetime, datetime]] = {}  # claim -> (until, claimed at)
    published: dict[str, Held | None] = {}
    notices: dict[str, Outgoing | None] = {}


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._pending = _Pending()
        self.workflows = MemoryWorkflows(store, self._pending)
        self.runs = MemoryRuns(store, self._pending)
        self.api_keys = MemoryApiKeys(store.api_keys, self._pending.api_keys)
        self.schedules = MemorySchedules(store.schedules, self._pending.schedules)
        self.secrets = MemorySecrets(store.secrets, self._pending.secrets)
        self.webhook_deliveries = MemoryWebhookDeliveries(
            store.webhook_deliveries, self._pending.claims
        )
        self.published = MemoryPublishedEvents(store.published, self._pending.published)
        self.notices = MemoryNotices(store.notices, self._pending.notices)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._restage()

    def _restage(self) -> None:
        self._pending = _Pending()
        self.workflows.pending = self.runs.pending = self._pending
        self.api_keys.staged = self._pending.api_keys
        self.schedules.staged = self._pending.schedules
        self.secrets.staged = self._pending.secrets
        self.webhook_deliveries.staged = self._pending.claims
        self.published.staged = self._pending.published
        self.notices.staged = self._pending.notices

    async def commit(self) -> None:
        """Check every staged write, then apply them all; nothing awaits in between."""
        store, pending = self._store, self._pending
        for run, _, expected in pending.runs.values():
            _check(store, run, expected)
        routes = routes_after(store.routes, pending.workflows, pending.deletions)
        check_new_keys(store.api_keys, pending.api_keys)
        check_claims(store.webhook_deliveries, pending.claims)
        store.routes = routes
        store.api_keys.update(pending.api_keys)
        apply_staged(store.schedules, pending.schedules)
        apply_staged(store.secrets, pending.secrets)
        apply_claims(store.webhook_deliveries, pending.claims)
        apply_staged(store.published, pending.published)
        apply_staged(store.notices, pending.notices)
        for workflow in pending.replaced:
            versions = store.workflows[workflow.id]
            versions[:] = [workflow if w.version == workflow.version else w for w in versions]
        for workflow in pending.workflows:
            store.workflows.setdefault(workflow.id, []).append(workflow)
            store.deleted.discard(workflow.id)
        store.deleted |= pending.deletions
        for run, events, expected in pending.runs.values():
            store.runs[run.id] = run
            store.history.setdefault(run.id, []).extend(events)
            key = _family_key(run)
            if expected is None and key is not None:
                store.children.setdefault(key, []).append(run.id)
            if run.idempotency_key is not None:
                store.keys[(run.workflow_id, run.idempotency_key)] = run.id
        for key in [key for key in store.children if key[0] in pending.deleted_runs]:
            del store.children[key]
        for run_id in pending.deleted_runs:
            gone = store.runs.pop(run_id, None)
            store.history.pop(run_id, None)
            if gone is not None and gone.idempotency_key is not None:
                store.keys.pop((gone.workflow_id, gone.idempotency_key), None)
        store.commits += 1
        self._restage()


def _check(store: MemoryStore, run: Run, expected: int | None) -> None:
    stored = store.runs.get(run.id)
    if expected is None:
        key = run.idempotency_key
        if key is not None and (run.workflow_id, key) in store.keys:
            raise DuplicateRun(run.workflow_id, key)
        if stored is not None:
            raise ConcurrencyConflict(run.id, 0)
    elif stored is None or stored.seq != expected:
        raise ConcurrencyConflict(run.id, expected)


class MemoryWorkflows:
    def __init__(self, store: MemoryStore, pending: _Pending) -> None:
        self._store, self.pending = store, pending

    async def add(self, workflow: Workflow) -> None:
        # Refuse a taken webhook path now, as SQL does; commit checks again against the store.
        routes_after(
            self._store.routes, [*self.pending.workflows, workflow], self.pending.deletions
        )
        self.pending.workflows.append(workflow)

    async def get(self, workflow_id: str, version: int | None = None) -> Workflow | None:
        versions = self._store.workflows.get(workflow_id, []) + [
            w for w in self.pending.workflows if w.id == workflow_id
        ]
        if version is not None:
            return next((w for w in versions if w.version == version), None)
        if not versions or workflow_id in self._store.deleted | self.pending.deletions:
            return None
        return max(versions, key=lambda w: w.version)

    async def latest(self, limit: int, after: str | None = None) -> list[Workflow]:
        ids = sorted(set(self._store.workflows) | {w.id for w in self.pending.workflows})
        found = []
        for workflow_id in ids:
            if after is not None and workflow_id <= after:
                continue
            workflow = await self.get(workflow_id)
            if workflow is not None:
                found.append(workflow)
            if len(found) == limit:
                break
        return found

    async def delete(self, workflow_id: str) -> bool:
        if await self.get(workflow_id) is None:
            return False
        self.pending.deletions.add(workflow_id)
        return True

    async def by_webhook(self, path: str) -> Workflow | None:
        pending = self.pending
        routes = routes_after(
            self._store.routes, pending.workflows, pending.deletions, strict=False
        )
        owner = routes.get(path)
        return None if owner is None else await self.get(owner)

    async def by_name(self, name: str, limit: int) -> list[Workflow]:
        ids = sorted(set(self._store.workflows) | {w.id for w in self.pending.workflows})
        found = [workflow for i in ids if (workflow := await self.get(i)) is not None]
        return [workflow for workflow in found if workflow.name == name][:limit]

    async def by_event(self, name: str) -> list[Workflow]:
        ids = sorted(set(self._store.workflows) | {w.id for w in self.pending.workflows})
        found = [workflow for i in ids if (workflow := await self.get(i)) is not None]
        return [workflow for workflow in found if name in workflow.event_names]

    async def with_webhook_secrets(self) -> list[Workflow]:
        return [
            workflow
            for workflow_id in sorted(self._store.workflows)
            for workflow in self._store.workflows[workflow_id]
            if any(isinstance(t, WebhookTrigger) and t.secret for t in workflow.definition.triggers)
        ]

    async def replace_definition(self, workflow: Workflow) -> None:
        self.pending.replaced.append(workflow)


class MemoryRuns:
    def __init__(self, store: MemoryStore, pending: _Pending) -> None:
        self._store, self.pending = store, pending

    async def add(self, run: Run, events: Sequence[Event]) -> None:
        _check(self._store, run, None)
        self.pending.runs[run.id] = (run, list(events), None)

    async def add_many(self, created: Sequence[tuple[Run, Sequence[Event]]]) -> None:
        for run, events in created:
            await self.add(run, events)

    async def get(self, run_id: str, *, for_update: bool = False) -> Run | None:
        # One process, no awaits between a read and its commit: there is nothing to lock.
        if run_id in self.pending.deleted_runs:
            return None
        staged = self.pending.runs.get(run_id)
        return staged[0] if staged is not None else self._store.runs.get(run_id)

    async def children(
        self,
        run_id: str,
        step_id: str,
        attempt: int,
        after_index: int = -1,
        limit: int | None = None,
    ) -> list[Run]:
        stored = self._store.children.get((run_id, step_id, attempt), [])
        staged = [
            run.id
            for run, _, expected in self.pending.runs.values()
            if expected is None and _family_key(run) == (run_id, step_id, attempt)
        ]
        found = [await self.get(child_id) for child_id in [*stored, *staged]]
        children = sorted(
            (run for run in found if run is not None and _index(run) > after_index), key=_index
        )
        return children if limit is None else children[:limit]

    async def save(self, run: Run, events: Sequence[Event], expected_seq: int) -> None:
        staged = self.pending.runs.get(run.id)
        if staged is not None:  # saved before in this transaction: one write, as SQL sees it
            earlier, earlier_events, first_expected = staged
            if earlier.seq != expected_seq:
                raise ConcurrencyConflict(run.id, expected_seq)
            self.pending.runs[run.id] = (run, earlier_events + list(events), first_expected)
            return
        _check(self._store, run, expected_seq)
        self.pending.runs[run.id] = (run, list(events), expected_seq)

    async def by_idempotency_key(self, workflow_id: str, key: str) -> Run | None:
        run_id = self._store.keys.get((workflow_id, key))
        return None if run_id is None else self._store.runs.get(run_id)

    async def awaiting(self, event_name: str, after_id: str | None, limit: int) -> list[Run]:
        found = sorted(
            (
                run
                for run in self._store.runs.values()
                if run.awaiting_event == event_name and (after_id is None or run.id > after_id)
            ),
            key=lambda run: run.id,
        )
        return found[:limit]

    async def signal_by_key(self, run_id: str, key: str) -> SignalReceived | None:
        for event in self._store.history.get(run_id, []):
            if isinstance(event, SignalReceived) and event.key == key:
                return event
        return None

    async def history(
        self, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Event]:
        if run_id in self.pending.deleted_runs:
            return []
        found = [e for e in self._store.history.get(run_id, []) if e.seq > after_seq]
        return found if limit is None else found[:limit]

    async def page(self, where: RunFilter, limit: int, cursor: str | None = None) -> RunPage:
        listed = (run for run in self._store.runs.values() if run.scope is None)
        runs = sorted(listed, key=_order, reverse=True)
        if cursor is not None:
            last = decode_cursor(cursor)
            runs = [run for run in runs if _order(run) < last]
        matching = [run for run in runs if _matches(run, where)]
        page = matching[:limit]
        more = len(matching) > limit
        return RunPage(runs=page, next_cursor=encode_cursor(_order(page[-1])) if more else None)

    async def prune(self, finished_before: datetime | None, keep: int | None, limit: int) -> int:
        finished = [
            run
            for run in self._store.runs.values()
            if run.status.is_terminal
            and _family_key(run) is None
            and run.id not in self.pending.deleted_runs
        ]
        finished.sort(key=lambda run: (run.updated_at, run.id), reverse=True)
        candidates = finished[keep:] if keep is not None else finished
        if finished_before is not None:
            candidates = [run for run in candidates if run.updated_at < finished_before]
        gone = candidates[:limit]
        level = {run.id for run in gone}
        while level:  # each run goes with every run under it
            self.pending.deleted_runs.update(level)
            level = {
                child_id
                for (parent_id, _, _), ids in self._store.children.items()
                if parent_id in level
                for child_id in ids
            }
        return len(gone)

    async def due(self, now: datetime, limit: int) -> list[str]:
        due = [run for run in self._store.runs.values() if run.wake_at and run.wake_at <= now]
        due.sort(key=lambda run: (run.wake_at, run.id))
        return [run.id for run in due[:limit]]

    async def next_wake(self, after: datetime) -> datetime | None:
        later = [
            run.wake_at for run in self._store.runs.values() if run.wake_at and run.wake_at > after
        ]
        return min(later, default=None)


def _family_key(run: Run) -> tuple[str, str, int] | None:
    """The (parent run, step, attempt) whose children a run is among; None for a run nobody
    waits on (a root, or a sub-workflow started with wait: false), as the SQL columns say."""
    link = run.parent
    if link is None or not link.wait:
        return None
    return (link.run_id, link.step_id, link.attempt)


def _index(run: Run) -> int:
    return run.parent.index if run.parent is not None else 0


def _order(run: Run) -> tuple[str, str]:
    return (run.created_at.isoformat(), run.id)


def _matches(run: Run, where: RunFilter) -> bool:
    if where.workflow_id is not None and run.workflow_id != where.workflow_id:
        return False
    if where.created_after is not None and run.created_at < where.created_after:
        return False
    if where.created_before is not None and run.created_at >= where.created_before:
        return False
    return where.status is None or run.status == where.status
