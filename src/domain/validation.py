"""Validate a raw definition as a whole and build it, or refuse it with every problem listed."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from wfa.domain.cron import CronError, FireTimes, check_cron, load_zone
from wfa.domain.decoding import Decoder
from wfa.domain.definition import (
    MAX_RUN_EVENTS,
    MIN_RUN_EVENTS,
    STEP_TYPES,
    TRIGGER_TYPES,
    Branch,
    Definition,
    EventTrigger,
    Limits,
    ManualTrigger,
    ScheduleTrigger,
    Step,
    Trigger,
    WebhookTrigger,
)
from wfa.domain.errors import InvalidDefinition, Problem
from wfa.domain.graph import step_targets, steps_that_never_end, unreachable_steps
from wfa.domain.limits import DEFAULT_LIMITS, DefinitionLimits, too_many
from wfa.domain.schedule import schedule_key
from wfa.domain.secret_references import step_secret_problems
from wfa.domain.step_checks import (
    duration_problems,
    event_trigger_problems,
    notify_problems,
    on_failure_problems,
    step_problems,
)
from wfa.domain.suggestions import did_you_mean

STEP_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")
STEP_ID_RULE = "letters, digits, _ and -, starting with a letter or _, at most 128"
WEBHOOK_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~/-]{0,199}$")
MAX_WEBHOOK_SECRET = 1024  # characters; an HMAC key longer than its block is hashed anyway
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def parse_definition(
    raw: Any,
    known_actions: Collection[str] | Mapping[str, Any] | None = None,
    limits: DefinitionLimits = DEFAULT_LIMITS,
) -> Definition:
    """Build a Definition from JSON-like data, or raise InvalidDefinition listing every problem.

    A definition past ``limits``' step count is refused at once, before any step is decoded.

    ``known_actions``, when given, also refuses task steps naming an action nobody provides.
    When it maps each action's name to its params type, each task's params are checked
    against that type too (``steps[1].params.level: expected one of …``).
    """
    decoder = Decoder()
    if not isinstance(raw, dict):
        decoder.add("", "a definition must be an object")
        raise InvalidDefinition(decoder.problems)
    body = dict(raw)
    raw_steps = body.pop("steps", None)
    if isinstance(raw_steps, list):
        refusal = too_many(limits, "max_steps", len(raw_steps), "steps")
        if refusal is not None:
            raise InvalidDefinition([Problem("steps", refusal)])
    one, many = body.pop("trigger", None), body.pop("triggers", None)
    triggers = _triggers(decoder, one, many, raw, limits)
    steps = _StepLists(decoder, known_actions, limits).build(raw_steps, "steps")
    shell = decoder.struct({**body, "steps": []}, Definition, "")
    name = raw.get("name")
    if isinstance(name, str) and not name.strip():
        decoder.add("name", "must not be empty")
    if shell is not None:
        _check_limits(decoder, shell.limits)
        for where, message in duration_problems("timeout", shell.timeout):
            decoder.add(where, message)
        for where, message in on_failure_problems(shell.on_failure):
            decoder.add(where, message)
        for where, message in notify_problems(shell.notify, limits):
            decoder.add(where, message)
    if shell is not None and triggers is not None and steps is not None and not decoder.problems:
        return Definition(
            name=shell.name,
            description=shell.description,
            steps=steps,
            triggers=triggers,
            limits=shell.limits,
            timeout=shell.timeout,
            on_failure=shell.on_failure,
            notify=shell.notify,
        )
    raise InvalidDefinition(decoder.problems)


def _check_limits(decoder: Decoder, limits: Limits) -> None:
    # Only a lower budget is meaningful: above the engine's WFA_RUN_MAX_EVENTS it has no effect.
    budget = limits.max_events
    if budget is not None and not MIN_RUN_EVENTS <= budget <= MAX_RUN_EVENTS:
        decoder.add(
            "limits.max_events",
            f"must be a whole number between {MIN_RUN_EVENTS} (room for the run's first and "
            f"last event) and {MAX_RUN_EVENTS}",
        )


def _triggers(
    decoder: Decoder, one: Any, many: Any, raw: dict[str, Any], limits: DefinitionLimits
) -> tuple[Trigger, ...] | None:
    if "trigger" in raw and "triggers" in raw:
        decoder.add("trigger", "give either 'trigger' or 'triggers', not both")
        return None
    if "trigger" in raw:
        trigger = decoder.tagged(one, TRIGGER_TYPES, "trigger", "trigger")
        if trigger is None:
            return None
        _check_triggers(decoder, (trigger,), ["trigger"], limits)
        return (trigger,)
    if "triggers" not in raw:
        return (ManualTrigger(),)
    if not isinstance(many, list) or not many:
        decoder.add("triggers", "expected a non-empty array of triggers")
        return None
    refusal = too_many(limits, "max_triggers", len(many), "triggers")
    if refusal is not None:
        decoder.add("triggers", refusal)
        return None
    paths = [f"triggers[{i}]" for i in range(len(many))]
    items = [
        decoder.tagged(item, TRIGGER_TYPES, path, "trigger")
        for item, path in zip(many, paths, strict=True)
    ]
    present = [(item, path) for item, path in zip(items, paths, strict=True) if item is not None]
    found = tuple(item for item, _ in present)
    _check_triggers(decoder, found, [path for _, path in present], limits)
    return tuple(item for item, _ in present) if len(present) == len(items) else None


def _check_triggers(
    decoder: Decoder, triggers: tuple[Trigger, ...], paths: list[str], limits: DefinitionLimits
) -> None:
    seen: set[str] = set()
    for trigger, where in zip(triggers, paths, strict=True):
        if isinstance(trigger, ScheduleTrigger):
            for field, problem in _schedule_problems(trigger):
                decoder.add(f"{where}.{field}", problem)
            key = schedule_key(trigger.cron, trigger.timezone)
            if key in seen:
                decoder.add(where, "this schedule (cron and timezone) is listed twice")
            seen.add(key)
        if isinstance(trigger, EventTrigger):
            for field, problem in event_trigger_problems(trigger, limits):
                decoder.add(f"{where}.{field}", problem)
        if isinstance(trigger, WebhookTrigger):
            if not WEBHOOK_PATH.match(trigger.path):
                decoder.add(f"{where}.path", f"{trigger.path!r} is not a valid webhook path")
            if trigger.path in seen:
                decoder.add(f"{where}.path", f"webhook path {trigger.path!r} is listed twice")
            seen.add(trigger.path)
            if trigger.secret is not None and not 0 < len(trigger.secret) <= MAX_WEBHOOK_SECRET:
                decoder.add(f"{where}.secret", f"must be 1 to {MAX_WEBHOOK_SECRET} characters long")
            if trigger.secret is None and trigger.signature != "wfa":
                # Without a secret nothing is checked: the sender's scheme would read as if
                # requests were verified while anyone could start runs.
                decoder.add(
                    f"{where}.signature",
                    f"a {trigger.signature!r} signature needs the webhook's 'secret'",
                )


def _schedule_problems(trigger: ScheduleTrigger) -> Iterator[tuple[str, str]]:
    problem = check_cron(trigger.cron)
    if problem is not None:
        yield "cron", problem
    try:
        load_zone(trigger.timezone)
    except CronError as error:
        yield "timezone", str(error)
        return
    if problem is None:
        try:  # an expression may be well-formed and still never match a date (0 0 30 2 *)
            FireTimes(trigger.cron, trigger.timezone).next_after(_EPOCH)
        except CronError as error:
            yield "cron", str(error)


class _StepLists:
    """Decodes and checks a step list and every list nested in it (branches, map steps).

    Each list is checked on its own: ids are scoped to it, links stay inside it, and every
    step in it must be reachable and able to end. Steps are counted across all the lists.
    """

    def __init__(
        self,
        decoder: Decoder,
        known_actions: Collection[str] | Mapping[str, Any] | None,
        limits: DefinitionLimits,
    ) -> None:
        self.decoder, self.known_actions, self.limits = decoder, known_actions, limits
        self.counted = 0
        self.refused = False

    def build(self, raw_steps: Any, path: str) -> tuple[Step, ...] | None:
        """The list's steps, or None when it (or a list inside it) has a problem."""
        decoder = self.decoder
        if not isinstance(raw_steps, list) or not raw_steps:
            whose = "a workflow" if path == "steps" else "this list"
            decoder.add(path, f"{whose} needs a non-empty array of steps")
            return None
        self.counted += len(raw_steps)
        refusal = too_many(self.limits, "max_steps", self.counted, "steps in all")
        if refusal is not None:
            if not self.refused:
                decoder.add(path, refusal)
            self.refused = True
            return None
        steps = [self._step(raw, f"{path}[{i}]") for i, raw in enumerate(raw_steps)]
        links_ok = self._check(raw_steps, steps, path)
        complete = tuple(step for step in steps if step is not None)
        if not links_ok or len(complete) != len(steps):
            return None
        before = len(decoder.problems)
        _check_graph(decoder, complete, path)
        return complete if len(decoder.problems) == before else None

    def _step(self, raw: Any, path: str) -> Step | None:
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind == "parallel":
            return self._parallel(raw, path)
        if kind == "map":
            shell = self.decoder.tagged({**raw, "steps": []}, STEP_TYPES, path, "step")
            inner = self.build(raw.get("steps"), f"{path}.steps")
            if shell is None or inner is None:
                self._shell_problems(shell, path)
                return None
            return msgspec.structs.replace(shell, steps=inner)
        return self.decoder.tagged(raw, STEP_TYPES, path, "step")

    def _parallel(self, raw: dict[str, Any], path: str) -> Step | None:
        decoder = self.decoder
        raw_branches = raw.get("branches")
        shell = decoder.tagged({**raw, "branches": []}, STEP_TYPES, path, "step")
        if not isinstance(raw_branches, list) or not raw_branches:
            decoder.add(f"{path}.branches", "a parallel step needs a non-empty array of branches")
            return None
        refusal = too_many(self.limits, "max_branches", len(raw_branches), "branches")
        if refusal is not None:
            decoder.add(f"{path}.branches", refusal)
            return None
        branches: list[Branch | None] = []
        seen: dict[str, int] = {}
        for index, raw_branch in enumerate(raw_branches):
            where = f"{path}.branches[{index}]"
            name_and_steps = raw_branch if isinstance(raw_branch, dict) else {}
            head = decoder.struct(
                {**name_and_steps, "steps": []} if isinstance(raw_branch, dict) else raw_branch,
                Branch,
                where,
            )
            inner = self.build(name_and_steps.get("steps"), f"{where}.steps")
            if head is not None and not STEP_ID.match(head.name):
                decoder.add(
                    f"{where}.name", f"{head.name!r} is not a valid branch name ({STEP_ID_RULE})"
                )
                head = None
            elif head is not None and head.name in seen:
                first = f"first at branches[{seen[head.name]}]"
                decoder.add(f"{where}.name", f"duplicate branch name {head.name!r} ({first})")
                head = None
            elif head is not None:
                seen[head.name] = index
            branches.append(
                None if head is None or inner is None else Branch(name=head.name, steps=inner)
            )
        if shell is None or any(branch is None for branch in branches):
            self._shell_problems(shell, path)
            return None
        return msgspec.structs.replace(shell, branches=tuple(b for b in branches if b is not None))

    def _shell_problems(self, shell: Step | None, path: str) -> None:
        """A parallel or map step's own problems, when a list inside it kept it from being
        built (``_check`` reports them for the steps that were)."""
        if shell is not None:
            for where, message in step_problems(shell, self.known_actions, self.limits):
                self.decoder.add(f"{path}{where}", message)

    def _check(self, raw_steps: list[Any], steps: list[Step | None], path: str) -> bool:
        """Check ids, links and each decoded step; True when ids are unique and links resolve."""
        decoder = self.decoder
        ids = [raw.get("id") if isinstance(raw, dict) else None for raw in raw_steps]
        links_ok = True
        first: dict[str, int] = {}
        for position, step_id in enumerate(ids):
            if isinstance(step_id, str) and step_id in first:
                where = f"first at {path}[{first[step_id]}]"
                decoder.add(f"{path}[{position}].id", f"duplicate step id {step_id!r} ({where})")
                links_ok = False
            elif isinstance(step_id, str):
                first[step_id] = position
        for position, step in enumerate(steps):
            if step is None:
                continue
            at = f"{path}[{position}]"
            if not STEP_ID.match(step.id):
                decoder.add(f"{at}.id", f"{step.id!r} is not a valid step id ({STEP_ID_RULE})")
            for where, target in step_targets(step):
                if target not in first:
                    hint = did_you_mean(target, first)
                    decoder.add(f"{at}.{where}", f"unknown step {target!r}{hint}")
                    links_ok = False
            for where, message in step_problems(step, self.known_actions, self.limits):
                decoder.add(f"{at}{where}", message)
            longest = self.limits.max_expression_length
            for where, message in step_secret_problems(step, longest):
                decoder.add(f"{at}{where}", message)
        return links_ok


def _check_graph(decoder: Decoder, steps: tuple[Step, ...], path: str) -> None:
    definition = Definition(name="-", steps=steps)  # the graph of one list, on its own
    for position in unreachable_steps(definition):
        step_id = steps[position].id
        decoder.add(f"{path}[{position}]", f"step {step_id!r} is unreachable from the first step")
    for position in steps_that_never_end(definition):
        step_id = steps[position].id
        decoder.add(
            f"{path}[{position}]", f"step {step_id!r} can never reach an end (it only loops)"
        )
