"""Webhook deliveries: the signed requests seen lately, so that a replay is refused.

Webhook secrets stored in plain text by earlier versions are sealed by the data step that
``wfa db upgrade`` (and ``wfa serve``) run after the migrations: a migration has no key.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("claim", sa.String(length=64), nullable=False),
        sa.Column("remember_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("claim", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_remember_until"),
        "webhook_deliveries",
        ["remember_until"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_webhook_deliveries_remember_until"), table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
