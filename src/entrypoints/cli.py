"""The ``wfa`` command line. Errors are one line on stderr and a non-zero exit.

Exit codes: 0 done, 1 the definition is invalid or the run did not succeed, 2 bad usage or
unreadable input.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

import msgspec
from sqlalchemy.engine import make_url

from wfa import __version__
from wfa.adapters.actions.builtin import default_registry
from wfa.adapters.actions.http import HttpRequest, HttpSettings
from wfa.adapters.clock import FakeClock, SystemClock
from wfa.adapters.observability.logging import configure_logging
from wfa.application.errors import InvalidRequest, InvalidSecret
from wfa.application.payloads import NotJson, PayloadTooDeep, PayloadTooLarge, UnstorableText
from wfa.domain.errors import InvalidDefinition, InvalidPayload
from wfa.domain.run import RunStatus
from wfa.domain.validation import parse_definition
from wfa.entrypoints import (
    cli_apikey,
    cli_apply,
    cli_db,
    cli_runs,
    cli_secret,
    cli_workflows,
)
from wfa.entrypoints.config import ConfigError, definition_limits, engine_settings, load_settings
from wfa.entrypoints.definition_files import (
    DefinitionFileError,
    load_definition_file,
    parse_answers,
    parse_input,
    parse_secrets,
)
from wfa.entrypoints.local import Answers, LocalEngine, RunStuck
from wfa.entrypoints.settings_catalogue import options_are_settings, settings_help
from wfa.entrypoints.timeline_view import render_run

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wfa", description="wfa: durable workflow automation")
    parser.add_argument("--version", action="version", version=f"wfa {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    validate = commands.add_parser("validate", help="check a definition and list every problem")
    validate.add_argument("file", help="definition file (.json, .yaml or .yml)")
    run = commands.add_parser("run", help="run a definition once, in memory, and show its timeline")
    run.add_argument("file", help="definition file (.json, .yaml or .yml)")
    run.add_argument("--input", help="the run input as JSON", default=None)
    run.add_argument(
        "--virtual-time",
        action="store_true",
        help="skip waits and retry backoffs on a virtual clock instead of sleeping through them",
    )
    run.add_argument("--json", action="store_true", help="print the finished run as JSON")
    run.add_argument(
        "--signal",
        action="append",
        metavar="NAME=JSON",
        help="a signal handed to the run when it awaits NAME (repeatable; in order)",
    )
    run.add_argument(
        "--secret",
        action="append",
        metavar="NAME=VALUE",
        help="a secret the run may use as {{ secrets.NAME }} (repeatable; kept in memory only)",
    )
    run.add_argument(
        "--secrets-file",
        metavar="PATH",
        help="secrets as NAME=VALUE lines (a .env file); --secret wins over it",
    )
    run.add_argument(
        "--event",
        action="append",
        metavar="NAME=JSON",
        help="an event published when the run awaits NAME (repeatable; in order)",
    )
    run.add_argument(
        "--callback",
        action="append",
        metavar="STEP=JSON",
        help="what STEP's callback is used with when the run waits for it (repeatable)",
    )
    cli_db.add_commands(commands)
    cli_apikey.add_commands(commands)
    cli_secret.add_commands(commands)
    cli_apply.add_commands(commands)
    cli_workflows.add_commands(commands)
    cli_runs.add_commands(commands)
    for role, summary in ROLES.items():
        commands.add_parser(
            role,
            help=summary,
            description=summary,
            epilog=settings_help(role),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    return parser


ROLES = {
    "serve": "API + worker + scheduler in one process (embedded)",
    "api": "the HTTP API alone (needs WFA_REDIS_URL; scale to N)",
    "worker": "run step jobs from Redis (needs WFA_REDIS_URL; scale to N)",
    "scheduler": "fire due timers and apply retention (scale to N)",
}

# Clients of a running server (WFA_URL, WFA_API_KEY).
REMOTE = {
    "apply": cli_apply.run_apply_command,
    "workflows": cli_workflows.run_workflows_command,
    "runs": cli_runs.run_runs_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command in ROLES:
        print(f"wfa: {options_are_settings(args.command, extra)}", file=sys.stderr)
        return EXIT_USAGE
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    log_format = os.environ.get("WFA_LOG_FORMAT")
    # A bad value is reported by the settings check with the variable's name.
    configure_logging(log_format if log_format in ("text", "json") else None)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the CLI reports progress itself
    try:
        if args.command == "validate":
            return _validate(args.file)
        if args.command == "db":
            return cli_db.run_db_command(args, load_settings())
        if args.command == "apikey":
            return cli_apikey.run_apikey_command(args, load_settings())
        if args.command == "secret":
            return cli_secret.run_secret_command(args, load_settings())
        if args.command in REMOTE:
            return REMOTE[args.command](args)
        if args.command in ("serve", "api", "worker", "scheduler"):
            return _run_role(args.command)
        answers = Answers(
            signals=parse_answers(args.signal, "--signal"),
            callbacks=parse_answers(args.callback, "--callback"),
            events=parse_answers(args.event, "--event"),
        )
        secrets = parse_secrets(args.secret, args.secrets_file)
        return asyncio.run(
            _run(args.file, args.input, args.virtual_time, args.json, answers, secrets)
        )
    except (DefinitionFileError, ConfigError) as error:
        print(f"wfa: {error}", file=sys.stderr)
        return EXIT_USAGE
    except cli_db.DatabaseUnavailable as error:
        return cli_db.report(error)
    except KeyboardInterrupt:
        print("wfa: interrupted", file=sys.stderr)
        return 130


def _run_role(role: str) -> int:
    # The roles' imports (Litestar, uvicorn, taskiq) only when a role runs.
    from wfa.entrypoints import event_loop
    from wfa.entrypoints.processes import background_process, require_redis
    from wfa.entrypoints.serve import serve

    settings = load_settings()
    if role == "serve":
        return serve(settings)
    require_redis(role, settings)
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    cli_db.require_schema(settings.database_url, shown)
    if role == "api":
        return serve(settings, everything=False)
    event_loop.run(
        background_process(settings, worker=role == "worker", scheduler=role == "scheduler")
    )
    return EXIT_OK


def _validate(path: str) -> int:
    raw = load_definition_file(path)
    try:
        limits = definition_limits()
        definition = parse_definition(raw, default_registry().params_types(), limits)
    except InvalidDefinition as error:
        _print_problems(path, error)
        return EXIT_FAILED
    print(f"{path}: valid ({definition.name!r}, {len(definition.steps)} steps)")
    return EXIT_OK


def _print_problems(path: str, error: InvalidDefinition) -> None:
    count = len(error.problems)
    print(f"wfa: {path}: invalid definition, {count} problem{'s' * (count != 1)}:", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)


async def _run(
    path: str,
    input_text: str | None,
    virtual: bool,
    as_json: bool,
    answers: Answers,
    secrets: dict[str, str],
) -> int:
    raw = load_definition_file(path)
    run_input = parse_input(input_text)
    # Virtual time starts now and jumps from timer to timer; the timeline reads the same.
    clock = FakeClock(SystemClock().now()) if virtual else None
    # WFA_HTTP_ALLOW, the response cap and the run's history budget apply here too.
    settings = load_settings()
    http = HttpRequest(
        HttpSettings(allow=settings.http_allow, max_response_bytes=settings.http_max_response_bytes)
    )
    engine = LocalEngine(
        clock=clock,
        actions=default_registry(http=http, expression_budget=settings.expression_budget),
        settings=engine_settings(settings),
        limits=settings.definition_limits,
        max_payload_bytes=settings.max_payload_bytes,
        max_json_depth=settings.max_json_depth,
    )
    try:
        for name, value in secrets.items():
            await engine.set_secret.execute(name, value)
    except InvalidSecret as error:
        print(f"wfa: --secret: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        workflow = await engine.add_workflow(raw)
    except InvalidDefinition as error:
        _print_problems(path, error)
        return EXIT_FAILED
    except (UnstorableText, PayloadTooDeep) as error:
        print(f"wfa: {path}: {error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        details = await engine.settle(await engine.start(workflow.id, run_input), answers=answers)
    except (UnstorableText, PayloadTooDeep, PayloadTooLarge, NotJson) as error:
        print(f"wfa: --input: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (InvalidPayload, InvalidRequest) as error:
        print(f"wfa: --signal: {error}", file=sys.stderr)
        return EXIT_USAGE
    except RunStuck as error:
        print(f"wfa: {error}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await engine.aclose()
    if as_json:
        print(msgspec.json.encode(details).decode())
    else:
        print(render_run(await engine.family(details.run.id), workflow.name))
    if details.run.error is not None and details.run.error.error == "secret.missing":
        hint = "give a local run its secrets with --secret NAME=VALUE or --secrets-file PATH"
        print(f"wfa: {hint}", file=sys.stderr)
    return EXIT_OK if details.run.status is RunStatus.SUCCEEDED else EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
