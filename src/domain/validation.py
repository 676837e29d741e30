"""Validate a raw definition as a whole and build it, or refuse it with every problem listed."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from wfa.domain.cron import CronError, FireTimes, check_cron, load_zone
from wfa.domain.decoding import Decoder
from wfa.domain.definition import (
    STEP_TYPES,
    TRIGGER_TYPES,
    ChoiceStep,
    Definition,
    FailStep,
    ManualTrigger,
    ScheduleTrigger,
    Step,
    SucceedStep,
    TaskStep,
    Trigger,
    WaitStep,
    WebhookTrigger,
)
from wfa.domain.errors import ExpressionError, InvalidDefinition
from wfa.domain.expressions import check_template, compile_expression
from wfa.domain.graph import step_targets, steps_that_never_end, unreachable_steps
from wfa.domain.params import params_problems
from wfa.domain.retry import RetryPolicy
from wfa.domain.schedule import schedule_key
from wfa.domain.secret_references import step_secret_problems

STEP_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")
STEP_ID_RULE = "letters, digits, _ and -, starting with a letter or _, at most 128"
WEBHOOK_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~/-]{0,199}$")
MAX_WEBHOOK_SECRET = 1024  # characters; an HMAC key longer than its block is hashed anyway
MAX_ATTEMPTS_LIMIT = 100
MAX_BACKOFF_RATE = 100.0
MAX_DURATION = 366 * 24 * 3600.0  # a year and a day: the longest wait, backoff or timeout
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def parse_definition(
    raw: Any, known_actions: Collection[str] | Mapping[str, Any] | None = None
) -> Definition:
    """Build a Definition from JSON-like data, or raise InvalidDefinition listing every problem.

    ``known_actions``, when given, also refuses task steps naming an action nobody provides.
    When it maps each action's name to its params type, each task's params are checked
    against that type too (``steps[1].params.level: expected one of …``).
    """
    decoder = Decoder()
    if not isinstance(raw, dict):
        decoder.add("", "a definition must be an object")
        raise InvalidDefinition(decoder.problems)
    body = dict(raw)
    triggers = _triggers(decoder, body.pop("trigger", None), body.pop("triggers", None), raw)
    raw_steps = body.pop("steps", None)
    steps = _steps(decoder, raw_steps)
    shell = decoder.struct({**body, "steps": []}, Definition, "")
    name = raw.get("name")
    if isinstance(name, str) and not name.strip():
        decoder.add("name", "must not be empty")
    links_ok = steps is not None and _check_steps(decoder, raw_steps, steps, known_actions)
    if links_ok and shell is not None and triggers is not None and steps is not None:
        complete = tuple(step for step in steps if step is not None)
        if len(complete) == len(steps):
            definition = Definition(
                name=shell.name, description=shell.description, steps=complete, triggers=triggers
            )
            _check_graph(decoder, definition)
            if not decoder.problems:
                return definition
    raise InvalidDefinition(decoder.problems)


def _triggers(
    decoder: Decoder, one: Any, many: Any, raw: dict[str, Any]
) -> tuple[Trigger, ...] | None:
    if "trigger" in raw and "triggers" in raw:
        decoder.add("trigger", "give either 'trigger' or 'triggers', not both")
        return None
    if "trigger" in raw:
        trigger = decoder.tagged(one, TRIGGER_TYPES, "trigger", "trigger")
        if trigger is None:
            return None
        _check_triggers(decoder, (trigger,), ["trigger"])
        return (trigger,)
    if "triggers" not in raw:
        return (ManualTrigger(),)
    if not isinstance(many, list) or not many:
        decoder.add("triggers", "expected a non-empty array of triggers")
        return None
    paths = [f"triggers[{i}]" for i in range(len(many))]
    items = [
        decoder.tagged(item, TRIGGER_TYPES, path, "trigger")
        for item, path in zip(many, paths, strict=True)
    ]
    present = [(item, path) for item, path in zip(items, paths, strict=True) if item is not None]
    _check_triggers(decoder, tuple(item for item, _ in present), [path for _, path in present])
    return tuple(item for item, _ in present) if len(present) == len(items) else None


def _check_triggers(decoder: Decoder, triggers: tuple[Trigger, ...], paths: list[str]) -> None:
    seen: set[str] = set()
    for trigger, where in zip(triggers, paths, strict=True):
        if isinstance(trigger, ScheduleTrigger):
            for field, problem in _schedule_problems(trigger):
                decoder.add(f"{where}.{field}", problem)
            key = schedule_key(trigger.cron, trigger.timezone)
            if key in seen:
                decoder.add(where, "this schedule (cron and timezone) is listed twice")
            seen.add(key)
        if isinstance(trigger, WebhookTrigger):
            if not WEBHOOK_PATH.match(trigger.path):
                decoder.add(f"{where}.path", f"{trigger.path!r} is not a valid webhook path")
            if trigger.path in seen:
                decoder.add(f"{where}.path", f"webhook path {trigger.path!r} is listed twice")
            seen.add(trigger.path)
            if trigger.secret is not None and not 0 < len(trigger.secret) <= MAX_WEBHOOK_SECRET:
                decoder.add(f"{where}.secret", f"must be 1 to {MAX_WEBHOOK_SECRET} characters long")


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


def _steps(decoder: Decoder, raw_steps: Any) -> list[Step | None] | None:
    if not isinstance(raw_steps, list) or not raw_steps:
        decoder.add("steps", "a workflow needs a non-empty array of steps")
        return None
    return [
        decoder.tagged(raw, STEP_TYPES, f"steps[{i}]", "step") for i, raw in enumerate(raw_steps)
    ]


def _check_steps(
    decoder: Decoder,
    raw_steps: list[Any],
    steps: list[Step | None],
    known_actions: Collection[str] | None,
) -> bool:
    """Check ids, links and each decoded step; True when ids are unique and every link resolves."""
    ids = [raw.get("id") if isinstance(raw, dict) else None for raw in raw_steps]
    links_ok = True
    first: dict[str, int] = {}
    for position, step_id in enumerate(ids):
        if isinstance(step_id, str) and step_id in first:
            where = f"first at steps[{first[step_id]}]"
            decoder.add(f"steps[{position}].id", f"duplicate step id {step_id!r} ({where})")
            links_ok = False
        elif isinstance(step_id, str):
            first[step_id] = position
    for position, step in enumerate(steps):
        if step is None:
            continue
        path = f"steps[{position}]"
        if not STEP_ID.match(step.id):
            decoder.add(f"{path}.id", f"{step.id!r} is not a valid step id ({STEP_ID_RULE})")
        for where, target in step_targets(step):
            if target not in first:
                decoder.add(f"{path}.{where}", f"unknown step {target!r}")
                links_ok = False
        for where, message in _step_problems(step, known_actions):
            decoder.add(f"{path}{where}", message)
        for where, message in step_secret_problems(step):
            decoder.add(f"{path}{where}", message)
    return links_ok


def _check_graph(decoder: Decoder, definition: Definition) -> None:
    for position in unreachable_steps(definition):
        step_id = definition.steps[position].id
        decoder.add(f"steps[{position}]", f"step {step_id!r} is unreachable from the first step")
    for position in steps_that_never_end(definition):
        step_id = definition.steps[position].id
        decoder.add(
            f"steps[{position}]", f"step {step_id!r} can never reach an end (it only loops)"
        )


def _step_problems(step: Step, known_actions: Collection[str] | None) -> Iterator[tuple[str, str]]:
    if isinstance(step, TaskStep):
        if known_actions is not None and step.action not in known_actions:
            yield ".action", f"unknown action {step.action!r}"
        elif isinstance(known_actions, Mapping):
            for problem in params_problems(step.params, known_actions[step.action]):
                yield f".params{problem.path}", problem.message
        yield from _template_problems(".params", step.params)
        yield from _retry_problems(step.retry)
        if step.timeout is not None and not 0 < step.timeout <= MAX_DURATION:
            yield ".timeout", f"must be more than 0 and at most {MAX_DURATION:.0f} seconds"
        for index, catch in enumerate(step.catch):
            if not catch.errors:
                yield f".catch[{index}].errors", "must name at least one error (or '*')"
    elif isinstance(step, ChoiceStep):
        if not step.choices:
            yield ".choices", "a choice step needs at least one choice"
        for index, choice in enumerate(step.choices):
            try:
                compile_expression(choice.when)
            except ExpressionError as error:
                yield f".choices[{index}].when", str(error)
    elif isinstance(step, WaitStep):
        yield from _wait_problems(step)
    elif isinstance(step, SucceedStep):
        yield from _template_problems(".output", step.output)
    elif isinstance(step, FailStep):
        if not step.error.strip():
            yield ".error", "must not be empty"
        yield from _template_problems(".cause", step.cause)


def _template_problems(path: str, value: Any) -> Iterator[tuple[str, str]]:
    for inner, message in check_template(value):
        yield f"{path}{inner}", message


def _wait_problems(step: WaitStep) -> Iterator[tuple[str, str]]:
    if (step.seconds is None) == (step.until is None):
        yield "", "a wait step needs exactly one of 'seconds' or 'until'"
    if step.seconds is not None and not 0 <= step.seconds <= MAX_DURATION:
        yield ".seconds", f"must be between 0 and {MAX_DURATION:.0f} seconds"
    if step.until is not None:
        yield from _template_problems(".until", step.until)


def _retry_problems(retry: RetryPolicy) -> Iterator[tuple[str, str]]:
    if not 1 <= retry.max_attempts <= MAX_ATTEMPTS_LIMIT:
        yield ".retry.max_attempts", f"must be between 1 and {MAX_ATTEMPTS_LIMIT}"
    if not 0 <= retry.initial_interval <= MAX_DURATION:
        yield ".retry.initial_interval", f"must be between 0 and {MAX_DURATION:.0f} seconds"
    if not 1 <= retry.backoff_rate <= MAX_BACKOFF_RATE:
        yield ".retry.backoff_rate", f"must be between 1 and {MAX_BACKOFF_RATE:.0f}"
    if not retry.initial_interval <= retry.max_interval <= MAX_DURATION:
        yield (
            ".retry.max_interval",
            (f"must be at least initial_interval and at most {MAX_DURATION:.0f} seconds"),
        )
    if not retry.retry_on:
        yield ".retry.retry_on", "must name at least one error (or '*')"
