"""Schedules: one row per schedule trigger of a live workflow, with its next fire.

Workflows stored before this revision get rows for their latest version's schedule
triggers, due at their next fire after the upgrade: fires before it were never run, and
running them now would surprise more than it helps.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from wfa.domain.cron import CronError, FireTimes

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64)


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("workflow_id", ID, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("cron", sa.String(length=120), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("overlap", sa.String(length=16), nullable=False),
        _time("next_fire_at"),
        _time("last_fire_at", nullable=True),
        sa.Column("last_run_id", ID, nullable=True),
        _time("buffered_fire_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["workflow_id"], ["workflows.id"], name=op.f("fk_schedules_workflow_id_workflows")
        ),
        sa.PrimaryKeyConstraint("workflow_id", "key", name=op.f("pk_schedules")),
    )
    op.create_index("ix_schedules_next_fire_at", "schedules", ["next_fire_at"])
    op.create_index(
        "ix_schedules_buffered_fire_at",
        "schedules",
        ["buffered_fire_at"],
        postgresql_where=sa.text("buffered_fire_at IS NOT NULL"),
        sqlite_where=sa.text("buffered_fire_at IS NOT NULL"),
    )
    _schedule_existing_workflows()


def _schedule_existing_workflows() -> None:
    workflows = sa.table(
        "workflows",
        sa.column("id", ID),
        sa.column("latest_version", sa.Integer()),
        sa.column("deleted_at", sa.DateTime()),
    )
    versions = sa.table(
        "workflow_versions",
        sa.column("workflow_id", ID),
        sa.column("version", sa.Integer()),
        sa.column("definition", sa.JSON()),
    )
    latest = (
        sa.select(workflows.c.id, versions.c.definition)
        .join(
            versions,
            sa.and_(
                versions.c.workflow_id == workflows.c.id,
                versions.c.version == workflows.c.latest_version,
            ),
        )
        .where(workflows.c.deleted_at.is_(None))
    )
    now = datetime.now(UTC)
    bind = op.get_bind()
    rows = []
    for workflow_id, definition in bind.execute(latest):
        for trigger in _schedule_triggers(definition):
            row = _row(workflow_id, trigger, now)
            if row is not None:
                if bind.dialect.name == "sqlite":  # stored as naive UTC, as the app does
                    row["next_fire_at"] = row["next_fire_at"].replace(tzinfo=None)
                rows.append(row)
    if rows:
        op.bulk_insert(_schedules_table(), rows)


def _schedule_triggers(definition: Any) -> list[dict[str, Any]]:
    triggers = definition.get("triggers", []) if isinstance(definition, dict) else []
    return [t for t in triggers if isinstance(t, dict) and t.get("type") == "schedule"]


def _row(workflow_id: str, trigger: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    cron, zone = str(trigger.get("cron", "")).strip(), str(trigger.get("timezone", "UTC"))
    try:
        next_fire = FireTimes(cron, zone).next_after(now)
    except CronError:
        return None  # refused by today's validation; the workflow's next update says why
    return {
        "workflow_id": workflow_id,
        "key": f"{cron}|{zone}",
        "cron": cron,
        "timezone": zone,
        "overlap": trigger.get("overlap", "skip"),
        "next_fire_at": next_fire,
    }


def _schedules_table() -> sa.TableClause:
    return sa.table(
        "schedules",
        sa.column("workflow_id", ID),
        sa.column("key", sa.String()),
        sa.column("cron", sa.String()),
        sa.column("timezone", sa.String()),
        sa.column("overlap", sa.String()),
        sa.column("next_fire_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_index("ix_schedules_buffered_fire_at", table_name="schedules")
    op.drop_index("ix_schedules_next_fire_at", table_name="schedules")
    op.drop_table("schedules")
