"""Webhooks: the path finds the workflow, the secret demands a signature, ?wait holds."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from sqlalchemy import text

from tests.integration.http.conftest import HELLO

SIGNED = {**HELLO, "trigger": {"type": "webhook", "path": "signed/orders", "secret": "s3cret"}}


def signature(body: bytes, secret: str = "s3cret", at: int | None = None) -> str:
    """``X-WFA-Signature`` for ``body``, signed now (or at ``at``)."""
    t = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


async def test_a_webhook_starts_a_run_with_its_body_as_input(api):
    await api.create_workflow(HELLO)
    api.client.headers.pop("Authorization")
    response = await api.client.post("/hooks/hello", json={"name": "Ada"})
    assert response.status_code == 202
    run = await api.wait_for_end_with_key(response.json()["run_id"])
    assert run["input"] == {"name": "Ada"}
    assert run["trigger"] == "webhook:hello"
    assert run["output"] == {"hi": "Ada"}


async def test_wait_answers_200_with_the_output_when_the_run_ends_in_time(api):
    await api.create_workflow(HELLO)
    response = await api.client.post("/hooks/hello?wait=5", json={"name": "Bo"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["output"] == {"hi": "Bo"}


async def test_wait_answers_202_when_the_run_is_still_going(api):
    await api.create_workflow(
        {**HELLO, "steps": [{"id": "pause", "type": "wait", "seconds": 3600}]}
    )
    response = await api.client.post("/hooks/hello?wait=0.2", json={})
    assert response.status_code == 202
    assert "run_id" in response.json()


async def test_a_secret_webhook_needs_a_valid_signature(api):
    await api.create_workflow(SIGNED)
    body = json.dumps({"name": "Cy"}).encode()
    headers = {"content-type": "application/json"}
    unsigned = await api.client.post("/hooks/signed/orders", content=body, headers=headers)
    assert unsigned.status_code == 401
    wrong = await api.client.post(
        "/hooks/signed/orders",
        content=body,
        headers={**headers, "X-WFA-Signature": signature(body, "other")},
    )
    assert wrong.status_code == 401
    good = await api.client.post(
        "/hooks/signed/orders",
        content=body,
        headers={**headers, "X-WFA-Signature": signature(body)},
    )
    assert good.status_code == 202


async def test_an_unknown_path_is_404_without_naming_other_hooks(api):
    await api.create_workflow(SIGNED)
    response = await api.client.post("/hooks/signed/nothing", json={})
    assert response.status_code == 404
    assert "signed/orders" not in response.text


async def test_a_body_that_is_not_json_is_400(api):
    await api.create_workflow(HELLO)
    response = await api.client.post(
        "/hooks/hello", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


async def test_wait_must_be_a_number_of_seconds_from_0_to_60(api):
    await api.create_workflow(HELLO)
    for wait in ("null", "-1", "61", "nan"):
        response = await api.client.post(f"/hooks/hello?wait={wait}", json={})
        assert response.status_code == 400, wait  # "null" was taken for no wait
        assert response.json()["problems"][0]["path"] == "query.wait"
    assert (await api.client.post("/hooks/hello?wait=0", json={})).status_code == 202


async def post_signed(api, body: bytes, header: str, **headers: str):
    return await api.client.post(
        "/hooks/signed/orders",
        content=body,
        headers={"content-type": "application/json", "X-WFA-Signature": header, **headers},
    )


async def test_a_captured_request_cannot_be_replayed_even_with_another_idempotency_key(api):
    await api.create_workflow(SIGNED)
    body = json.dumps({"name": "Di"}).encode()
    signed_at = int(time.time())
    header = signature(body, at=signed_at)
    first = await post_signed(api, body, header, **{"Idempotency-Key": "a"})
    assert first.status_code == 202
    for key in ("a", "b"):
        again = await post_signed(api, body, header, **{"Idempotency-Key": key})
        assert again.status_code == 401, key
        assert "received before" in again.json()["detail"]
    # Another second signs anew (the same second signs the same). Not time.time() - 1: when
    # the clock ticked since the first signature, that is the first signature's second.
    resigned = signature(body, at=signed_at - 1)
    fresh = await post_signed(api, body, resigned, **{"Idempotency-Key": "a"})
    assert fresh.status_code == 202, "a new signature with the same key is the same run"
    assert fresh.json() == {"run_id": first.json()["run_id"], "created": False}


async def test_an_old_signature_is_refused_and_the_old_form_is_explained(api):
    await api.create_workflow(SIGNED)
    body = b"{}"
    stale = await post_signed(api, body, signature(body, at=int(time.time()) - 301))
    assert stale.status_code == 401
    assert "more than 300 seconds" in stale.json()["detail"]
    legacy = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    old_form = await post_signed(api, body, legacy)
    assert old_form.status_code == 401
    assert "no longer accepted" in old_form.json()["detail"]


async def test_a_malformed_signature_header_is_401_not_500(api):
    await api.create_workflow(SIGNED)
    for header in ("sha256=", "t=x", "t=1,v1=" + "a" * 5000, "t=1,v1=" + "a" * 64):
        response = await api.client.post(
            "/hooks/signed/orders",
            content=b"{}",
            headers=[("content-type", "application/json"), ("x-wfa-signature", header)],
        )
        assert response.status_code == 401, header
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_non_ascii_header_bytes_are_401_not_500(api):
    await api.create_workflow(SIGNED)
    response = await api.client.post(
        "/hooks/signed/orders",
        content=b"{}",
        headers=[
            (b"content-type", b"application/json"),
            (b"x-wfa-signature", "sha256=éé".encode()),
        ],
    )
    assert response.status_code == 401


async def test_a_github_webhook_checks_its_own_header_and_refuses_a_repeat(api):
    await api.create_workflow(
        {
            **HELLO,
            "trigger": {"type": "webhook", "path": "gh", "secret": "g", "signature": "github"},
        }
    )
    body = b'{"name": "Gus"}'
    hub = "sha256=" + hmac.new(b"g", body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "X-Hub-Signature-256": hub}
    first = await api.client.post(
        "/hooks/gh", content=body, headers={**headers, "X-GitHub-Delivery": "d-1"}
    )
    assert first.status_code == 202
    repeat = await api.client.post(
        "/hooks/gh", content=body, headers={**headers, "X-GitHub-Delivery": "d-2"}
    )
    assert repeat.status_code == 401
    wfa_signed = await api.client.post(
        "/hooks/gh", content=body, headers={"X-WFA-Signature": signature(body, "g")}
    )
    assert wfa_signed.status_code == 401  # the trigger names its scheme


async def test_the_secret_is_never_shown_and_the_placeholder_keeps_it(api):
    created = await api.create_workflow(SIGNED)
    shown = (await api.client.get(f"/api/v1/workflows/{created['id']}")).json()
    assert shown["definition"]["triggers"][0]["secret"] == "********"
    put = await api.client.put(f"/api/v1/workflows/{created['id']}", json=shown["definition"])
    assert put.status_code == 200, put.text
    assert "s3cret" not in put.text
    body = b"{}"
    forged = await post_signed(api, body, signature(body, secret="********"))
    assert forged.status_code == 401, "the placeholder is not the secret"
    good = await post_signed(api, body, signature(body))
    assert good.status_code == 202, "version 2 kept the stored secret"


async def test_a_placeholder_without_a_stored_secret_is_refused(api):
    placeholder = {**HELLO, "trigger": {"type": "webhook", "path": "p", "secret": "********"}}
    response = await api.client.post("/api/v1/workflows", json=placeholder)
    assert response.status_code == 422
    assert "has none stored" in response.json()["detail"]


async def test_the_secret_is_stored_sealed(api):
    created = await api.create_workflow(SIGNED)
    async with api.container.database().engine.connect() as connection:
        query = text("SELECT CAST(definition AS TEXT) FROM workflow_versions")
        stored = (await connection.execute(query)).scalar_one()
    assert "s3cret" not in stored
    assert '"sealed:' in stored
    assert created["definition"]["triggers"][0]["secret"] == "********"
