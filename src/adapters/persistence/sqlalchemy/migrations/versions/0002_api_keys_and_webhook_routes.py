"""API keys (hashes only) and webhook routes (path -> the workflow that owns it).

Workflows stored before this revision get their routes from their latest version's webhook
triggers. Where two live workflows list one path, the older workflow keeps it: until now
nothing refused the second, and the schema cannot hold both.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64)


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        _time("created_at"),
        _time("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "webhook_routes",
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("workflow_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_webhook_routes_workflow_id_workflows"),
        ),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_webhook_routes")),
    )
    op.create_index("ix_webhook_routes_workflow_id", "webhook_routes", ["workflow_id"])
    _route_existing_workflows()


def _route_existing_workflows() -> None:
    workflows = sa.table(
        "workflows",
        sa.column("id", ID),
        sa.column("latest_version", sa.Integer()),
        sa.column("created_at", sa.DateTime()),
        sa.column("deleted_at", sa.DateTime()),
    )
    versions = sa.table(
        "workflow_versions",
        sa.column("workflow_id", ID),
        sa.column("version", sa.Integer()),
        sa.column("definition", sa.JSON()),
    )
    routes = sa.table("webhook_routes", sa.column("path"), sa.column("workflow_id"))
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
        .order_by(workflows.c.created_at, workflows.c.id)
    )
    owners: dict[str, str] = {}
    for workflow_id, definition in op.get_bind().execute(latest):
        for path in _webhook_paths(definition):
            owners.setdefault(path, workflow_id)
    if owners:
        rows = [{"path": path, "workflow_id": owner} for path, owner in owners.items()]
        op.bulk_insert(routes, rows)


def _webhook_paths(definition: Any) -> list[str]:
    # The stored form of a definition's triggers: [{"type": "webhook", "path": ...}, ...].
    triggers = definition.get("triggers", []) if isinstance(definition, dict) else []
    return [
        t["path"]
        for t in triggers
        if isinstance(t, dict) and t.get("type") == "webhook" and isinstance(t.get("path"), str)
    ]


def downgrade() -> None:
    op.drop_table("webhook_routes")
    op.drop_table("api_keys")
