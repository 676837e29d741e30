"""The webhook delivery store, the same on every adapter: memory, SQLite, PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2030, 1, 1, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)


async def claim(uow_factory, claims, until=LATER, now=T0, commit=True) -> bool:
    async with uow_factory() as uow:
        taken = await uow.webhook_deliveries.claim(claims, until, now)
        if commit:
            await uow.commit()
    return taken


async def test_a_claim_is_refused_until_its_time_is_past_and_then_taken_over(uow_factory):
    assert await claim(uow_factory, ["a"])
    assert not await claim(uow_factory, ["a"], now=LATER - timedelta(seconds=1))
    assert not await claim(uow_factory, ["b", "a"]), "one remembered claim refuses them all"
    assert await claim(uow_factory, ["a"], until=LATER + timedelta(minutes=5), now=LATER)
    assert not await claim(uow_factory, ["a"], now=LATER + timedelta(seconds=1))


async def test_a_claim_rolled_back_is_not_remembered(uow_factory):
    assert await claim(uow_factory, ["a", "b"], commit=False)
    assert await claim(uow_factory, ["a", "b"])


async def test_expired_claims_are_forgotten_along_the_way(uow_factory):
    assert await claim(uow_factory, [f"old-{n}" for n in range(3)])
    assert await claim(uow_factory, ["new"], until=LATER + timedelta(hours=1), now=LATER)
    for n in range(3):  # forgotten (pruned or past their time): free again
        assert await claim(uow_factory, [f"old-{n}"], now=LATER)
