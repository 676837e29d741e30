"""The schema, as SQLAlchemy Core tables. Alembic migrations must match it (a test checks).

Runs keep their whole state as one JSON document (JSONB on PostgreSQL) beside the few
columns the hot queries need: status and times for listing, ``wake_at`` for due timers,
``seq`` for optimistic concurrency. History events are rows of their own, keyed by
``(run_id, seq)``, so history is append-only by construction.

Webhook routes map a path to the one workflow that owns it: the primary key on ``path`` is
what settles two workflows claiming one path at once. API keys are kept as hashes only,
secrets as ciphertext only; webhook deliveries as digests, until they expire.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Payload = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite keeps no zone, so it is stored as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ID = String(64)

workflows = Table(
    "workflows",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("deleted_at", UtcDateTime(), nullable=True),
)

workflow_versions = Table(
    "workflow_versions",
    metadata,
    Column("workflow_id", ID, ForeignKey("workflows.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("definition", Payload, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

LISTING_INDEXES = {
    "ix_runs_created_at_id": ("created_at", "id"),
    "ix_runs_workflow_id_created_at_id": ("workflow_id", "created_at", "id"),
    "ix_runs_status_created_at_id": ("status", "created_at", "id"),
}
_LISTED = text("scope IS NULL")

runs = Table(
    "runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workflow_id", ID, nullable=False),
    Column("workflow_version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("wake_at", UtcDateTime(), nullable=True),
    Column("idempotency_key", String(255), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("state", Payload, nullable=False),
    # A child run's place: which attempt of which step of which run started it, at which
    # index. ``scope`` is set for branches and iterations (a part of the parent's workflow).
    Column("parent_run_id", ID, nullable=True),
    Column("parent_step", String(128), nullable=True),
    Column("parent_attempt", Integer, nullable=True),
    Column("child_index", Integer, nullable=True),
    Column("scope", String(1024), nullable=True),
    # The event an await step of the run waits for now: what a published event is offered to.
    Column("awaiting_event", String(128), nullable=True),
    UniqueConstraint("workflow_id", "idempotency_key"),
    Index(
        "ix_runs_parent_run_id_parent_step_parent_attempt_child_index",
        "parent_run_id",
        "parent_step",
        "parent_attempt",
        "child_index",
        postgresql_where=text("parent_run_id IS NOT NULL"),
        sqlite_where=text("parent_run_id IS NOT NULL"),
    ),
    Index(
        "ix_runs_awaiting_event_id",
        "awaiting_event",
        "id",
        postgresql_where=text("awaiting_event IS NOT NULL"),
        sqlite_where=text("awaiting_event IS NOT NULL"),
    ),
    Index(
        "ix_runs_wake_at",
        "wake_at",
        postgresql_where=text("wake_at IS NOT NULL"),
        sqlite_where=text("wake_at IS NOT NULL"),
    ),
    # Newest-first paging of the runs a list shows: branches and iterations are left out
    # (their parent lists them), so a map's thousands of them cost a list nothing.
    *(
        Index(name, *columns, postgresql_where=_LISTED, sqlite_where=_LISTED)
        for name, columns in LISTING_INDEXES.items()
    ),
    Index(
        "ix_runs_finished_at",
        "finished_at",
        postgresql_where=text("finished_at IS NOT NULL"),
        sqlite_where=text("finished_at IS NOT NULL"),
    ),
)

run_events = Table(
    "run_events",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("type", String(40), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("step_id", String(128), nullable=True),
    Column("attempt", Integer, nullable=True),
    Column("data", Payload, nullable=False),
    # A signal's idempotency key: the same key is received once per run.
    Column("signal_key", String(255), nullable=True),
    Index(
        "uq_run_events_run_id_signal_key",
        "run_id",
        "signal_key",
        unique=True,
        postgresql_where=text("signal_key IS NOT NULL"),
        sqlite_where=text("signal_key IS NOT NULL"),
    ),
    # One attempt per (run, step, attempt number), whatever races happen above.
    Index(
        "uq_run_events_scheduled_attempt",
        "run_id",
        "step_id",
        "attempt",
        unique=True,
        postgresql_where=text("type = 'step.scheduled'"),
        sqlite_where=text("type = 'step.scheduled'"),
    ),
)

webhook_routes = Table(
    "webhook_routes",
    metadata,
    Column("path", String(200), primary_key=True),
    Column("workflow_id", ID, ForeignKey("workflows.id"), nullable=False),
    Index("ix_webhook_routes_workflow_id", "workflow_id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    # Keys stored before scopes existed keep the power they had (migration 0005).
    Column("scope", String(16), nullable=False, server_default="admin"),
    UniqueConstraint("key_hash"),
)

# The schedule triggers of live workflows, one row per (workflow, cron and zone), with the
# next fire; the scheduler locks due rows, so one fire is weighed by one scheduler.
schedules = Table(
    "schedules",
    metadata,
    Column("workflow_id", ID, ForeignKey("workflows.id"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("cron", String(120), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("overlap", String(16), nullable=False),
    Column("next_fire_at", UtcDateTime(), nullable=False),
    Column("last_fire_at", UtcDateTime(), nullable=True),
    Column("last_run_id", ID, nullable=True),
    Column("buffered_fire_at", UtcDateTime(), nullable=True),
    Index("ix_schedules_next_fire_at", "next_fire_at"),
    Index(
        "ix_schedules_buffered_fire_at",
        "buffered_fire_at",
        postgresql_where=text("buffered_fire_at IS NOT NULL"),
        sqlite_where=text("buffered_fire_at IS NOT NULL"),
    ),
)

# Secrets by name, each value encrypted by the secrets adapter (the database never sees one
# in clear); the name is sealed with the value, so a ciphertext moved to another row fails.
secrets = Table(
    "secrets",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("ciphertext", LargeBinary(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# Signed webhook deliveries seen lately (digests, never a signature), each kept until a
# repeat could no longer pass its time window. The primary key is what refuses a replay,
# also when two processes receive the same request at once.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("claim", String(64), primary_key=True),
    Column("remember_until", UtcDateTime(), nullable=False),
    Index("ix_webhook_deliveries_remember_until", "remember_until"),
)

# The event triggers of live workflows: which workflows a published event of a name starts.
event_triggers = Table(
    "event_triggers",
    metadata,
    Column("event_name", String(128), primary_key=True),
    Column("workflow_id", ID, ForeignKey("workflows.id"), primary_key=True),
    Index("ix_event_triggers_workflow_id", "workflow_id"),
)

# Events published through the API, kept until handled (and a while after, so that one
# published again with its id is known): a handler claims a batch for a while, starts the
# runs its triggers name, offers it to the runs awaiting it, and marks it handled.
published_events = Table(
    "published_events",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("payload", Payload, nullable=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("claimed_until", UtcDateTime(), nullable=True),
    Column("handled_at", UtcDateTime(), nullable=True),
    Index(
        "ix_published_events_received_at",
        "received_at",
        postgresql_where=text("handled_at IS NULL"),
        sqlite_where=text("handled_at IS NULL"),
    ),
    Index("ix_published_events_handled_at", "handled_at"),
)

# Notices to post (an outbox): stored with the run event they report, posted after.
notices = Table(
    "notices",
    metadata,
    Column("id", String(300), primary_key=True),
    Column("notice", Payload, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("held_until", UtcDateTime(), nullable=True),
    Column("done_at", UtcDateTime(), nullable=True),
    Column("last_error", String(1000), nullable=True),
    Index(
        "ix_notices_due_at",
        "due_at",
        postgresql_where=text("done_at IS NULL"),
        sqlite_where=text("done_at IS NULL"),
    ),
    Index("ix_notices_done_at", "done_at"),
)
