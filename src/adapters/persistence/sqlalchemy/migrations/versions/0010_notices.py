"""Notices: what notify targets are to be told, kept until posted.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYLOAD = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_OPEN = sa.text("done_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.String(length=300), nullable=False),
        sa.Column("notice", PAYLOAD, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    op.create_index(
        "ix_notices_due_at", "notices", ["due_at"], postgresql_where=_OPEN, sqlite_where=_OPEN
    )
    op.create_index("ix_notices_done_at", "notices", ["done_at"])


def downgrade() -> None:
    op.drop_index("ix_notices_done_at", table_name="notices")
    op.drop_index("ix_notices_due_at", table_name="notices")
    op.drop_table("notices")
