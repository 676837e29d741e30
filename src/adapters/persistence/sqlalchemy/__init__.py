"""Workflows and runs in PostgreSQL (psycopg 3) or SQLite (aiosqlite), one code path for both."""
