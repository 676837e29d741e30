"""``wfa db upgrade | seed | prune``: the database's schema, example workflows, retention."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Awaitable
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from wfa.adapters.actions.builtin import default_registry
from wfa.adapters.clock import SystemClock
from wfa.adapters.persistence.sqlalchemy import migrate
from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.application.errors import SecretError, WebhookPathTaken
from wfa.application.use_cases.prune_runs import PruneRuns, Retention
from wfa.application.use_cases.secrets import SealPlainWebhookSecrets
from wfa.application.use_cases.workflows import EnsureWorkflow
from wfa.entrypoints.config import Settings, duration
from wfa.entrypoints.definition_files import load_definition_file
from wfa.entrypoints.secret_keys import make_cipher

SEEDS = Path(__file__).parent / "seeds"
SEED_NAMESPACE = uuid.UUID("6f1c1f0e-4b7e-4c55-9a57-5f0f3d0c7a11")


class DatabaseUnavailable(Exception):
    """The database could not be reached or is not migrated: one line for the user."""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="database schema, example workflows and retention")
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    actions.add_parser("upgrade", help="apply every schema migration not applied yet")
    actions.add_parser("seed", help="add the example workflows (running it again adds nothing)")
    prune = actions.add_parser("prune", help="delete finished runs that retention lets go")
    prune.add_argument("--max-age", help="e.g. 30d, 12h (default: WFA_RETENTION_MAX_AGE)")
    prune.add_argument("--max-runs", type=int, help="keep this many newest finished runs")


def run_db_command(args: argparse.Namespace, settings: Settings) -> int:
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    if args.db_command == "upgrade":
        upgraded = upgrade(settings.database_url, shown)
        return asyncio.run(guarded(seal_plain_webhook_secrets(settings), shown)) or upgraded
    require_schema(settings.database_url, shown)
    if args.db_command == "seed":
        return asyncio.run(guarded(seed(settings), shown))
    retention = settings.retention
    if args.max_age is not None or args.max_runs is not None:
        max_age = None if args.max_age is None else duration("--max-age", args.max_age)
        retention = Retention(max_age=max_age, max_runs=args.max_runs)
    return asyncio.run(guarded(prune(settings.database_url, retention), shown))


def upgrade(url: str, shown: str) -> int:
    ensure_sqlite_folder(url)
    print(f"upgrading {shown} ...", flush=True)
    try:
        before = migrate.current(url)
        migrate.upgrade(url)
        after = migrate.current(url)
    except (OperationalError, DBAPIError) as error:
        raise DatabaseUnavailable(
            f"cannot reach the database at {shown}: {_reason(error)}"
        ) from None
    if before == after:
        print(f"already at revision {after}: nothing to do")
    else:
        print(f"upgraded from {before or 'an empty database'} to revision {after}")
    return 0


async def seal_plain_webhook_secrets(settings: Settings) -> int:
    """The data step of the upgrade: webhook secrets stored in plain text get sealed.

    A migration cannot do it (it has no key); this command has the process's key.
    """
    database = Database(settings.database_url)
    try:
        seal = SealPlainWebhookSecrets(
            database.unit_of_work, lambda: make_cipher(settings, warn=False)
        )
        try:
            count = await seal.execute()
        except SecretError as error:
            raise DatabaseUnavailable(
                f"webhook secrets are stored in plain text and cannot be sealed: {error}"
            ) from None
    finally:
        await database.dispose()
    if count:
        print(f"sealed the webhook secrets of {count} workflow version{'s' * (count != 1)}")
    return 0


def require_schema(url: str, shown: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise DatabaseUnavailable(f"{shown} has no schema yet: run 'wfa db upgrade' first")
    try:
        at = migrate.current(url)
    except (OperationalError, DBAPIError) as error:
        reason = _reason(error)
        raise DatabaseUnavailable(f"cannot reach the database at {shown}: {reason}") from None
    if at is None:
        raise DatabaseUnavailable(f"{shown} has no schema yet: run 'wfa db upgrade' first")
    if at != migrate.head():
        raise DatabaseUnavailable(f"{shown} is at revision {at}: run 'wfa db upgrade' first")


async def guarded(work: Awaitable[int], shown: str) -> int:
    """Turn the database's refusals into one line that says what to do."""
    try:
        return await work
    except (ProgrammingError, OperationalError) as error:
        reason = _reason(error)
        if "no such table" in reason or "does not exist" in reason:
            message = f"{shown} has no schema yet: run 'wfa db upgrade' first"
            raise DatabaseUnavailable(message) from None
        raise DatabaseUnavailable(f"cannot use the database at {shown}: {reason}") from None


async def seed(settings: Settings) -> int:
    database = Database(settings.database_url)
    try:
        ensure = EnsureWorkflow(
            database.unit_of_work,
            default_registry(),
            SystemClock(),
            cipher=make_cipher(settings, warn=False),
        )
        for path in sorted(SEEDS.glob("*.yaml")):
            raw = load_definition_file(str(path))
            workflow_id = str(uuid.uuid5(SEED_NAMESPACE, path.stem))
            try:
                workflow, created = await ensure.execute(workflow_id, raw)
            except WebhookPathTaken as error:
                # An example must not take a path from the operator's own workflow.
                print(f"{path.stem:<20} {workflow_id}  skipped: {error}")
                continue
            state = "added" if created else "already there"
            print(f"{workflow.name:<20} {workflow.id}  {state}")
    finally:
        await database.dispose()
    return 0


async def prune(url: str, retention: Retention) -> int:
    if not retention.enabled:
        print("no retention set (WFA_RETENTION_MAX_AGE, WFA_RETENTION_MAX_RUNS): nothing pruned")
        return 0
    database = Database(url)
    try:
        pruned = await PruneRuns(database.unit_of_work, SystemClock()).execute(retention)
    finally:
        await database.dispose()
    print(f"pruned {pruned} finished run{'s' * (pruned != 1)}")
    return 0


def ensure_sqlite_folder(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _reason(error: Exception) -> str:
    original = getattr(error, "orig", None) or error
    return str(original).strip().splitlines()[0] if str(original).strip() else type(error).__name__


def report(error: DatabaseUnavailable) -> int:
    print(f"wfa: {error}", file=sys.stderr)
    return 1
