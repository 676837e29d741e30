"""Property tests of the run state machine: random acyclic definitions, hostile deliveries.

A ``RuleBasedStateMachine`` drives one run of a generated definition the way the engine's
surroundings may: jobs delivered late, twice or never, workers that die, a clock that jumps,
cancels and resumes at any moment. After every step the whole history is checked against
oracles written here, independently of the machine: append-only, replayable, terminal states
absorb, retries bounded and delayed as the policy says, stale deliveries change nothing.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from wfa.domain import machine
from wfa.domain.commands import (
    BeginAttempt,
    Cancel,
    CompleteAttempt,
    Create,
    ExtendLease,
    FailAttempt,
    Resume,
    RunCommand,
    Start,
    Wake,
)
from wfa.domain.definition import ChoiceStep, Definition, FailStep, TaskStep, WaitStep
from wfa.domain.errors import IllegalTransition
from wfa.domain.events import (
    AttemptFailed,
    AttemptLeaseExtended,
    AttemptQueued,
    AttemptScheduled,
    AttemptStarted,
    AttemptSucceeded,
    ErrorInfo,
    Event,
    RunCancelled,
    RunCreated,
    RunFailed,
    RunResumed,
    RunStarted,
    StepCaught,
    WaitEnded,
)
from wfa.domain.progress import Decision, EngineSettings, Job
from wfa.domain.retry import RetryPolicy
from wfa.domain.run import AttemptStatus, Run, RunStatus, replay
from wfa.domain.validation import parse_definition

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FLAGS = 4
ERROR_NAMES = ("http.timeout", "http.500", "retry.me", "fatal", "boom")
TERMINAL_EVENTS = (RunSucceeded := None,)  # replaced below; keeps the import list honest
del TERMINAL_EVENTS, RunSucceeded

from wfa.domain.events import RunSucceeded  # noqa: E402

TERMINAL_EVENTS = (RunSucceeded, RunFailed, RunCancelled)
