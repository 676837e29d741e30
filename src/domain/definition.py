"""The workflow definition: plain data, decoded once and then read by the run state machine."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

import msgspec

from wfa.domain.retry import RetryPolicy, error_matches

END = "$end"
"""The target of a step that runs off the end of the list: the run succeeds."""
DEFAULT_AWAIT_TIMEOUT = 24 * 3600.0
"""How long an await step or a task's callback waits when its definition does not say."""


class _Data(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """Base of the definition's values: immutable, keyword-built, strict about unknown fields."""


class Catch(_Data, frozen=True, kw_only=True):
    """Route errors that are not (or no longer) retried to another step."""

    next: str
    errors: tuple[str, ...] = ("*",)

    def catches(self, error: str) -> bool:
        return error_matches(error, self.errors)


class Choice(_Data, frozen=True, kw_only=True):
    """One branch of a choice step: ``when`` is a JMESPath condition over the run context."""

    when: str
    next: str


class _Step(_Data, frozen=True, tag_field="type"):
    id: str
    comment: str | None = None


def _catcher(catches: tuple[Catch, ...], error: str) -> Catch | None:
    return next((catch for catch in catches if catch.catches(error)), None)


class Callback(_Data, frozen=True, kw_only=True):
    """A task whose action hands a link to someone else: the step ends when it is used.

    ``timeout`` counts from the attempt's start, the action's own run included.
    """

    timeout: float = DEFAULT_AWAIT_TIMEOUT


class TaskStep(_Step, tag="task", frozen=True, kw_only=True):
    """Run an action with templated params, retried by its policy, caught by its catchers.

    With ``callback`` the step does not end with its action: it waits for its callback URL
    to be used, and takes what was posted there as its output.
    """

    action: str
    params: dict[str, Any] = {}
    next: str | None = None
    retry: RetryPolicy = RetryPolicy()
    timeout: float | None = None
    catch: tuple[Catch, ...] = ()
    callback: Callback | None = None

    def catcher_for(self, error: str) -> Catch | None:
        return _catcher(self.catch, error)


class ChoiceStep(_Step, tag="choice", frozen=True, kw_only=True):
    """Go to the first choice whose condition holds, else to ``default`` (else the run fails)."""

    choices: tuple[Choice, ...]
    default: str | None = None


class WaitStep(_Step, tag="wait", frozen=True, kw_only=True):
    """Pause the run for ``seconds`` or until a timestamp (``until`` may be a template)."""

    seconds: float | None = None
    until: str | None = None
    next: str | None = None


class _FanStep(_Step, frozen=True, kw_only=True):
    """A step that runs child runs and waits for them: retried and caught like a task."""

    input: Any = None  # template; the children's input (default: this run's input)
    next: str | None = None
    # Unlike a task, running every child again is rarely what a failure calls for.
    retry: RetryPolicy = RetryPolicy(max_attempts=1)
    catch: tuple[Catch, ...] = ()

    def catcher_for(self, error: str) -> Catch | None:
        return _catcher(self.catch, error)


class Branch(_Data, frozen=True, kw_only=True):
    """One branch of a parallel step: a step list of its own, ids scoped to it."""

    name: str
    steps: tuple[Step, ...]


BranchFailure = Literal["fail", "continue"]


class ParallelStep(_FanStep, tag="parallel", frozen=True, kw_only=True):
    """Run every branch at once; the output maps each branch's name to its output.

    The first branch failure cancels the others and fails the step (``on_branch_failure:
    fail``), or is kept as ``{"error": ...}`` in the output (``continue``).
    """

    branches: tuple[Branch, ...]
    on_branch_failure: BranchFailure = "fail"


class MapStep(_FanStep, tag="map", frozen=True, kw_only=True):
    """Run ``steps`` once per item of the list ``items`` yields, ``max_concurrency`` at once.

    ``tolerated_failures`` is a count (``3``) or a percentage of the items (``"10%"``); the
    output lists each iteration's output in item order, ``null`` for a tolerated failure.
    """

    items: str
    steps: tuple[Step, ...]
    max_concurrency: int = 10
    tolerated_failures: int | str = 0

    def tolerated(self, total: int) -> int:
        """How many iterations of ``total`` may fail before the step fails."""
        if isinstance(self.tolerated_failures, int):
            return self.tolerated_failures
        percent = float(self.tolerated_failures.rstrip("%"))
        return int(total * percent / 100)


class WorkflowStep(_FanStep, tag="workflow", frozen=True, kw_only=True):
    """Start a run of another workflow (by id or name) and take its output when it ends.

    With ``wait: false`` the step goes on at once with ``{"run_id": ...}``.
    """

    workflow: str
    version: int | None = None
    wait: bool = True


class AwaitStep(_Step, tag="await", frozen=True, kw_only=True):
    """Pause until the run receives the signal ``signal``, or until an event ``event`` is
    published for which ``match`` holds; its payload is the step's output.

    A signal sent before the run got here waits in the run's inbox; an event counts only
    once the step waits. After ``timeout`` seconds the step fails with ``await.timeout``,
    retried and caught like a task's error. ``schema`` (a JSON Schema subset, see
    ``payload_schema``) is the shape the payload must have.
    """

    signal: str | None = None
    event: str | None = None
    match: str | None = None  # JMESPath over the run's context plus ``event`` (the payload)
    timeout: float = DEFAULT_AWAIT_TIMEOUT
    schema: dict[str, Any] | None = None
    next: str | None = None
    retry: RetryPolicy = RetryPolicy(max_attempts=1)  # waiting once more is rarely the cure
    catch: tuple[Catch, ...] = ()

    def catcher_for(self, error: str) -> Catch | None:
        return _catcher(self.catch, error)


class SucceedStep(_Step, tag="succeed", frozen=True, kw_only=True):
    """End the run successfully; ``output`` (templated) is its result."""

    output: Any = None


class FailStep(_Step, tag="fail", frozen=True, kw_only=True):
    """End the run as failed with a named error and an optional templated cause."""

    error: str = "Failed"
    cause: str | None = None


FanStep = ParallelStep | MapStep | WorkflowStep
Step = TaskStep | ChoiceStep | WaitStep | SucceedStep | FailStep | FanStep | AwaitStep
STEP_TYPES: dict[str, type[Step]] = {
    "task": TaskStep,
    "choice": ChoiceStep,
    "wait": WaitStep,
    "succeed": SucceedStep,
    "fail": FailStep,
    "parallel": ParallelStep,
    "map": MapStep,
    "workflow": WorkflowStep,
    "await": AwaitStep,
}
FAN_STEPS = (ParallelStep, MapStep, WorkflowStep)
# Steps that run as attempts: retried by their policy, caught by their catchers.
ATTEMPTED_STEPS = (TaskStep, AwaitStep, *FAN_STEPS)
AttemptedStep = TaskStep | AwaitStep | FanStep
SCOPE_SEPARATOR = "/"
"""Joins the parts of a scope: ``fan`` (a map's steps), ``par/a`` (branch a of step par)."""


class _Trigger(_Data, frozen=True, tag_field="type"):
    pass


class ManualTrigger(_Trigger, tag="manual", frozen=True, kw_only=True):
    """Started by a client through the API or the command line."""


SignatureScheme = Literal["wfa", "github", "stripe", "slack"]


class WebhookTrigger(_Trigger, tag="webhook", frozen=True, kw_only=True):
    """Started by ``POST /hooks/{path}``; with a secret, requests are signed per ``signature``.

    A stored definition holds the secret sealed (see ``application/webhook_secrets.py``);
    only a definition fresh from the user holds it in plain text.
    """

    path: str
    secret: str | None = None
    signature: SignatureScheme = "wfa"


Overlap = Literal["skip", "buffer_one", "allow"]


class ScheduleTrigger(_Trigger, tag="schedule", frozen=True, kw_only=True):
    """Started on a cron schedule in a time zone, with a policy for overlapping runs."""

    cron: str
    timezone: str = "UTC"
    overlap: Overlap = "skip"


class EventTrigger(_Trigger, tag="event", frozen=True, kw_only=True):
    """Started by each published event called ``name`` for which ``filter`` (JMESPath over
    the event's payload) holds; the payload is the run's input."""

    name: str
    filter: str | None = None


Trigger = ManualTrigger | WebhookTrigger | ScheduleTrigger | EventTrigger
TRIGGER_TYPES: dict[str, type[Trigger]] = {
    "manual": ManualTrigger,
    "webhook": WebhookTrigger,
    "schedule": ScheduleTrigger,
    "event": EventTrigger,
}


MIN_RUN_EVENTS = 2
"""The smallest history budget: a run's first event (run.created) and its last (run.failed)."""
MAX_RUN_EVENTS = 2**31 - 1
"""The largest: a run's events are numbered (seq) in a 32-bit column."""


class OnFailure(_Data, frozen=True, kw_only=True):
    """The workflow (an id or a name) a failed run of this workflow starts, once per failure."""

    workflow: str
    version: int | None = None


NOTIFIED_EVENTS = ("run.started", "run.succeeded", "run.failed", "run.cancelled")


class Notify(_Data, frozen=True, kw_only=True):
    """Tell ``url`` (a POST, signed with the stored secret named ``secret`` when given) when
    a run of this workflow records one of ``events``."""

    url: str
    events: tuple[str, ...] = ("run.failed",)
    secret: str | None = None


class Limits(_Data, frozen=True, kw_only=True):
    """Bounds one workflow sets on its runs; each may only lower the engine's own."""

    max_events: int | None = None  # the history budget of each run of this workflow


class Definition(_Data, frozen=True, kw_only=True, dict=True):
    """A whole workflow definition. Build it with ``validation.parse_definition``."""

    name: str
    steps: tuple[Step, ...]
    triggers: tuple[Trigger, ...] = (ManualTrigger(),)
    description: str | None = None
    limits: Limits = Limits()
    timeout: float | None = None  # seconds a run may take from its start: run.timeout after
    on_failure: OnFailure | None = None
    notify: tuple[Notify, ...] = ()

    @cached_property
    def _index(self) -> dict[str, int]:
        return {step.id: position for position, step in enumerate(self.steps)}

    @property
    def start(self) -> Step:
        return self.steps[0]

    def step(self, step_id: str) -> Step:
        """The step with this id; KeyError if there is none."""
        return self.steps[self._index[step_id]]

    def has_step(self, step_id: str) -> bool:
        return step_id in self._index

    def scoped(self, scope: str | None) -> Definition:
        """The step list a child run follows: the whole workflow, a branch, or a map's steps.

        KeyError when the scope names no such list (a definition it was not made from).
        """
        if not scope:
            return self
        steps = self.steps
        parts = scope.split(SCOPE_SEPARATOR)
        while parts:
            step = _find(steps, parts.pop(0))
            if isinstance(step, ParallelStep):
                steps = _find(step.branches, parts.pop(0)).steps
            elif isinstance(step, MapStep):
                steps = step.steps
            else:
                raise KeyError(scope)
        # A branch or an iteration lives within its parent's deadline, not a fresh one, and
        # its failure is its parent's step's to handle, not the workflow's error workflow's.
        return msgspec.structs.replace(self, steps=steps, timeout=None, on_failure=None, notify=())

    def following(self, step: AttemptedStep | WaitStep) -> str:
        """Where a task or wait step goes on success: its ``next``, the next in list, or END."""
        if step.next is not None:
            return step.next
        position = self._index[step.id] + 1
        return self.steps[position].id if position < len(self.steps) else END

    def event_budget(self, engine_limit: int) -> int:
        """The most events a run of this workflow may hold: the lower of the two limits."""
        own = self.limits.max_events
        return engine_limit if own is None else min(own, engine_limit)

    def to_builtins(self) -> dict[str, Any]:
        """The definition as plain JSON-like data, ready to store or send."""
        data: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(self))
        return data


def _find(items: tuple[Any, ...], key: str) -> Any:
    """The step (by id) or branch (by name) called ``key``."""
    for item in items:
        if (item.name if isinstance(item, Branch) else item.id) == key:
            return item
    raise KeyError(key)


def child_scope(scope: str | None, step: FanStep, branch: str | None = None) -> str | None:
    """The scope of a child of ``step`` (run in ``scope``); None for another workflow's run."""
    if isinstance(step, WorkflowStep):
        return None
    parts = [*([scope] if scope else []), step.id, *([branch] if branch is not None else [])]
    return SCOPE_SEPARATOR.join(parts)
