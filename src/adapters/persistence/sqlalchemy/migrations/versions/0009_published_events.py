"""Events: published events, the workflows their names start, the runs awaiting them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYLOAD = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_AWAITING = sa.text("awaiting_event IS NOT NULL")
_UNHANDLED = sa.text("handled_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("awaiting_event", sa.String(length=128), nullable=True))
    op.create_index(
        "ix_runs_awaiting_event_id",
        "runs",
        ["awaiting_event", "id"],
        postgresql_where=_AWAITING,
        sqlite_where=_AWAITING,
    )
    op.create_table(
        "event_triggers",
        sa.Column("event_name", sa.String(length=128), nullable=False),
        sa.Column("workflow_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_event_triggers_workflow_id_workflows"),
        ),
        sa.PrimaryKeyConstraint("event_name", "workflow_id", name=op.f("pk_event_triggers")),
    )
    op.create_index("ix_event_triggers_workflow_id", "event_triggers", ["workflow_id"])
    op.create_table(
        "published_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("payload", PAYLOAD, nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_events")),
    )
    op.create_index(
        "ix_published_events_received_at",
        "published_events",
        ["received_at"],
        postgresql_where=_UNHANDLED,
        sqlite_where=_UNHANDLED,
    )
    op.create_index("ix_published_events_handled_at", "published_events", ["handled_at"])


def downgrade() -> None:
    op.drop_index("ix_published_events_handled_at", table_name="published_events")
    op.drop_index("ix_published_events_received_at", table_name="published_events")
    op.drop_table("published_events")
    op.drop_index("ix_event_triggers_workflow_id", table_name="event_triggers")
    op.drop_table("event_triggers")
    op.drop_index("ix_runs_awaiting_event_id", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("awaiting_event")
