"""Inputs, definitions and outputs no store keeps: NUL in text, nesting past the limit.

Every persistence adapter refuses them alike (SQLite would keep NUL, PostgreSQL would not):
an input or a definition is refused before anything is stored; an action's output or error
fails its attempt once with a named error instead of looping as a lost job.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.application.conftest import task, workflow
from wfa.application.errors import StoreRefused
from wfa.application.payloads import (
    DEFAULT_MAX_JSON_DEPTH,
    PayloadTooDeep,
    UnstorableText,
    check_json_text,
)
from wfa.application.ports.actions import ActionError
from wfa.domain.commands import CompleteAttempt
from wfa.domain.run import RunStatus


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("output", "where"),
    [
        ({"body": "a\x00b"}, "at body"),
        ({"list": [1, {"k\x00": 1}]}, "at list[1].k\\u0000 (a key)"),
    ],
)
async def test_an_output_with_nul_fails_the_attempt_once_as_output_invalid(
    make_engine, scripted, output, where
):
    engine = make_engine(nul=lambda call, ctx: output)
    details = await engine.run_once(workflow(task("call", "nul", retry={"max_attempts": 3})))
    assert details.run.status is RunStatus.FAILED
    assert details.run.error is not None
    assert details.run.error.error == "output.invalid"
    assert where in details.run.error.message
    assert len(scripted["nul"].calls) == 1, "not retried: it would fail the same way"


async def test_an_output_nested_past_the_limit_fails_as_output_invalid(make_engine, scripted):
    engine = make_engine(deep=lambda call, ctx: nested(DEFAULT_MAX_JSON_DEPTH + 1))
    details = await engine.run_once(workflow(task("call", "deep", retry={"max_attempts": 3})))
    assert details.run.error is not None
    assert details.run.error.error == "output.invalid"
    assert f"deeper than {DEFAULT_MAX_JSON_DEPTH} levels" in details.run.error.message
    assert len(scripted["deep"].calls) == 1


async def test_an_output_at_the_limit_is_kept(make_engine):
    engine = make_engine(deep=lambda call, ctx: nested(DEFAULT_MAX_JSON_DEPTH - 1))
    details = await engine.run_once(workflow(task("call", "deep")))
    assert details.run.status is RunStatus.SUCCEEDED


async def test_an_error_message_with_nul_is_recorded_with_the_nul_spelled_out(make_engine):
    engine = make_engine(
        bad=lambda call, ctx: ActionError("upstream.bad", "body: a\x00b", retryable=False)
    )
    details = await engine.run_once(workflow(task("call", "bad")))
    assert details.run.status is RunStatus.FAILED
    assert details.run.error is not None
    assert details.run.error.message == "body: a\\u0000b"


async def test_an_outcome_the_store_refuses_fails_the_attempt_once_saying_why(
    make_engine, scripted
):
    engine = make_engine(echo=lambda call, ctx: {"n": call})
    refusing = RefusingTransitions(engine.transitions)
    engine.execute_step._moves = refusing  # a spy in front of the real write path
    details = await engine.run_once(workflow(task("call", "echo", retry={"max_attempts": 3})))
    assert details.run.status is RunStatus.FAILED
    assert details.run.error is not None
    assert details.run.error.error == "output.invalid"
    assert "could not be stored: the store refused the data: no NUL here" in (
        details.run.error.message
    )
    assert len(scripted["echo"].calls) == 1
    assert refusing.refused == 1


class RefusingTransitions:
    """The real transitions, but the store refuses every completed attempt's output."""

    def __init__(self, inner: Any) -> None:
        self._inner, self.refused = inner, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def apply(self, run_id: str, command: Any, **options: Any) -> Any:
        if isinstance(command, CompleteAttempt):
            self.refused += 1
            raise StoreRefused("no NUL here\nDETAIL: more")
        return await self._inner.apply(run_id, command, **options)


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"a": ["x", "y\x00"]}, "at a[1]"),
        ({"\x00": 1}, "at \\u0000 (a key)"),
        ("\x00", "holds a NUL"),
    ],
)
async def test_an_input_with_nul_is_refused_naming_where(make_engine, value, where):
    engine = make_engine()
    wf = await engine.add_workflow(workflow(task("a")))
    with pytest.raises(UnstorableText, match="the run's input holds a NUL") as refused:
        await engine.start(wf.id, value)
    assert where in str(refused.value)


async def test_an_input_nested_past_the_limit_is_refused(make_engine):
    engine = make_engine()
    wf = await engine.add_workflow(workflow(task("a")))
    with pytest.raises(PayloadTooDeep, match="the run's input nests"):
        await engine.start(wf.id, nested(5_000))


async def test_a_definition_with_nul_or_too_deep_is_refused_before_it_is_read(make_engine):
    engine = make_engine()
    with pytest.raises(UnstorableText, match=r"the definition .* at steps\[0\]\.params\.x"):
        await engine.add_workflow(workflow(task("a", "set", params={"x": "a\x00"})))
    with pytest.raises(PayloadTooDeep, match="the definition nests"):
        await engine.add_workflow(workflow(task("a", "set", params={"x": nested(5_000)})))


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 65 + b"1" + b"}" * 65,
        b"[" * 65,  # not even JSON: refused for its depth all the same
    ],
)
def test_raw_json_past_the_depth_is_refused_without_decoding(raw):
    with pytest.raises(PayloadTooDeep):
        check_json_text(raw, "the body")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":' * 64 + b"1" + b"}" * 64,
        b'["' + b"[" * 1000 + b'"]',  # brackets inside a string do not nest
        b'["\\"' + b"[" * 1000 + b'"]',  # nor after an escaped quote
        b"[]" * 1000,
    ],
)
def test_raw_json_within_the_depth_passes(raw):
    check_json_text(raw, "the body")


async def test_an_idempotency_key_with_nul_is_refused(make_engine):
    engine = make_engine()
    wf = await engine.add_workflow(workflow(task("a")))
    with pytest.raises(UnstorableText, match="the idempotency key holds a NUL"):
        await engine.start(wf.id, {}, idempotency_key="k\x00")
