"""``wfa workflows list | show NAME_OR_ID | delete NAME_OR_ID``: a server's workflows."""

from __future__ import annotations

import argparse

import yaml

from wfa.entrypoints.cli_remote import (
    EXIT_OK,
    add_json_option,
    print_json,
    progress,
    run_remote,
    table,
)
from wfa.entrypoints.client import Client, Workflow
from wfa.entrypoints.settings_catalogue import client_settings_help


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    workflows = commands.add_parser(
        "workflows",
        help="list, show and delete a server's workflows (WFA_URL, WFA_API_KEY)",
        epilog=client_settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = workflows.add_subparsers(dest="workflows_command", required=True, metavar="ACTION")
    add_json_option(actions.add_parser("list", help="every workflow at its latest version"))
    show = actions.add_parser("show", help="one workflow and its definition")
    show.add_argument("workflow", metavar="NAME_OR_ID")
    add_json_option(show)
    remove = actions.add_parser("delete", help="delete a workflow (its runs are kept)")
    remove.add_argument("workflow", metavar="NAME_OR_ID")
    add_json_option(remove)


def run_workflows_command(args: argparse.Namespace) -> int:
    command = args.workflows_command
    if command == "list":
        return run_remote(lambda client: _list(client, args.json))
    what = f"workflow {args.workflow!r}"
    if command == "show":
        return run_remote(lambda client: _show(client, args.workflow, args.json), what)
    return run_remote(lambda client: _delete(client, args.workflow, args.json), what)


def _list(client: Client, as_json: bool) -> int:
    found: list[Workflow] = []
    with progress("reading workflows") as advance:
        for workflow in client.iter_workflows():
            found.append(workflow)
            advance(1)
    if as_json:
        print_json({"items": found, "next_cursor": None})
    elif not found:
        print("no workflows yet: add some with 'wfa apply FILE|DIR'")
    else:
        rows = [("ID", "NAME", "VERSION", "CREATED")]
        rows += [(w.id, w.name, str(w.version), f"{w.created_at:%Y-%m-%d %H:%M:%S}") for w in found]
        print(table(rows))
    return EXIT_OK


def _show(client: Client, workflow: str, as_json: bool) -> int:
    found = client.get_workflow(workflow)
    if as_json:
        print_json(found)
        return EXIT_OK
    print(f"workflow {found.name!r}  id {found.id}  version {found.version}")
    print(f"created {found.created_at:%Y-%m-%d %H:%M:%S} UTC")
    print()
    print(yaml.safe_dump(found.definition, sort_keys=False, allow_unicode=True).rstrip())
    return EXIT_OK


def _delete(client: Client, workflow: str, as_json: bool) -> int:
    found = client.get_workflow(workflow)  # by id then: the name cannot change meaning between
    client.delete_workflow(found.id)
    if as_json:
        print_json({"deleted": found})
    else:
        print(f"deleted workflow {found.name!r} ({found.id}); its runs are kept")
    return EXIT_OK
