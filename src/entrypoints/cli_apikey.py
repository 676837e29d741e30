"""``wfa apikey create NAME [--scope S] | list | revoke ID``: the keys that open the HTTP API.

A new key is ``operator`` unless ``--scope`` says otherwise: enough to apply workflows and
run them, not to read secrets' names or manage keys (see docs/api-keys.md).

A new key goes to stdout alone (``KEY=$(wfa apikey create ci)`` captures it); what to do
with it goes to stderr. Only the key's hash is stored, so it cannot be shown again.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime

from sqlalchemy.engine import make_url

from wfa.adapters.clock import SystemClock, SystemEntropy
from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.application.errors import NotFound
from wfa.application.use_cases.api_keys import (
    DEFAULT_SCOPE,
    CreateApiKey,
    ListApiKeys,
    RevokeApiKey,
)
from wfa.domain.api_keys import ApiKey, Scope
from wfa.entrypoints.cli_db import guarded, require_schema
from wfa.entrypoints.config import Settings

MAX_NAME_LENGTH = 200  # api_keys.name


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    apikey = commands.add_parser("apikey", help="create, list and revoke API keys")
    actions = apikey.add_subparsers(dest="apikey_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key and show it once")
    create.add_argument("name", type=_name, help="what the key is for, e.g. ci or grafana")
    create.add_argument(
        "--scope",
        choices=[scope.value for scope in Scope],
        default=DEFAULT_SCOPE.value,
        help=f"what the key may do (default: {DEFAULT_SCOPE.value})",
    )
    actions.add_parser("list", help="every key: id, name, scope, prefix, created, revoked")
    revoke = actions.add_parser("revoke", help="revoke a key for good")
    revoke.add_argument("id", help="the key's id, as 'wfa apikey list' shows it")


def run_apikey_command(args: argparse.Namespace, settings: Settings) -> int:
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    require_schema(settings.database_url, shown)
    return asyncio.run(guarded(_run(args, settings.database_url), shown))


async def _run(args: argparse.Namespace, url: str) -> int:
    database = Database(url)
    try:
        uow, clock = database.unit_of_work, SystemClock()
        if args.apikey_command == "create":
            create = CreateApiKey(uow, clock, SystemEntropy())
            key, plaintext = await create.execute(args.name, Scope(args.scope))
            _show_new_key(key, plaintext)
            return 0
        if args.apikey_command == "list":
            _print_keys(await ListApiKeys(uow).execute())
            return 0
        try:
            key = await RevokeApiKey(uow, clock).execute(args.id)
        except NotFound as error:
            print(f"wfa: {error}", file=sys.stderr)
            return 1
        print(f"revoked API key {key.id} ({key.name}, {key.prefix}…) at {_time(key.revoked_at)}")
        return 0
    finally:
        await database.dispose()


def _show_new_key(key: ApiKey, plaintext: str) -> None:
    print(f"created {key.scope} API key {key.id} ({key.name}):", file=sys.stderr)
    print(plaintext, flush=True)
    print(
        "This key will not be shown again: store it now (only its hash is kept).",
        file=sys.stderr,
    )


def _print_keys(keys: list[ApiKey]) -> None:
    if not keys:
        print("no API keys yet: create one with 'wfa apikey create NAME'")
        return
    rows = [("ID", "NAME", "SCOPE", "PREFIX", "CREATED", "REVOKED")]
    rows += [
        (k.id, k.name, k.scope.value, k.prefix, _time(k.created_at), _time(k.revoked_at))
        for k in keys
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[5]]).rstrip())


def _time(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise argparse.ArgumentTypeError(f"a key name has 1 to {MAX_NAME_LENGTH} characters")
    return name
