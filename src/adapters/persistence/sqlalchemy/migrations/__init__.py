"""Alembic migrations of the wfa schema."""
