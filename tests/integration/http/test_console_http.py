"""The console's guards over plain HTTP: sessions, CSRF, other sites, redirects, headers,
and forms that change nothing when they are refused."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.integration.http.conftest import Api, make_settings
from wfa.adapters.persistence.sqlalchemy import migrate
from wfa.adapters.secrets.fernet import generate_key
from wfa.entrypoints.container import Container
from wfa.entrypoints.http.app import create_app

PARKED = {
    "name": "parked",
    "steps": [{"id": "answer", "type": "await", "signal": "go", "timeout": 600}],
}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def sign_in(client: AsyncTestClient[Any], key: str) -> None:
    client.follow_redirects = False  # the answers themselves are what these tests read
    answer = await client.post("/ui/sign-in", data={"key": key})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/ui"


async def csrf_of(client: AsyncTestClient[Any], path: str = "/ui") -> str:
    found = CSRF.search((await client.get(path)).text)
    assert found is not None
    return found.group(1)


@pytest.fixture
async def console(api: Api) -> Api:
    del api.client.headers["Authorization"]  # a browser sends its cookie, nothing else
    await sign_in(api.client, api.key)
    return api


async def parked_run(api: Api) -> str:
    headers = {"Authorization": f"Bearer {api.key}"}
    created = await api.client.post("/api/v1/workflows", json=PARKED, headers=headers)
    started = await api.client.post(
        f"/api/v1/workflows/{created.json()['id']}/runs", json={}, headers=headers
    )
    run_id: str = started.json()["run_id"]
    async with asyncio.timeout(10):
        while True:
            if await status_of(api, run_id) == "waiting":
                break
            await asyncio.sleep(0.02)
    return run_id


async def status_of(api: Api, run_id: str) -> str:
    headers = {"Authorization": f"Bearer {api.key}"}
    status: str = (await api.client.get(f"/api/v1/runs/{run_id}", headers=headers)).json()["status"]
    return status


async def test_pages_forbid_framing_scripts_from_elsewhere_and_caching(console):
    page = await console.client.get("/ui")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text.replace('<script src="/ui/static/console.js"', "")


async def test_a_form_without_its_token_or_from_another_site_changes_nothing(console):
    run_id = await parked_run(console)
    missing = await console.client.post(f"/ui/runs/{run_id}/cancel", data={"reason": "x"})
    assert missing.status_code == 403
    assert "out of date" in missing.text
    token = await csrf_of(console.client)
    wrong = await console.client.post(f"/ui/runs/{run_id}/cancel", data={"csrf": token + "x"})
    assert wrong.status_code == 403
    elsewhere = await console.client.post(
        f"/ui/runs/{run_id}/cancel",
        data={"csrf": token},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert elsewhere.status_code == 403
    assert await status_of(console, run_id) == "waiting"

    done = await console.client.post(f"/ui/runs/{run_id}/cancel", data={"csrf": token})
    assert done.status_code == 303
    assert await status_of(console, run_id) == "cancelled"


async def test_an_altered_or_missing_session_is_sent_to_sign_in(console):
    session = console.client.cookies["wfa_console"]
    console.client.cookies.clear()
    console.client.cookies.set("wfa_console", session[:-2] + "AA", path="/ui")
    answer = await console.client.get("/ui/runs?status=failed")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/sign-in?next=/ui/runs%3Fstatus%3Dfailed"
    live = await console.client.get("/ui/runs/x/live")
    assert live.status_code == 401  # a script's fetch gets a status, not a redirect


@pytest.mark.parametrize(
    "target", ["//evil.example/ui", "https://evil.example/ui", "/ui\\@evil.example", "/api/v1"]
)
async def test_signing_in_goes_back_to_the_console_only(api, target):
    del api.client.headers["Authorization"]
    api.client.follow_redirects = False
    answer = await api.client.post("/ui/sign-in", params={"next": target}, data={"key": api.key})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui"


async def test_a_bad_key_is_a_page_that_says_so(api):
    del api.client.headers["Authorization"]
    api.client.follow_redirects = False
    for key, said in (
        ("", "Enter an API key."),
        ("wfa_nope", "not valid"),
        ("x" * 300, "too long"),
    ):
        answer = await api.client.post("/ui/sign-in", data={"key": key})
        assert answer.status_code == 401
        assert said in answer.text
        assert "wfa_console" not in answer.headers.get("set-cookie", "")


async def test_the_start_form_sent_twice_starts_one_run(console):
    headers = {"Authorization": f"Bearer {console.key}"}
    workflow = (await console.client.post("/api/v1/workflows", json=PARKED, headers=headers)).json()
    form = {"csrf": await csrf_of(console.client), "form_key": "k1", "input": '{"n": 1}'}
    first = await console.client.post(f"/ui/workflows/{workflow['id']}/runs", data=form)
    again = await console.client.post(f"/ui/workflows/{workflow['id']}/runs", data=form)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    bad = {**form, "form_key": "k2", "input": "[" * 200}
    refused = await console.client.post(f"/ui/workflows/{workflow['id']}/runs", data=bad)
    assert refused.status_code == 400
    assert "nested deeper" in refused.text or "deeper" in refused.text


async def test_the_servers_address_leads_to_the_console(api):
    api.client.follow_redirects = False
    answer = await api.client.get("/")
    assert (answer.status_code, answer.headers["location"]) == (307, "/ui")


async def test_runs_are_filtered_by_workflow_name_status_and_period(console):
    run_id = await parked_run(console)
    for query in ("workflow=parked", "status=waiting", "since=1h", "workflow=parked&since=7d"):
        assert run_id in (await console.client.get(f"/ui/runs?{query}")).text, query
    for query in ("status=failed", "workflow=elsewhere"):
        assert run_id not in (await console.client.get(f"/ui/runs?{query}")).text, query
    assert (await console.client.get("/ui/runs?since=forever")).status_code == 400


async def test_a_run_of_a_deleted_workflow_is_still_shown(console):
    run_id = await parked_run(console)
    headers = {"Authorization": f"Bearer {console.key}"}
    assert (await console.client.delete("/api/v1/workflows/parked", headers=headers)).is_success
    page = await console.client.get(f"/ui/runs/{run_id}")
    assert page.status_code == 200
    assert "parked" in page.text


async def test_errors_are_pages_with_their_status(console):
    assert (await console.client.get("/ui/runs/no-such-run")).status_code == 404
    bogus = await console.client.get("/ui/runs?status=bogus")
    assert bogus.status_code == 400
    assert "unknown run status" in bogus.text
    assert bogus.headers["content-type"].startswith("text/html")


async def test_a_session_made_by_one_api_process_is_read_by_another(tmp_path: Path, api):
    """Processes that share the secret key (here the embedded database's key file) read
    each other's sessions; nothing about a session lives in the process that made it."""
    settings = make_settings(tmp_path)
    await asyncio.to_thread(migrate.upgrade, settings.database_url)
    other = Container(settings=settings)
    async with AsyncTestClient(create_app(other), timeout=30) as second:
        del api.client.headers["Authorization"]
        await sign_in(api.client, api.key)
        second.cookies.set("wfa_console", api.client.cookies["wfa_console"], path="/ui")
        assert (await second.get("/ui")).status_code == 200
    await other.database().dispose()

    # The same database under another secret key: the session means nothing there.
    elsewhere = Container(settings=make_settings(tmp_path, WFA_SECRET_KEY=generate_key()))
    async with AsyncTestClient(create_app(elsewhere), timeout=30) as third:
        third.follow_redirects = False
        third.cookies.set("wfa_console", api.client.cookies["wfa_console"], path="/ui")
        assert (await third.get("/ui")).status_code == 303
    await elsewhere.database().dispose()


async def test_a_console_address_that_names_nothing_is_a_page(console):
    answer = await console.client.get("/ui/no/such/page")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "content-security-policy" in answer.headers


async def test_a_link_from_another_site_opens_again_from_here_to_send_the_session(api):
    api.client.follow_redirects = False
    answer = await api.client.get("/ui/runs", headers={"Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 200
    assert '<meta http-equiv="refresh" content="0">' in answer.text
    again = await api.client.get("/ui/runs", headers={"Sec-Fetch-Site": "same-origin"})
    assert again.status_code == 303  # no session even so: sign in
