"""``wfa secret set NAME | list | delete NAME | rotate | keygen``: the secrets steps may use.

A value is read from ``--value``, else from stdin (one trailing newline dropped), else asked
for without echo on a terminal; it is never printed. ``rotate`` seals every secret again with
the first key of WFA_SECRET_KEY; ``keygen`` prints a new key for it.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import datetime

from sqlalchemy.engine import make_url

from wfa.adapters.clock import SystemClock
from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.adapters.secrets.fernet import generate_key
from wfa.application.errors import InvalidSecret, NotFound, SecretError
from wfa.application.use_cases.secrets import DeleteSecret, ListSecrets, RotateSecrets, SetSecret
from wfa.domain.secrets import StoredSecret, secret_name_problem, secret_value_problem
from wfa.entrypoints.cli_db import guarded, require_schema
from wfa.entrypoints.config import Settings
from wfa.entrypoints.secret_keys import make_cipher


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    secret = commands.add_parser("secret", help="set, list, delete and rotate secrets")
    actions = secret.add_subparsers(dest="secret_command", required=True, metavar="ACTION")
    put = actions.add_parser("set", help="create a secret or replace its value")
    put.add_argument("name", type=_name, help="the name steps use: {{ secrets.NAME }}")
    put.add_argument(
        "--value", help="the value (default: read from stdin; visible in ps, prefer stdin)"
    )
    actions.add_parser("list", help="every secret by name, with when it was created and set")
    remove = actions.add_parser("delete", help="delete a secret")
    remove.add_argument("name", type=_name)
    actions.add_parser("rotate", help="seal every secret again with the first WFA_SECRET_KEY key")
    actions.add_parser("keygen", help="print a new key for WFA_SECRET_KEY")


def run_secret_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.secret_command == "keygen":
        print(generate_key())
        return 0
    value = _value(args) if args.secret_command == "set" else None
    problem = None if value is None else secret_value_problem(value)
    if problem is not None:  # before a key file is made for nothing
        print(f"wfa: {problem}", file=sys.stderr)
        return 1
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    require_schema(settings.database_url, shown)
    try:
        return asyncio.run(guarded(_run(args, settings, value), shown))
    except (InvalidSecret, NotFound, SecretError) as error:
        print(f"wfa: {error}", file=sys.stderr)
        return 1


async def _run(args: argparse.Namespace, settings: Settings, value: str | None) -> int:
    database = Database(settings.database_url)
    try:
        uow = database.unit_of_work
        if args.secret_command == "list":
            _print_secrets(await ListSecrets(uow).execute())
        elif args.secret_command == "delete":
            await DeleteSecret(uow).execute(args.name)
            print(f"deleted secret {args.name}")
        elif args.secret_command == "set":
            assert value is not None
            cipher = make_cipher(settings, warn=False)
            _, created = await SetSecret(uow, cipher, SystemClock()).execute(args.name, value)
            print(f"{'created' if created else 'replaced'} secret {args.name}")
        else:
            rotated = await RotateSecrets(uow, make_cipher(settings, warn=False)).execute()
            count, versions = rotated.secrets, rotated.webhook_versions
            print(
                f"sealed {count} secret{'s' * (count != 1)} and the webhook secrets of "
                f"{versions} workflow version{'s' * (versions != 1)} again with the current key"
            )
        return 0
    finally:
        await database.dispose()


def _value(args: argparse.Namespace) -> str:
    if args.value is not None:
        value: str = args.value
        return value
    if sys.stdin.isatty():
        return getpass.getpass(f"value of {args.name} (not shown): ")
    text = sys.stdin.read()
    return text.removesuffix("\n").removesuffix("\r")


def _print_secrets(secrets: list[StoredSecret]) -> None:
    if not secrets:
        print("no secrets yet: set one with 'wfa secret set NAME'")
        return
    rows = [("NAME", "CREATED", "UPDATED")]
    rows += [(s.name, _time(s.created_at), _time(s.updated_at)) for s in secrets]
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    for row in rows:
        print(f"{row[0].ljust(widths[0])}  {row[1].ljust(widths[1])}  {row[2]}")


def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _name(value: str) -> str:
    problem = secret_name_problem(value)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return value
