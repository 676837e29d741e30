"""Secrets through the use cases: stored sealed, rendered into params, redacted from the rest.

Runs go through ``make_engine``, so each case runs on memory, SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from tests.unit.application.conftest import task, workflow
from wfa.adapters.clock import FakeClock
from wfa.adapters.observability.logging import install_secret_redaction
from wfa.adapters.persistence.memory import MemoryStore
from wfa.adapters.secrets.fernet import FernetCipher, generate_key
from wfa.application.errors import InvalidSecret, NotFound, UnreadableSecret
from wfa.application.ports.actions import ActionContext
from wfa.application.use_cases.secrets import (
    DeleteSecret,
    ListSecrets,
    ResolveSecrets,
    RotateSecrets,
    SetSecret,
)
from wfa.domain.run import RunStatus

VALUE = "hunter2-Sup3r-s3cret"


def everything(details: Any) -> str:
    """The run, every attempt and the whole history, as the API would send them."""
    return msgspec.json.encode(details).decode()


async def test_set_creates_then_replaces_keeping_the_creation_time():
    store, clock = MemoryStore(), FakeClock()
    cipher = FernetCipher.from_text(generate_key())
    put = SetSecret(store.unit_of_work, cipher, clock)
    first, created = await put.execute("TOKEN", "one")
    assert created
    clock.advance(300)
    second, created_again = await put.execute("TOKEN", "two")
    assert not created_again
    assert second.created_at == first.created_at
    assert second.updated_at == first.updated_at + timedelta(minutes=5)
    assert b"two" not in store.secrets["TOKEN"].ciphertext
    assert cipher.open("TOKEN", store.secrets["TOKEN"].ciphertext) == "two"


async def test_list_by_name_and_delete():
    store = MemoryStore()
    put = SetSecret(store.unit_of_work, FernetCipher.from_text(generate_key()), FakeClock())
    for name in ("b", "A", "a"):
        await put.execute(name, "v")
    assert [s.name for s in await ListSecrets(store.unit_of_work).execute()] == ["A", "a", "b"]
    await DeleteSecret(store.unit_of_work).execute("a")
    assert [s.name for s in await ListSecrets(store.unit_of_work).execute()] == ["A", "b"]
    with pytest.raises(NotFound, match="secret 'a' not found"):
        await DeleteSecret(store.unit_of_work).execute("a")


@pytest.mark.parametrize(("name", "value"), [("bad-name", "v"), ("ok", ""), ("ok", "x" * 70_000)])
async def test_bad_names_and_values_are_refused(name, value):
    store = MemoryStore()
    put = SetSecret(store.unit_of_work, FernetCipher.from_text(generate_key()), FakeClock())
    with pytest.raises(InvalidSecret):
        await put.execute(name, value)
    assert store.secrets == {}


async def test_rotate_reseals_everything_with_the_first_key():
    old, new = generate_key(), generate_key()
    store = MemoryStore()
    put = SetSecret(store.unit_of_work, FernetCipher.from_text(old), FakeClock())
    await put.execute("A", "a-value")
    await put.execute("B", "b-value")
    before = dict(store.secrets)
    rotated = await RotateSecrets(
        store.unit_of_work, FernetCipher.from_text(f"{new},{old}")
    ).execute()
    assert rotated.secrets == 2
    resolve = ResolveSecrets(store.unit_of_work, FernetCipher.from_text(new))  # old key gone
    assert await resolve.values(["A", "B"]) == {"A": "a-value", "B": "b-value"}
    assert store.secrets["A"].updated_at == before["A"].updated_at, "the value did not change"


async def test_rotate_changes_nothing_when_a_secret_does_not_open():
    store = MemoryStore()
    await SetSecret(
        store.unit_of_work, FernetCipher.from_text(generate_key()), FakeClock()
    ).execute("A", "v")
    before = dict(store.secrets)
    with pytest.raises(UnreadableSecret, match="'A'"):
        await RotateSecrets(store.unit_of_work, FernetCipher.from_text(generate_key())).execute()
    assert store.secrets == before


async def test_a_step_gets_the_value_and_nothing_recorded_holds_it(make_engine, scripted):
    def crash_with_it(call: int, context: ActionContext) -> Any:
        params = scripted["crash"].calls[-1][0]
        return RuntimeError(f"connection refused for {params['token']}")

    engine = make_engine(echo=lambda call, ctx: scripted["echo"].calls[-1][0], crash=crash_with_it)
    await engine.set_secret.execute("TOKEN", VALUE)
    await engine.set_secret.execute("OTHER", "never-read-value")
    details = await engine.run_once(
        workflow(
            task("echo", "echo", params={"auth": "Bearer {{ secrets.TOKEN }}", "all": "{{ @ }}"}),
            task(
                "crash", "crash", params={"token": "{{ secrets.TOKEN }}"}, retry={"max_attempts": 1}
            ),
        )
    )
    sent, _ = scripted["echo"].calls[0]
    assert sent["auth"] == f"Bearer {VALUE}", "the action gets the value itself"
    assert "secrets" not in sent["all"], "no expression but a bare reference sees a secret"
    assert "never-read-value" not in repr(scripted["echo"].calls)

    assert details.run.status is RunStatus.FAILED
    assert details.run.outputs["echo"]["auth"] == "Bearer ***"
    assert details.run.error is not None
    assert details.run.error.error == "action.crashed"
    assert details.run.error.message == "RuntimeError: connection refused for ***"
    assert VALUE not in everything(details)
    assert "secrets" not in details.run.context(), "secrets never join the run"


async def test_an_error_message_echoing_the_secret_is_redacted(make_engine):
    engine = make_engine()
    await engine.set_secret.execute("TOKEN", VALUE)
    details = await engine.run_once(
        workflow(
            task(
                "fail",
                "fail",
                params={"error": "auth.{{ secrets.TOKEN }}", "message": "bad {{ secrets.TOKEN }}"},
                retry={"max_attempts": 2, "initial_interval": 0},
            ),
        )
    )
    assert details.run.error is not None
    assert (details.run.error.error, details.run.error.message) == ("auth.***", "bad ***")
    assert [a.error.message for a in details.attempts if a.error] == ["bad ***", "bad ***"]
    assert VALUE not in everything(details)


async def test_logs_made_during_the_attempt_are_redacted(make_engine, scripted, caplog):
    install_secret_redaction()

    def crash(call: int, context: ActionContext) -> Any:
        logging.getLogger("plugin").warning("calling with %s", scripted["crash"].calls[-1][0])
        return ValueError(f"token {VALUE} refused")

    engine = make_engine(crash=crash)
    await engine.set_secret.execute("TOKEN", VALUE)
    caplog.set_level(logging.DEBUG)
    details = await engine.run_once(
        workflow(
            task("log", "log", params={"message": "token={{ secrets.TOKEN }}"}),
            task("crash", "crash", params={"t": "{{ secrets.TOKEN }}"}, retry={"max_attempts": 1}),
        )
    )
    assert details.run.status is RunStatus.FAILED
    messages = [record.getMessage() for record in caplog.records]
    assert "token=***" in messages
    assert "calling with {'t': '***'}" in messages
    crashed = next(r for r in caplog.records if r.getMessage().startswith("action crash crashed"))
    assert crashed.exc_text is not None
    assert "ValueError: token *** refused" in crashed.exc_text
    assert not any(VALUE in r.getMessage() or VALUE in (r.exc_text or "") for r in caplog.records)
    logging.getLogger("after").warning("not redacted outside an attempt: %s", VALUE)
    assert VALUE in caplog.records[-1].getMessage()


async def test_an_unknown_secret_fails_the_step_at_once_naming_it(make_engine):
    engine = make_engine()
    await engine.set_secret.execute("KNOWN", "v")
    details = await engine.run_once(
        workflow(
            task(
                "a",
                "set",
                params={"x": "{{ secrets.KNOWN }}", "y": "{{ secrets.NOPE }}"},
                retry={"max_attempts": 3},
            )
        )
    )
    assert details.run.error is not None
    assert details.run.error.error == "secret.missing"
    assert not details.run.error.retryable
    assert "no secret named 'NOPE'" in details.run.error.message
    assert "wfa secret set NOPE" in details.run.error.message
    assert len(details.attempts) == 1


async def test_a_secret_that_no_key_opens_fails_as_unreadable(make_engine):
    engine = make_engine()
    foreign = FernetCipher.from_text(generate_key())
    await SetSecret(engine.unit_of_work, foreign, FakeClock()).execute("TOKEN", "v")
    details = await engine.run_once(workflow(task("a", "set", params={"x": "{{ secrets.TOKEN }}"})))
    assert details.run.error is not None
    assert details.run.error.error == "secret.unreadable"
    assert not details.run.error.retryable


async def test_steps_without_secrets_never_read_the_store(make_engine, scripted):
    engine = make_engine()
    resolve = ResolveSecrets(None, None)
    assert await resolve.render({"a": "{{ input }}"}, {"input": 1}) == {"a": 1}
    details = await engine.run_once(workflow(task("a", "set", params={"x": "{{ input }}"})), 5)
    assert details.run.output == {"x": 5}
