"""Log lines as an operator reads them: JSON for machines, text on a terminal, with context."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from wfa.adapters.actions.builtin import builtin_actions
from wfa.adapters.actions.catalog import ActionRegistry
from wfa.adapters.observability.logging import configure_logging
from wfa.application.log_context import current_log_context, log_context
from wfa.application.ports.actions import ActionContext
from wfa.entrypoints.local import LocalEngine

log = logging.getLogger("wfa.test")

TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (?P<rest>.*)$")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    """configure_logging changes the process's root logger: put it back after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_open_context_and_the_known_extras():
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    with log_context(run_id="r1", step_id="fetch"):
        log.info("took %s", "the job", extra={"attempt": 2, "request_id": "q9", "token": "x"})
    log.info("outside")

    inside, outside = json_lines(stream)
    assert inside == {
        "time": inside["time"],
        "level": "INFO",
        "logger": "wfa.test",
        "message": "took the job",
        "run_id": "r1",
        "step_id": "fetch",
        "attempt": 2,
        "request_id": "q9",
    }  # "token" is no field of ours: extras are not logged wholesale
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", inside["time"])
    assert datetime.fromisoformat(inside["time"]).utcoffset().total_seconds() == 0
    assert outside["message"] == "outside"
    assert "run_id" not in outside


def test_an_extra_given_at_the_call_wins_over_the_context():
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    with log_context(run_id="outer", workflow_id="w1"), log_context(step_id="inner"):
        log.warning("mixed", extra={"run_id": "explicit"})
    [line] = json_lines(stream)
    assert (line["run_id"], line["workflow_id"], line["step_id"]) == ("explicit", "w1", "inner")
    assert current_log_context() == {}


def test_exceptions_are_logged_with_their_traceback_in_json():
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("the action crashed", extra={"run_id": "r1"})
    [line] = json_lines(stream)
    assert line["level"] == "ERROR"
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert line["exception"].endswith("ValueError: boom")


def test_a_terminal_gets_text_with_the_fields_after_the_message():
    stream = Terminal()
    configure_logging(None, stream=stream)
    with log_context(run_id="r1", step_id="fetch", attempt=3):
        log.info("took the job")
    [line] = stream.getvalue().splitlines()
    match = TEXT_LINE.match(line)
    assert match is not None, line
    assert match["rest"] == "INFO wfa.test: took the job run_id=r1 step_id=fetch attempt=3"


def test_text_includes_the_traceback_after_the_line():
    stream = Terminal()
    configure_logging("text", stream=stream)
    try:
        raise KeyError("missing")
    except KeyError:
        log.exception("lookup failed")
    first, *rest = stream.getvalue().splitlines()
    assert first.endswith("ERROR wfa.test: lookup failed")
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "KeyError: 'missing'"


def test_anything_but_a_terminal_gets_json_and_a_second_call_replaces_the_first():
    first, second = io.StringIO(), io.StringIO()
    configure_logging(None, stream=first)
    configure_logging(None, stream=second)
    log.info("once")
    assert first.getvalue() == ""
    assert json_lines(second)[0]["message"] == "once"


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="text, json"):
        configure_logging("xml", stream=io.StringIO())


async def test_concurrent_tasks_keep_their_own_context():
    stream = io.StringIO()
    configure_logging("json", stream=stream)

    async def attempt(run_id: str) -> None:
        with log_context(run_id=run_id):
            await asyncio.sleep(0)  # the other task runs here, inside its own context
            log.info("working")

    await asyncio.gather(attempt("a"), attempt("b"))
    assert sorted(line["run_id"] for line in json_lines(stream)) == ["a", "b"]


class Chatty:
    """Logs without naming its run: the engine's log context has to."""

    name = "chatty"
    params_type: Any = dict[str, Any]

    async def __call__(self, params: dict[str, Any], context: ActionContext) -> Any:
        logging.getLogger("wfa.test.chatty").info("calling upstream")
        return None


async def test_what_an_action_logs_names_its_run_step_and_attempt():
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    engine = LocalEngine.virtual(actions=ActionRegistry([*builtin_actions(), Chatty()]))
    steps = [{"id": "talk", "type": "task", "action": "chatty"}]
    details = await engine.run_once({"name": "chat", "steps": steps})

    [line] = [line for line in json_lines(stream) if line["logger"] == "wfa.test.chatty"]
    assert line["run_id"] == details.run.id
    assert line["workflow_id"] == details.run.workflow_id
    assert (line["step_id"], line["attempt"]) == ("talk", 1)
