"""``wfa runs list | show | cancel | retry | signal`` (and ``watch``, in cli_watch.py): a
server's runs."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from wfa.entrypoints import cli_watch
from wfa.entrypoints.cli_remote import (
    EXIT_OK,
    add_json_option,
    print_json,
    progress,
    run_remote,
    table,
)
from wfa.entrypoints.client import RUN_STATUSES, ApiError, Client, Run, RunDetail
from wfa.entrypoints.client.api import MAX_PAGE
from wfa.entrypoints.config import ConfigError, duration
from wfa.entrypoints.definition_files import parse_input
from wfa.entrypoints.settings_catalogue import client_settings_help


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    runs = commands.add_parser(
        "runs",
        help="list, show, watch and steer a server's runs (WFA_URL, WFA_API_KEY)",
        epilog=client_settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="runs newest first")
    listing.add_argument("--workflow", metavar="NAME_OR_ID", help="only this workflow's runs")
    listing.add_argument("--status", choices=RUN_STATUSES, help="only runs in this status")
    listing.add_argument("--limit", type=_positive, default=50, help="at most N runs (50)")
    listing.add_argument(
        "--since",
        type=_instant,
        metavar="WHEN",
        help="only runs created at or after WHEN: 2026-12-01T09:30:00Z, or 30m, 2h, 7d ago",
    )
    listing.add_argument(
        "--until",
        type=_instant,
        metavar="WHEN",
        help="only runs created before WHEN (the same forms as --since)",
    )
    show = actions.add_parser("show", help="a run's steps with every attempt, and its result")
    watch = actions.add_parser(
        "watch", help="follow a run live until it ends (exit 0 when it succeeded, else 1)"
    )
    cancel = actions.add_parser("cancel", help="cancel an unfinished run")
    cancel.add_argument("--reason", default="", help="why, kept in the run's history")
    retry = actions.add_parser("retry", help="resume a failed run from its failed step")
    signal = actions.add_parser("signal", help="deliver a signal to a run's await step")
    for parser in (show, watch, cancel, retry, signal):
        parser.add_argument("run", metavar="ID")
    signal.add_argument("name", metavar="NAME", help="the signal's name")
    signal.add_argument("--payload", metavar="JSON", help="the signal's payload as JSON")
    signal.add_argument(
        "--key", metavar="IDEMPOTENCY_KEY", help="deliver once, however often it is sent"
    )
    for parser in (listing, show, watch, cancel, retry, signal):
        add_json_option(parser)


def run_runs_command(args: argparse.Namespace) -> int:
    command = args.runs_command
    if command == "list":
        return run_remote(lambda client: _list(client, args))
    what = f"run {args.run!r}"
    if command == "watch":
        return run_remote(lambda client: cli_watch.watch(client, args.run, args.json), what)
    if command == "signal":
        payload = parse_input(args.payload, "--payload")  # a usage error before any request
        return run_remote(lambda client: _signal(client, args, payload), what)
    act = {"show": _show, "cancel": _cancel, "retry": _retry}[command]
    return run_remote(lambda client: act(client, args), what)


def _list(client: Client, args: argparse.Namespace) -> int:
    workflow_id = None if args.workflow is None else _workflow_id(client, args.workflow)
    found: list[Run] = []
    cursor: str | None = None
    with progress("reading runs", total=args.limit) as advance:
        while len(found) < args.limit:
            page = client.list_runs(
                workflow_id=workflow_id,
                status=args.status,
                created_after=args.since,
                created_before=args.until,
                limit=min(MAX_PAGE, args.limit - len(found)),
                cursor=cursor,
            )
            found += page.items
            advance(len(page.items))
            cursor = page.next_cursor
            if cursor is None:
                break
    if args.json:
        print_json({"items": found, "next_cursor": cursor})
        return EXIT_OK
    if not found:
        print("no runs")
        return EXIT_OK
    names = {w.id: w.name for w in client.iter_workflows()}
    rows = [("ID", "WORKFLOW", "STATUS", "CREATED", "STEP")]
    for run in found:
        name = names.get(run.workflow_id, run.workflow_id)
        step = run.failed_step or run.current_step or ""
        rows.append((run.id, name, run.status, _time(run.created_at), step))
    print(table(rows))
    if cursor is not None:
        print(f"(more: raise --limit above {args.limit})")
    return EXIT_OK


def _workflow_id(client: Client, workflow: str) -> str:
    """The id of the workflow named so; a deleted workflow's runs are still found by its id."""
    try:
        return client.get_workflow(workflow).id
    except ApiError as error:
        if error.status == 404:
            return workflow
        raise


def _show(client: Client, args: argparse.Namespace) -> int:
    run = client.get_run(args.run)
    if args.json:
        print_json(run)
    else:
        print(render_run_detail(run, _workflow_name(client, run.workflow_id)))
    return EXIT_OK


def _cancel(client: Client, args: argparse.Namespace) -> int:
    run = client.cancel_run(args.run, args.reason)
    if args.json:
        print_json(run)
    else:
        print(f"run {run.id} {run.status}")
    return EXIT_OK


def _retry(client: Client, args: argparse.Namespace) -> int:
    before = client.get_run(args.run)
    run = client.retry_run(args.run)
    if args.json:
        print_json(run)
    else:
        step = f" from step {before.failed_step!r}" if before.failed_step else ""
        print(f"run {run.id} resumed{step}: {run.status}")
    return EXIT_OK


def _signal(client: Client, args: argparse.Namespace, payload: Any) -> int:
    delivered = client.signal_run(args.run, args.name, payload, idempotency_key=args.key)
    if args.json:
        print_json(delivered)
    elif delivered.duplicate:
        print(
            f"signal {delivered.signal!r} was delivered to run {delivered.run_id} before with "
            f"this key (seq {delivered.seq}); nothing recorded again"
        )
    else:
        taken = (
            f"taken by step {delivered.taken_by!r}"
            if delivered.taken_by
            else "kept until an await step takes it"
        )
        print(f"signal {delivered.signal!r} delivered to run {delivered.run_id}: {taken}")
    return EXIT_OK


def _workflow_name(client: Client, workflow_id: str) -> str:
    try:
        return client.get_workflow(workflow_id).name
    except ApiError:
        return workflow_id  # deleted since: its runs are kept


HEADER = ("STEP", "ATTEMPT", "STATUS", "AT", "DURATION", "DETAIL")


def render_run_detail(run: RunDetail, workflow_name: str) -> str:
    """The run as ``wfa run`` shows one: a row per attempt in the order they were
    scheduled, then its status and its output or error."""
    attempts = [(step.id, attempt) for step in run.steps for attempt in step.attempts]
    attempts.sort(key=lambda pair: (pair[1].scheduled_at, pair[1].attempt))
    rows = [HEADER]
    for step_id, attempt in attempts:
        began = attempt.started_at or attempt.due_at
        duration = "" if attempt.duration is None else f"{attempt.duration:.3f}s"
        detail = f"awaited {attempt.awaited}" if attempt.awaited else ""
        if attempt.error is not None:
            message = f": {attempt.error.message}" if attempt.error.message else ""
            detail = attempt.error.error + message
        offset = f"+{(began - run.created_at).total_seconds():.3f}s"
        rows.append((step_id, str(attempt.attempt), attempt.status, offset, duration, detail))
    lines = [f"run {run.id}  workflow {workflow_name!r} v{run.workflow_version}", ""]
    lines += ["  " + line for line in table(rows).splitlines()]
    lines.append("")
    if not run.ended:
        waiting = ""
        if run.awaiting is not None:
            on = run.awaiting.signal or run.awaiting.event or "its callback"
            waiting = f", step {run.awaiting.step_id!r} awaiting {on}"
        lines.append(f"{run.status}{waiting}")
        return "\n".join(lines)
    elapsed = (run.updated_at - run.created_at).total_seconds()
    lines.append(f"{run.status} after {elapsed:.3f}s")
    if run.error is not None:
        where = f" at step {run.failed_step!r}" if run.failed_step else ""
        message = f": {run.error.message}" if run.error.message else ""
        lines.append(f"error{where}: {run.error.error}{message}")
    elif run.status == "succeeded":
        lines.append("output: " + json.dumps(run.output, ensure_ascii=False))
    return "\n".join(lines)


def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def _instant(value: str) -> datetime:
    """An RFC 3339 instant with its zone, or a duration (``90s``, ``30m``, ``2h``, ``7d``)
    meaning that long ago."""
    try:
        found = datetime.fromisoformat(value.strip())
    except ValueError:
        found = None
    if found is not None:
        if found.tzinfo is None:
            raise argparse.ArgumentTypeError(
                f"{value!r} has no time zone: add Z or an offset (2026-12-01T09:30:00Z)"
            )
        return found
    try:
        if value.strip()[-1:].isdigit():  # a bare number: seconds? a year? Ask for a unit.
            raise ConfigError(value)
        ago = duration("", value)
    except ConfigError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither a time like 2026-12-01T09:30:00Z nor a duration like "
            "30m, 2h or 7d"
        ) from None
    return datetime.now(UTC) - ago


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {value!r}")
    return number
