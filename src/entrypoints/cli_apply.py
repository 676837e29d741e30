"""``wfa apply FILE|DIR [--dry-run] [--prune]``: make a server's workflows match files.

Every file is read and checked first (as ``wfa validate`` does, less the action catalogue,
which is the server's); one invalid file and nothing is applied. Then each definition is
matched to the server's workflow of the same name: created when there is none, a new
version when the definition changed, left alone when it did not (so applying twice changes
nothing). A file the server refuses all the same is reported with its problems while the
others still apply, and the exit is 1 (2 when a file cannot be read at all). ``--prune``
(with a folder only) deletes the server's workflows whose names no file has; ``--dry-run``
shows what would change, as a diff, and writes nothing.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import yaml

from wfa.application.webhook_secrets import PLACEHOLDER
from wfa.domain.errors import InvalidDefinition
from wfa.domain.validation import parse_definition
from wfa.entrypoints.cli_remote import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_json_option,
    explain,
    fail,
    print_json,
    progress,
    run_remote,
)
from wfa.entrypoints.client import ApiError, Client, Workflow
from wfa.entrypoints.config import definition_limits
from wfa.entrypoints.definition_files import DefinitionFileError, load_definition_file
from wfa.entrypoints.settings_catalogue import client_settings_help

SUFFIXES = (".json", ".yaml", ".yml")


class Planned(NamedTuple):
    """A checked file: its data as written, and as the server will store it."""

    path: str
    name: str
    raw: Any
    normalised: dict[str, Any]


class Outcome(msgspec.Struct, kw_only=True):
    file: str
    name: str
    outcome: str  # created | updated | unchanged | failed
    id: str | None = None
    version: int | None = None
    diff: str = ""
    problems: list[str] = []


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    apply = commands.add_parser(
        "apply",
        help="create or update a server's workflows from files (WFA_URL, WFA_API_KEY)",
        description=__doc__,
        epilog=client_settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    apply.add_argument("target", metavar="FILE|DIR", help="a definition, or a folder of them")
    apply.add_argument("--dry-run", action="store_true", help="show the diff; write nothing")
    apply.add_argument(
        "--prune",
        action="store_true",
        help="delete the server's workflows no file in the folder names (a folder only)",
    )
    add_json_option(apply)


def run_apply_command(args: argparse.Namespace) -> int:
    if args.prune and not Path(args.target).is_dir():
        # One file names one workflow: every other one on the server would be deleted.
        fail(f"--prune needs a folder of definitions; {args.target} is not a folder")
        return EXIT_USAGE
    planned, problems, unreadable = check_files(definition_paths(args.target))
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        return EXIT_USAGE if unreadable else EXIT_FAILED
    return run_remote(lambda client: _apply(client, planned, args))


def definition_paths(target: str) -> list[str]:
    folder = Path(target)
    if not folder.is_dir():
        return [target]
    paths = sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)
    if not paths:
        raise DefinitionFileError(f"{target}: no definition files (*.json, *.yaml, *.yml)")
    return paths


def check_files(paths: list[str]) -> tuple[list[Planned], list[str], bool]:
    """Every file read and checked; the problems as lines for stderr, each with its file,
    and whether a file could not be read at all (a usage error, as for ``wfa validate``)."""
    limits = definition_limits()  # the WFA_MAX_* limits only: the rest is the server's
    planned: list[Planned] = []
    problems: list[str] = []
    unreadable = False
    for path in paths:
        try:
            raw = load_definition_file(path)
            definition = parse_definition(raw, None, limits)
        except DefinitionFileError as error:
            problems.append(f"wfa: {error}")
            unreadable = True
            continue
        except InvalidDefinition as error:
            count = len(error.problems)
            problems.append(f"wfa: {path}: invalid definition, {count} problem{'s' * (count > 1)}:")
            problems += [f"  {problem}" for problem in error.problems]
            continue
        earlier = next((p.path for p in planned if p.name == definition.name), None)
        if earlier is not None:
            problems.append(f"wfa: {path}: the name {definition.name!r} is taken by {earlier}")
            continue
        planned.append(Planned(path, definition.name, raw, definition.to_builtins()))
    return planned, problems, unreadable


def _apply(client: Client, planned: list[Planned], args: argparse.Namespace) -> int:
    by_name: dict[str, list[Workflow]] = {}
    for workflow in client.iter_workflows():
        by_name.setdefault(workflow.name, []).append(workflow)
    shared = [p for p in planned if len(by_name.get(p.name, [])) > 1]
    for plan in shared:
        ids = ", ".join(w.id for w in by_name[plan.name])
        fail(f"{plan.path}: several workflows on the server are named {plan.name!r} ({ids})")
    if shared:
        return EXIT_FAILED
    outcomes: list[Outcome] = []
    with progress("applying", total=len(planned)) as advance:
        for plan in planned:
            outcomes.append(_apply_one(client, plan, by_name.get(plan.name), args.dry_run))
            advance(1)
    names = {plan.name for plan in planned}
    stale = [w for name in sorted(by_name) if name not in names for w in by_name[name]]
    deleted: list[dict[str, str]] = []
    if args.prune:
        for workflow in stale:
            if not args.dry_run:
                client.delete_workflow(workflow.id)
            deleted.append({"name": workflow.name, "id": workflow.id})
    if args.json:
        print_json({"dry_run": args.dry_run, "workflows": outcomes, "deleted": deleted})
    else:
        _report(outcomes, deleted, stale if not args.prune else [], args.dry_run)
    return EXIT_FAILED if any(o.outcome == "failed" for o in outcomes) else EXIT_OK


def _apply_one(client: Client, plan: Planned, found: list[Workflow] | None, dry: bool) -> Outcome:
    current = found[0] if found else None
    before = {} if current is None else _comparable(current.definition)
    after = _comparable(plan.normalised)
    if before == after:
        assert current is not None
        return Outcome(
            file=plan.path, name=plan.name, outcome="unchanged", id=current.id,
            version=current.version,
        )  # fmt: skip
    diff = _diff(plan, current, before, after)
    outcome = "created" if current is None else "updated"
    if dry:
        return Outcome(
            file=plan.path, name=plan.name, outcome=outcome, diff=diff,
            id=None if current is None else current.id,
            version=None if current is None else current.version,
        )  # fmt: skip
    try:
        if current is None:
            stored = client.create_workflow(plan.raw)
        else:
            stored = client.update_workflow(current.id, plan.raw)
    except ApiError as error:
        if error.status in (401, 403):
            raise
        problems = [str(problem) for problem in error.problems] or [explain(error)]
        return Outcome(file=plan.path, name=plan.name, outcome="failed", problems=problems)
    return Outcome(
        file=plan.path, name=plan.name, outcome=outcome, id=stored.id, version=stored.version,
        diff=diff,
    )  # fmt: skip


def _comparable(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with webhook secrets masked: the server never sends one back."""
    triggers = [
        {**trigger, "secret": PLACEHOLDER} if trigger.get("secret") else trigger
        for trigger in definition.get("triggers", [])
    ]
    return {**definition, "triggers": triggers} if "triggers" in definition else definition


def _diff(
    plan: Planned, current: Workflow | None, before: dict[str, Any], after: dict[str, Any]
) -> str:
    old = [] if current is None else _yaml(before)
    source = "/dev/null" if current is None else f"{plan.name} (server, version {current.version})"
    lines = difflib.unified_diff(old, _yaml(after), source, f"{plan.name} ({plan.path})", n=3)
    return "\n".join(line.rstrip("\n") for line in lines)


def _yaml(definition: dict[str, Any]) -> list[str]:
    text = yaml.safe_dump(definition, sort_keys=False, allow_unicode=True, width=100)
    return text.splitlines(keepends=True)


def _report(
    outcomes: list[Outcome], deleted: list[dict[str, str]], stale: list[Workflow], dry: bool
) -> None:
    would = "would " if dry else ""
    for o in outcomes:
        if o.outcome == "failed":
            count = len(o.problems)
            fail(f"{o.file}: refused by the server, {count} problem{'s' * (count > 1)}:")
            for problem in o.problems:
                print(f"  {problem}", file=sys.stderr)
        elif o.outcome == "unchanged":
            print(f"unchanged {o.name} ({o.file}, version {o.version})")
        elif dry:
            print(f"would {o.outcome.removesuffix('d')} {o.name} ({o.file})")
            print(o.diff)
        else:
            print(f"{o.outcome} {o.name} ({o.file}): version {o.version}, id {o.id}")
    for gone in deleted:
        print(f"{would}delete {gone['name']} ({gone['id']}): no file names it")
    for workflow in stale:
        print(f"not in the files: {workflow.name} ({workflow.id}); --prune deletes it")
    counts = {kind: sum(o.outcome == kind for o in outcomes) for kind in ("created", "updated")}
    same = sum(o.outcome == "unchanged" for o in outcomes)
    verb = "to create" if dry else "created"
    summary = f"{counts['created']} {verb}, {counts['updated']} {'to update' if dry else 'updated'}"
    summary += f", {same} unchanged"
    if deleted:
        summary += f", {len(deleted)} {'to delete' if dry else 'deleted'}"
    print(summary + ("; dry run: nothing written" if dry else ""))
