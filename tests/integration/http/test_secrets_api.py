"""Secrets over HTTP: write-only values, listed by name, and never in any answer or log."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from wfa.adapters.observability.logging import install_secret_redaction
from wfa.adapters.persistence.sqlalchemy.tables import secrets
from wfa.adapters.secrets.fernet import UnavailableCipher
from wfa.entrypoints.secret_keys import NO_KEY

VALUE = "sk_live_51HvJq-very-secret"


async def test_put_creates_then_replaces_and_never_answers_with_the_value(api):
    created = await api.client.put("/api/v1/secrets/STRIPE_KEY", json={"value": VALUE})
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"name", "created_at", "updated_at"}
    assert body["name"] == "STRIPE_KEY"
    assert VALUE not in created.text

    replaced = await api.client.put("/api/v1/secrets/STRIPE_KEY", json={"value": VALUE + "2"})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["created_at"] == body["created_at"]
    assert replaced.json()["updated_at"] >= body["updated_at"]
    assert VALUE not in replaced.text

    await api.client.put("/api/v1/secrets/A_FIRST", json={"value": "x"})
    listed = await api.client.get("/api/v1/secrets")
    assert listed.status_code == 200
    assert [s["name"] for s in listed.json()] == ["A_FIRST", "STRIPE_KEY"]
    assert all(set(s) == {"name", "created_at", "updated_at"} for s in listed.json())
    assert VALUE not in listed.text


async def test_the_database_holds_only_ciphertext(api):
    await api.client.put("/api/v1/secrets/TOKEN", json={"value": VALUE})
    async with api.container.database().engine.connect() as connection:
        [row] = (await connection.execute(select(secrets))).all()
    assert row.name == "TOKEN"
    assert VALUE.encode() not in bytes(row.ciphertext)


async def test_delete_is_204_then_404(api):
    await api.client.put("/api/v1/secrets/TOKEN", json={"value": VALUE})
    assert (await api.client.delete("/api/v1/secrets/TOKEN")).status_code == 204
    missing = await api.client.delete("/api/v1/secrets/TOKEN")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["detail"] == "secret 'TOKEN' not found"
    assert (await api.client.get("/api/v1/secrets")).json() == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/secrets/not-a-name", {"value": "v"}),
        ("/api/v1/secrets/1ABC", {"value": "v"}),
        ("/api/v1/secrets/" + "A" * 129, {"value": "v"}),
        ("/api/v1/secrets/OK", {"value": ""}),
        ("/api/v1/secrets/OK", {"value": 42}),
        ("/api/v1/secrets/OK", {}),
        ("/api/v1/secrets/OK", {"value": "v", "extra": 1}),
        ("/api/v1/secrets/OK", {"value": "x" * 65_537}),
    ],
)
async def test_bad_names_and_values_are_400_problems(api, path, body):
    response = await api.client.put(path, json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await api.client.get("/api/v1/secrets")).json() == []


async def test_a_lone_surrogate_is_refused_not_a_500(api):
    response = await api.client.put(
        "/api/v1/secrets/OK",
        content=b'{"value": "a\\ud800"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (400, 422), response.text


async def test_without_a_key_storing_is_refused_with_a_503_naming_the_variable(api):
    api.container.secret_cipher.override(UnavailableCipher(NO_KEY))
    try:
        response = await api.client.put("/api/v1/secrets/TOKEN", json={"value": VALUE})
    finally:
        api.container.secret_cipher.reset_override()
    assert response.status_code == 503
    assert "WFA_SECRET_KEY is not set" in response.json()["detail"]


async def test_a_run_that_uses_a_secret_shows_it_nowhere(api, caplog):
    install_secret_redaction()
    caplog.set_level(logging.INFO)
    await api.client.put("/api/v1/secrets/TOKEN", json={"value": VALUE})
    workflow = await api.create_workflow(
        {
            "name": "uses-a-secret",
            "steps": [
                {
                    "id": "echo",
                    "type": "task",
                    "action": "set",
                    "params": {"header": "Bearer {{ secrets.TOKEN }}"},
                },
                {
                    "id": "say",
                    "type": "task",
                    "action": "log",
                    "params": {"message": "using {{ secrets.TOKEN }}"},
                },
                {
                    "id": "refuse",
                    "type": "task",
                    "action": "fail",
                    "params": {"error": "auth.refused", "message": "{{ secrets.TOKEN }} refused"},
                    "retry": {"max_attempts": 1},
                },
            ],
        }
    )
    assert VALUE not in str(workflow)
    started = await api.client.post(f"/api/v1/workflows/{workflow['id']}/runs", json={})
    run_id = started.json()["run_id"]
    run = await api.wait_for_end(run_id)
    assert run["status"] == "failed"
    assert run["error"]["message"] == "*** refused"
    answers = [
        (await api.client.get(f"/api/v1/runs/{run_id}")).text,
        (await api.client.get(f"/api/v1/runs/{run_id}/events")).text,
        (await api.client.get(f"/api/v1/runs/{run_id}/stream")).text,
        (await api.client.get("/api/v1/runs")).text,
    ]
    assert "Bearer ***" in answers[0]
    assert not [answer for answer in answers if VALUE in answer]
    assert "using ***" in [record.getMessage() for record in caplog.records]
    assert not [r for r in caplog.records if VALUE in r.getMessage()]
