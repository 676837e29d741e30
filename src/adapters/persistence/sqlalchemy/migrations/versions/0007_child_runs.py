"""Child runs: branches, iterations and sub-workflows know the step that started them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_runs_parent_run_id_parent_step_parent_attempt_child_index"
# The newest-first listing indexes cover only the runs a list shows (not branches and
# iterations), so a map's thousands of children are never scanned to page through runs.
_LISTING = {
    "ix_runs_created_at_id": ["created_at", "id"],
    "ix_runs_workflow_id_created_at_id": ["workflow_id", "created_at", "id"],
    "ix_runs_status_created_at_id": ["status", "created_at", "id"],
}


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("parent_run_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("parent_step", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("parent_attempt", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("child_index", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("scope", sa.String(length=1024), nullable=True))
    op.create_index(
        _INDEX,
        "runs",
        ["parent_run_id", "parent_step", "parent_attempt", "child_index"],
        postgresql_where=sa.text("parent_run_id IS NOT NULL"),
        sqlite_where=sa.text("parent_run_id IS NOT NULL"),
    )
    listed = sa.text("scope IS NULL")
    for name, columns in _LISTING.items():
        op.drop_index(name, table_name="runs")
        op.create_index(name, "runs", columns, postgresql_where=listed, sqlite_where=listed)


def downgrade() -> None:
    for name, columns in _LISTING.items():
        op.drop_index(name, table_name="runs")
        op.create_index(name, "runs", columns)
    op.drop_index(_INDEX, table_name="runs")
    with op.batch_alter_table("runs") as batch:
        for column in ("scope", "child_index", "parent_attempt", "parent_step", "parent_run_id"):
            batch.drop_column(column)
