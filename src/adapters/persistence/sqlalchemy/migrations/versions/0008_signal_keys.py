"""Signal idempotency keys: a received signal's key in its own indexed column.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYED = sa.text("signal_key IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("run_events") as batch:
        batch.add_column(sa.Column("signal_key", sa.String(length=255), nullable=True))
    op.create_index(
        "uq_run_events_run_id_signal_key",
        "run_events",
        ["run_id", "signal_key"],
        unique=True,
        postgresql_where=_KEYED,
        sqlite_where=_KEYED,
    )


def downgrade() -> None:
    op.drop_index("uq_run_events_run_id_signal_key", table_name="run_events")
    with op.batch_alter_table("run_events") as batch:
        batch.drop_column("signal_key")
