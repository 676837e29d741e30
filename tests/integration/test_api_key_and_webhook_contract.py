"""The API key repository and the webhook routes, the same for every persistence adapter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from wfa.application.errors import DuplicateApiKey, WebhookPathTaken
from wfa.domain.api_keys import issue_key
from wfa.domain.validation import parse_definition
from wfa.domain.workflow import Workflow

T0 = datetime(2030, 1, 1, tzinfo=UTC)
PLAINTEXT = "wfa_" + "k" * 43


def hooked(workflow_id: str, *paths: str, version: int = 1) -> Workflow:
    """A workflow whose triggers are webhooks on ``paths`` (manual when there are none)."""
    triggers = [{"type": "webhook", "path": path} for path in paths] or [{"type": "manual"}]
    definition = parse_definition(
        {"name": workflow_id, "triggers": triggers, "steps": [{"id": "a", "type": "succeed"}]}
    )
    return Workflow(id=workflow_id, version=version, definition=definition, created_at=T0)


async def store(uow_factory, *added: Workflow) -> None:
    async with uow_factory() as uow:
        for workflow in added:
            await uow.workflows.add(workflow)
        await uow.commit()


async def owner(uow_factory, path: str) -> tuple[str, int] | None:
    async with uow_factory() as uow:
        workflow = await uow.workflows.by_webhook(path)
    return None if workflow is None else (workflow.id, workflow.version)


# --- API keys ---------------------------------------------------------------------------


async def test_a_stored_key_reads_back_by_id_and_hash_without_its_plaintext(uow_factory):
    key = issue_key("k1", "ci", PLAINTEXT, T0)
    async with uow_factory() as uow:
        await uow.api_keys.add(key)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.api_keys.get("k1") == key
        assert await uow.api_keys.by_hash(key.key_hash) == key
        assert await uow.api_keys.by_hash("0" * 64) is None
        assert await uow.api_keys.get("missing") is None
        stored = await uow.api_keys.all()
    assert stored == [key]
    assert key.prefix == PLAINTEXT[:8]
    assert not any(PLAINTEXT in str(value) for value in msgspec.structs.astuple(stored[0]))


async def test_keys_are_listed_newest_first_and_counted_while_active(uow_factory):
    keys = [issue_key(f"k{i}", f"key {i}", f"{PLAINTEXT}{i}", T0 + timedelta(i)) for i in range(3)]
    async with uow_factory() as uow:
        for key in keys:
            await uow.api_keys.add(key)
        await uow.commit()
    async with uow_factory() as uow:
        assert [k.id for k in await uow.api_keys.all()] == ["k2", "k1", "k0"]
        assert await uow.api_keys.count_active() == 3
        assert await uow.api_keys.revoke("k1", T0 + timedelta(days=5))
        assert await uow.api_keys.count_active() == 2, "a transaction reads its own revocation"
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.api_keys.count_active() == 2
        assert [k.active for k in await uow.api_keys.all()] == [True, False, True]


async def test_revoking_keeps_the_first_time_and_refuses_unknown_keys(uow_factory):
    key = issue_key("k1", "ci", PLAINTEXT, T0)
    first, later = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    async with uow_factory() as uow:
        await uow.api_keys.add(key)
        await uow.commit()
    for at in (first, later):
        async with uow_factory() as uow:
            assert await uow.api_keys.revoke("k1", at)
            await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.api_keys.revoke("missing", later)
        revoked = await uow.api_keys.by_hash(key.key_hash)
    assert revoked is not None
    assert revoked.revoked_at == first
    assert not revoked.active


async def test_a_hash_names_one_key(uow_factory):
    async with uow_factory() as uow:
        await uow.api_keys.add(issue_key("k1", "one", PLAINTEXT, T0))
        await uow.commit()
    async with uow_factory() as uow:
        with pytest.raises(DuplicateApiKey):
            await uow.api_keys.add(issue_key("k2", "two", PLAINTEXT, T0))
    async with uow_factory() as uow:
        assert [k.id for k in await uow.api_keys.all()] == ["k1"]


async def test_keys_and_revocations_without_commit_are_dropped(uow_factory):
    async with uow_factory() as uow:
        await uow.api_keys.add(issue_key("k1", "kept", PLAINTEXT, T0))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.api_keys.add(issue_key("k2", "dropped", PLAINTEXT + "2", T0))
        await uow.api_keys.revoke("k1", T0)
    async with uow_factory() as uow:
        assert [(k.id, k.active) for k in await uow.api_keys.all()] == [("k1", True)]


# --- Webhook routes ---------------------------------------------------------------------


async def test_a_webhook_path_finds_the_latest_version_of_its_workflow(uow_factory):
    await store(uow_factory, hooked("wf-1", "orders", "refunds"), hooked("wf-2"))
    assert await owner(uow_factory, "orders") == ("wf-1", 1)
    assert await owner(uow_factory, "refunds") == ("wf-1", 1)
    assert await owner(uow_factory, "nothing") is None
    await store(uow_factory, hooked("wf-1", "orders", version=2))
    assert await owner(uow_factory, "orders") == ("wf-1", 2)
    assert await owner(uow_factory, "refunds") is None, "a new version drops paths it lost"


async def test_a_transaction_sees_its_own_routes(uow_factory):
    async with uow_factory() as uow:
        await uow.workflows.add(hooked("wf-1", "orders"))
        found = await uow.workflows.by_webhook("orders")
        assert found is not None
        assert found.id == "wf-1"
    assert await owner(uow_factory, "orders") is None, "nothing committed, nothing routed"


async def test_a_path_owned_by_another_live_workflow_is_refused(uow_factory):
    await store(uow_factory, hooked("wf-1", "orders"))
    with pytest.raises(WebhookPathTaken) as taken:
        await store(uow_factory, hooked("wf-2", "invoices", "orders"))
    assert (taken.value.path, taken.value.workflow_id) == ("orders", "wf-1")
    async with uow_factory() as uow:
        assert await uow.workflows.get("wf-2") is None, "the refused workflow is not stored"
    assert await owner(uow_factory, "invoices") is None
    await store(uow_factory, hooked("wf-2", "invoices"))
    with pytest.raises(WebhookPathTaken):
        await store(uow_factory, hooked("wf-2", "orders", version=2))
    assert await owner(uow_factory, "orders") == ("wf-1", 1)
    assert await owner(uow_factory, "invoices") == ("wf-2", 1)


async def test_deleting_a_workflow_frees_its_paths(uow_factory):
    await store(uow_factory, hooked("wf-1", "orders"))
    async with uow_factory() as uow:
        assert await uow.workflows.delete("wf-1")
        await uow.commit()
    assert await owner(uow_factory, "orders") is None
    await store(uow_factory, hooked("wf-2", "orders"))
    assert await owner(uow_factory, "orders") == ("wf-2", 1)


async def test_a_path_freed_by_a_new_version_can_be_claimed(uow_factory):
    await store(uow_factory, hooked("wf-1", "orders"))
    await store(uow_factory, hooked("wf-1", "orders-v2", version=2))
    await store(uow_factory, hooked("wf-2", "orders"))
    assert await owner(uow_factory, "orders") == ("wf-2", 1)
    assert await owner(uow_factory, "orders-v2") == ("wf-1", 2)


async def test_of_two_workflows_claiming_one_path_at_once_exactly_one_wins(uow_factory):
    """The second transaction starts while the first holds its claim uncommitted."""
    first_added, second_started = asyncio.Event(), asyncio.Event()

    async def first() -> str:
        async with uow_factory() as uow:
            await uow.workflows.add(hooked("wf-1", "orders"))
            first_added.set()
            await second_started.wait()
            await asyncio.sleep(0.1)  # the second is now waiting on our claim (SQL)
            await uow.commit()
        return "wf-1"

    async def second() -> str:
        await first_added.wait()
        second_started.set()
        async with uow_factory() as uow:
            await uow.workflows.add(hooked("wf-2", "orders"))
            await uow.commit()
        return "wf-2"

    outcomes = await asyncio.gather(first(), second(), return_exceptions=True)
    winners = [o for o in outcomes if isinstance(o, str)]
    losers = [o for o in outcomes if isinstance(o, WebhookPathTaken)]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1, outcomes
    assert losers[0].workflow_id == winners[0]
    assert await owner(uow_factory, "orders") == (winners[0], 1)
