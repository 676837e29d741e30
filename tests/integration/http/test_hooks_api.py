"""Webhooks: the path finds the workflow, the secret demands a signature, ?wait holds."""

from __future__ import annotations

import hashlib
import hmac
import json

from tests.integration.http.conftest import HELLO

SIGNED = {**HELLO, "trigger": {"type": "webhook", "path": "signed/orders", "secret": "s3cret"}}


def signature(body: bytes, secret: str = "s3cret") -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


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
