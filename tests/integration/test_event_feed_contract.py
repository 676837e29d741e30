"""The events ports' contract: a follower hears its run's events, in order, while it follows.

Every case runs on the memory adapter and on Redis pub/sub (WFA_TEST_REDIS_URL). On Redis the
publisher and the feed use clients of their own, as a worker and an API process would, and each
test gets a channel prefix of its own: pub/sub ignores the database number, so that prefix is
what keeps concurrent test runs from hearing each other.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.conftest import service_url
from tests.integration.delayed_link import DelayedLink
from wfa.adapters.events.memory import InMemoryEventPublisher
from wfa.adapters.events.redis import RedisEventBus
from wfa.application.ports.delivery import EventFeed, EventPublisher
from wfa.application.use_cases.follow_run import FollowRun
from wfa.domain.events import (
    TERMINAL_EVENTS,
    AttemptFailed,
    AttemptSucceeded,
    ErrorInfo,
    Event,
    RunCreated,
    RunStarted,
    RunSucceeded,
)
from wfa.entrypoints.local import LocalEngine

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class Adapter:
    publisher: EventPublisher
    feed: EventFeed
    subscribers: Callable[[str], Awaitable[int]]  # how many follow the run right now


def history(run_id: str) -> list[Event]:
    """A run's events of several kinds, so that every field type crosses the wire."""
    return [
        RunCreated(
            seq=1, at=AT, run_id=run_id, workflow_id="w", workflow_version=1, input={"n": 1}
        ),
        RunStarted(seq=2, at=AT),
        AttemptFailed(seq=3, at=AT, step_id="a", attempt=1, error=ErrorInfo(error="http.timeout")),
        AttemptSucceeded(seq=4, at=AT, step_id="a", attempt=2, output=[1, "two", None]),
        RunSucceeded(seq=5, at=AT, output={"done": True}),
    ]


async def take(events: AsyncIterator[Event], count: int) -> list[Event]:
    async with asyncio.timeout(2):
        return [await anext(events) for _ in range(count)]


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait for ``check``: Redis drops a closed connection's subscriptions a moment later."""
    for _ in range(200):  # polls Redis, which no asyncio.Event could tell us about
        if await check():
            return
        await asyncio.sleep(0.01)
    pytest.fail("still not so after 2 seconds")


@pytest.fixture
async def redis_clients() -> AsyncIterator[tuple[str, list[Redis]]]:
    """A prefix of this test's own, and two clients named after it (publisher, feed)."""
    url = service_url("WFA_TEST_REDIS_URL")
    prefix = f"wfa-test-{uuid4().hex}"
    clients = [Redis.from_url(url, client_name=prefix) for _ in range(2)]
    yield prefix, clients
    for client in clients:
        await client.aclose()


@pytest.fixture(params=["memory", "redis"])
def adapter(request: pytest.FixtureRequest) -> Adapter:
    if request.param == "memory":
        bus = InMemoryEventPublisher()

        async def followers(run_id: str) -> int:
            return len(bus._followers.get(run_id, ()))  # the memory adapter's only record

        return Adapter(bus, bus, followers)
    prefix, (publishing, following) = request.getfixturevalue("redis_clients")
    publisher = RedisEventBus(publishing, prefix)

    async def subscribers(run_id: str) -> int:
        [(_, count)] = await publishing.pubsub_numsub(publisher.channel(run_id))
        return int(count)

    return Adapter(publisher, RedisEventBus(following, prefix), subscribers)


async def test_a_follower_hears_its_runs_events_published_after_it_entered_in_order(adapter):
    events = history("r1")
    await adapter.publisher.publish("r1", events[:1])  # before anyone follows: not heard
    async with adapter.feed.follow("r1") as followed:
        await adapter.publisher.publish("r1", events[1:3])
        await adapter.publisher.publish("r2", history("r2")[1:2])  # another run's
        await adapter.publisher.publish("r1", events[3:])
        assert await take(followed, 4) == events[1:]


async def test_every_follower_hears_every_event(adapter):
    events = history("r1")
    async with adapter.feed.follow("r1") as first, adapter.feed.follow("r1") as second:
        assert await adapter.subscribers("r1") == 2
        await adapter.publisher.publish("r1", events)
        assert await take(first, 5) == events
        assert await take(second, 5) == events


async def test_leaving_the_block_stops_delivery_and_releases_the_subscription(adapter):
    events = history("r1")
    async with adapter.feed.follow("r1") as followed:
        assert await adapter.subscribers("r1") == 1
        await adapter.publisher.publish("r1", events[:1])
        assert await take(followed, 1) == events[:1]
    await eventually(lambda: _equals(adapter.subscribers("r1"), 0))
    await adapter.publisher.publish("r1", events[1:])
    with pytest.raises((StopAsyncIteration, TimeoutError)):  # ends (Redis) or stays silent
        async with asyncio.timeout(0.2):
            await anext(followed)


async def test_a_block_left_by_an_error_releases_the_subscription_too(adapter):
    with pytest.raises(RuntimeError, match="the client went away"):
        async with adapter.feed.follow("r1"):
            raise RuntimeError("the client went away")
    await eventually(lambda: _equals(adapter.subscribers("r1"), 0))


async def test_publishing_with_nobody_following_is_fine(adapter):
    await adapter.publisher.publish("r1", history("r1"))
    await adapter.publisher.publish("r1", [])
    async with adapter.feed.follow("r1") as followed:
        await adapter.publisher.publish("r1", history("r1")[4:])
        assert await take(followed, 1) == history("r1")[4:]


async def test_following_a_run_driven_by_an_engine_yields_exactly_its_stored_history(adapter):
    engine = LocalEngine.virtual(publisher=adapter.publisher)
    steps = [
        {"id": "pause", "type": "wait", "seconds": 10},
        {"id": "a", "type": "task", "action": "noop"},
        {"id": "b", "type": "task", "action": "noop"},
    ]
    wf = await engine.add_workflow({"name": "followed", "steps": steps})
    run_id = await engine.start(wf.id)
    follow = FollowRun(engine.unit_of_work, adapter.feed)
    async with adapter.feed.follow(run_id) as live:
        followed = asyncio.create_task(_collect(follow.execute(run_id)))
        await eventually(lambda: _equals(adapter.subscribers(run_id), 2))
        details = await engine.settle(run_id)
        assert await followed == details.history
        heard = await _until_the_end(live)
    # What the feed carried is the tail of the history, as committed: nothing lost or reordered.
    assert heard == details.history[len(details.history) - len(heard) :]
    assert len(heard) > 3


async def test_a_redis_follower_is_subscribed_once_in_its_block_even_over_a_slow_link(
    redis_clients,
):
    # The follower's commands reach Redis 50 ms late: had it not waited for Redis to confirm its
    # subscription, an event published as soon as it entered would come before it and be lost.
    prefix, (publishing, _) = redis_clients
    events = history("r1")
    async with DelayedLink(service_url("WFA_TEST_REDIS_URL"), delay=0.05) as link:
        following = Redis.from_url(link.url)
        try:
            async with RedisEventBus(following, prefix).follow("r1") as followed:
                await RedisEventBus(publishing, prefix).publish("r1", events)
                assert await take(followed, 5) == events
        finally:
            await following.aclose()


async def test_publishing_while_redis_is_unreachable_neither_raises_nor_stalls(caplog):
    client = Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=1)
    bus = RedisEventBus(client, f"wfa-test-{uuid4().hex}", timeout=0.2)
    try:
        async with asyncio.timeout(1):
            await bus.publish("r1", history("r1"))
        assert caplog.text.count("run events not published") == 1
        async with asyncio.timeout(0.05):  # paused after the failure: not even tried
            await bus.publish("r1", history("r1"))
        assert caplog.text.count("run events not published") == 1
        with pytest.raises((RedisError, TimeoutError)):
            await bus.ping()
        with pytest.raises((RedisError, TimeoutError)):  # a follower learns it at once
            async with bus.follow("r1"):
                pass
    finally:
        await client.aclose()


async def test_redis_followers_skip_what_they_cannot_decode_and_release_their_connections(
    redis_clients,
):
    prefix, (publishing, following) = redis_clients
    publisher, feed = RedisEventBus(publishing, prefix), RedisEventBus(following, prefix)
    await publisher.ping()
    before = await _connections(publishing, prefix)
    events = history("r1")
    async with feed.follow("r1") as first, feed.follow("r1") as second:
        assert await _connections(publishing, prefix) == before + 2  # one per follower
        await publishing.publish(publisher.channel("r1"), b"not a batch of events")
        await publisher.publish("r1", events)
        assert await take(first, 5) == events
        assert await take(second, 5) == events
    await eventually(lambda: _equals(_connections(publishing, prefix), before))


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def _connections(client: Redis, name: str) -> int:
    return sum(1 for entry in await client.client_list() if entry.get("name") == name)


async def _collect(events: AsyncIterator[Event]) -> list[Event]:
    async with asyncio.timeout(5):
        return [event async for event in events]


async def _until_the_end(events: AsyncIterator[Event]) -> list[Event]:
    heard: list[Event] = []
    async with asyncio.timeout(2):
        while not heard or not isinstance(heard[-1], TERMINAL_EVENTS):
            heard.append(await anext(events))
    return heard


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
