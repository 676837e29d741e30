"""The checks of one decoded step: its fields' ranges, expressions, params and list limits."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from wfa.domain.definition import (
    FAN_STEPS,
    NOTIFIED_EVENTS,
    AwaitStep,
    Catch,
    ChoiceStep,
    EventTrigger,
    FailStep,
    FanStep,
    MapStep,
    Notify,
    OnFailure,
    Step,
    SucceedStep,
    TaskStep,
    WaitStep,
    WorkflowStep,
)
from wfa.domain.errors import ExpressionError
from wfa.domain.expressions import check_template, compile_expression, is_whole_template
from wfa.domain.limits import DefinitionLimits, too_many
from wfa.domain.params import params_problems
from wfa.domain.payload_schema import schema_problems
from wfa.domain.retry import RetryPolicy
from wfa.domain.secrets import SECRET_NAME
from wfa.domain.suggestions import did_you_mean, known_names

MAX_ATTEMPTS_LIMIT = 100
MAX_BACKOFF_RATE = 100.0
MAX_VERSION = 2**31 - 1  # versions are numbered in a 32-bit column
MAX_DURATION = 366 * 24 * 3600.0  # a year and a day: the longest wait, backoff or timeout
SIGNAL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$")
SIGNAL_NAME_RULE = "letters, digits and _ . : -, at most 128"


def step_problems(
    step: Step, known_actions: Collection[str] | None, limits: DefinitionLimits
) -> Iterator[tuple[str, str]]:
    """Every problem of one decoded step, as ``(path inside the step, message)``."""
    longest = limits.max_expression_length
    if isinstance(step, TaskStep):
        yield from _task_problems(step, known_actions, limits)
    elif isinstance(step, ChoiceStep):
        yield from _choice_problems(step, limits)
    elif isinstance(step, WaitStep):
        yield from _wait_problems(step, longest)
    elif isinstance(step, SucceedStep):
        yield from _template_problems(".output", step.output, longest)
    elif isinstance(step, FailStep):
        if not step.error.strip():
            yield ".error", "must not be empty"
        yield from _template_problems(".cause", step.cause, longest)
    elif isinstance(step, FAN_STEPS):
        yield from _fan_problems(step, limits)
    elif isinstance(step, AwaitStep):
        yield from _await_problems(step, limits)


def _await_problems(step: AwaitStep, limits: DefinitionLimits) -> Iterator[tuple[str, str]]:
    if (step.signal is None) == (step.event is None):
        yield "", "an await step needs exactly one of 'signal' or 'event'"
    for field, name in ((".signal", step.signal), (".event", step.event)):
        if name is not None and not SIGNAL_NAME.fullmatch(name):
            yield field, f"{name!r} is not a valid {field[1:]} name ({SIGNAL_NAME_RULE})"
    if step.match is not None and step.event is None:
        yield ".match", "only an await for an 'event' has a match"
    elif step.match is not None:
        try:
            compile_expression(step.match, limits.max_expression_length)
        except ExpressionError as error:
            yield ".match", str(error)
    yield from duration_problems(".timeout", step.timeout)
    if step.schema is not None:
        for where, message in schema_problems(step.schema):
            yield f".schema{where}", message
    yield from _retry_problems(step.retry, limits)
    yield from _catch_problems(step.catch, limits)


def event_trigger_problems(
    trigger: EventTrigger, limits: DefinitionLimits
) -> Iterator[tuple[str, str]]:
    if not SIGNAL_NAME.fullmatch(trigger.name):
        yield "name", f"{trigger.name!r} is not a valid event name ({SIGNAL_NAME_RULE})"
    if trigger.filter is not None:
        try:
            compile_expression(trigger.filter, limits.max_expression_length)
        except ExpressionError as error:
            yield "filter", str(error)


NOTIFY_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
MAX_URL_LENGTH = 2048


def notify_problems(
    targets: tuple[Notify, ...], limits: DefinitionLimits
) -> Iterator[tuple[str, str]]:
    refusal = too_many(limits, "max_notify", len(targets), "notify targets")
    if refusal is not None:
        yield "notify", refusal
        return
    for index, target in enumerate(targets):
        where = f"notify[{index}]"
        if len(target.url) > MAX_URL_LENGTH or not NOTIFY_URL.match(target.url):
            yield f"{where}.url", "must be an http:// or https:// URL (no templates)"
        if not target.events:
            yield f"{where}.events", "must name at least one event"
        for event in target.events:
            if event not in NOTIFIED_EVENTS:
                known = ", ".join(NOTIFIED_EVENTS)
                yield f"{where}.events", f"unknown event {event!r} (known: {known})"
        if target.secret is not None and not SECRET_NAME.fullmatch(target.secret):
            yield f"{where}.secret", "must be the name of a stored secret (wfa secret set NAME)"


def on_failure_problems(on_failure: OnFailure | None) -> Iterator[tuple[str, str]]:
    if on_failure is None:
        return
    if not on_failure.workflow.strip():
        yield "on_failure.workflow", "must name a workflow (its id or its name)"
    if on_failure.version is not None and not 1 <= on_failure.version <= MAX_VERSION:
        yield "on_failure.version", f"must be between 1 and {MAX_VERSION}"


def duration_problems(path: str, seconds: float | None) -> Iterator[tuple[str, str]]:
    """A timeout: more than 0, at most a year and a day."""
    if seconds is not None and not 0 < seconds <= MAX_DURATION:
        yield path, f"must be more than 0 and at most {MAX_DURATION:.0f} seconds"


def _fan_problems(step: FanStep, limits: DefinitionLimits) -> Iterator[tuple[str, str]]:
    longest = limits.max_expression_length
    yield from _template_problems(".input", step.input, longest)
    yield from _retry_problems(step.retry, limits)
    yield from _catch_problems(step.catch, limits)
    if isinstance(step, MapStep):
        if not is_whole_template(step.items):
            yield ".items", "must be one template that yields a list, like '{{ input.orders }}'"
        else:
            yield from _template_problems(".items", step.items, longest)
        most = limits.max_map_concurrency
        if not 1 <= step.max_concurrency <= most:
            yield ".max_concurrency", f"must be between 1 and {most:,} (WFA_MAX_MAP_CONCURRENCY)"
        yield from _tolerance_problems(step.tolerated_failures)
    if isinstance(step, WorkflowStep):
        if not step.workflow.strip():
            yield ".workflow", "must name a workflow (its id or its name)"
        if step.version is not None and not 1 <= step.version <= MAX_VERSION:
            yield ".version", f"must be between 1 and {MAX_VERSION}"


def _tolerance_problems(tolerated: int | str) -> Iterator[tuple[str, str]]:
    if isinstance(tolerated, int):
        if tolerated < 0:
            yield ".tolerated_failures", "must be 0 or more"
        return
    number = tolerated[:-1] if tolerated.endswith("%") else None
    try:
        percent = float(number) if number is not None else None
    except ValueError:
        percent = None
    if percent is None or not 0 <= percent <= 100:
        yield ".tolerated_failures", "must be a count (3) or a percentage from 0% to 100% ('10%')"


def _task_problems(
    step: TaskStep, known_actions: Collection[str] | None, limits: DefinitionLimits
) -> Iterator[tuple[str, str]]:
    longest = limits.max_expression_length
    if known_actions is not None and step.action not in known_actions:
        hint = did_you_mean(step.action, known_actions)
        yield ".action", f"unknown action {step.action!r}{hint} ({known_names(known_actions)})"
    elif isinstance(known_actions, Mapping):
        kind = known_actions[step.action]
        for problem in params_problems(step.params, kind, max_expression_length=longest):
            yield f".params{problem.path}", problem.message
    yield from _template_problems(".params", step.params, longest)
    yield from _retry_problems(step.retry, limits)
    yield from duration_problems(".timeout", step.timeout)
    if step.callback is not None:
        yield from duration_problems(".callback.timeout", step.callback.timeout)
    yield from _catch_problems(step.catch, limits)


def _catch_problems(
    catches: tuple[Catch, ...], limits: DefinitionLimits
) -> Iterator[tuple[str, str]]:
    refusal = too_many(limits, "max_catches", len(catches), "catch entries")
    if refusal is not None:
        yield ".catch", refusal
        return
    for index, catch in enumerate(catches):
        if not catch.errors:
            yield f".catch[{index}].errors", "must name at least one error (or '*')"
        refusal = too_many(limits, "max_error_names", len(catch.errors), "error names")
        if refusal is not None:
            yield f".catch[{index}].errors", refusal


def _choice_problems(step: ChoiceStep, limits: DefinitionLimits) -> Iterator[tuple[str, str]]:
    if not step.choices:
        yield ".choices", "a choice step needs at least one choice"
    refusal = too_many(limits, "max_choices", len(step.choices), "choices")
    if refusal is not None:
        yield ".choices", refusal
        return
    for index, choice in enumerate(step.choices):
        try:
            compile_expression(choice.when, limits.max_expression_length)
        except ExpressionError as error:
            yield f".choices[{index}].when", str(error)


def _template_problems(path: str, value: Any, longest: int) -> Iterator[tuple[str, str]]:
    for inner, message in check_template(value, longest):
        yield f"{path}{inner}", message


def _wait_problems(step: WaitStep, longest: int) -> Iterator[tuple[str, str]]:
    if (step.seconds is None) == (step.until is None):
        yield "", "a wait step needs exactly one of 'seconds' or 'until'"
    if step.seconds is not None and not 0 <= step.seconds <= MAX_DURATION:
        yield ".seconds", f"must be between 0 and {MAX_DURATION:.0f} seconds"
    if step.until is not None:
        yield from _template_problems(".until", step.until, longest)


def _retry_problems(retry: RetryPolicy, limits: DefinitionLimits) -> Iterator[tuple[str, str]]:
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
    refusal = too_many(limits, "max_error_names", len(retry.retry_on), "error names")
    if refusal is not None:
        yield ".retry.retry_on", refusal
