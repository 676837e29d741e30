"""Rate limits: per webhook path and per client address on /hooks, per API key on /api/v1.

Built on Litestar's ``RateLimitMiddleware`` (its config, cache keys, headers and stores), with
its counting replaced, because as shipped it

* keeps one timestamp per request in the window and rewrites the whole list on every
  request, which at the rates a busy webhook sees (thousands a second) costs more than the
  request;
* reads and writes the count in two steps under a lock of its own process, so API processes
  sharing a Redis store lose each other's counts;
* answers 429 without ``Retry-After``.

Here a window is one counter: in Redis one atomic script (``INCR``, and the window's expiry
on the first hit), shared by every process on that Redis; in memory a get and set under the
middleware's lock. Windows are fixed, starting at a key's first request, as Litestar's are.

When Redis cannot be reached the request is let through and a warning logged: the limit
guards the engine against floods, and must not itself take the API down.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import (
    DURATION_VALUES,
    CacheObject,
    RateLimitConfig,
    RateLimitMiddleware,
)
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.types import ASGIApp, Receive, Scope, Send
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from wfa.entrypoints.http.auth import caller_in
from wfa.entrypoints.rate_limit_settings import RateLimit

log = logging.getLogger(__name__)

STORE_NAME = "rate_limit"
MAX_KEYED_PATH = 200  # a webhook path is at most this long; longer ones are counted by hash
# Expired windows of callers that never came back are dropped from memory this often.
SWEEP_EVERY = 10_000

# KEYS[1]: the window's counter. ARGV[1]: its length in seconds. Returns [count, ttl].
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
"""

Identify = Callable[[Request[Any, Any, Any]], str]


class WindowLimit(RateLimitMiddleware):
    """Litestar's rate limit with one atomic counter per window, and ``Retry-After`` on 429."""

    def __init__(self, app: ASGIApp, config: RateLimitConfig, what: str) -> None:
        super().__init__(app, config)
        self._what = what  # whose requests are counted, for the 429's detail
        self._hits = 0
        self._script: AsyncScript | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        request: Request[Any, Any, Any] = app.request_class(scope)
        key = self.cache_key_from_request(request)
        try:
            count, resets_in = await self._hit(key, self.config.get_store_from_app(app))
        except RedisError as error:
            log.warning("rate limit not checked, Redis is unreachable: %s", error)
            await self.app(scope, receive, send)
            return
        # Litestar's header builder wants a history; only its length and reset are read.
        window = CacheObject(history=[0] * min(count, self.max_requests), reset=0)
        window.reset = int(time.time()) + resets_in
        if count > self.max_requests:
            headers = self.create_response_headers(window) | {"Retry-After": str(resets_in)}
            raise TooManyRequestsException(
                f"more than {self.max_requests} requests per {self.unit} {self._what}; "
                f"retry in {resets_in} s",
                headers=headers,
            )
        await self.app(scope, receive, self.create_send_wrapper(send, window))

    async def _hit(self, key: str, store: Store) -> tuple[int, int]:
        """This request's number in its window, and the whole seconds until the window ends."""
        length = DURATION_VALUES[self.unit]
        if isinstance(store, RedisStore):
            # RedisStore has no atomic increment: its own client and key naming serve for one.
            if self._script is None:
                self._script = store._redis.register_script(_HIT)
            count, ttl = await self._script(keys=[store._make_key(key)], args=[length])
            return int(count), max(int(ttl), 1)
        async with self._lock:
            now = time.time()
            raw = await store.get(key)
            count, ends = (0, now + length) if raw is None else _window(raw)
            if ends <= now:
                count, ends = 0, now + length
            count += 1
            await store.set(key, f"{count} {ends}", expires_in=max(math.ceil(ends - now), 1))
            self._hits += 1
            if self._hits % SWEEP_EVERY == 0 and isinstance(store, MemoryStore):
                # MemoryStore forgets an expired entry only when it is read again.
                await store.delete_expired()
        return count, max(math.ceil(ends - now), 1)


def _window(raw: bytes) -> tuple[int, float]:
    count, _, ends = raw.decode().partition(" ")
    return int(count), float(ends)


def limit_middleware(limit: RateLimit, identify: Identify, what: str) -> DefineMiddleware | None:
    """Middleware counting requests per ``identify(request)``; None when the limit is off."""
    if limit.requests == 0:
        return None
    config = RateLimitConfig(
        rate_limit=(limit.unit, limit.requests),
        identifier_for_request=identify,
        middleware_class=WindowLimit,
        store=STORE_NAME,
    )
    return DefineMiddleware(WindowLimit, config=config, what=what)


def webhook_path(request: Request[Any, Any, Any]) -> str:
    path: str = request.scope["path"].strip("/")
    if len(path) > MAX_KEYED_PATH:  # no workflow owns it; its key stays short all the same
        path = hashlib.sha256(path.encode()).hexdigest()
    return "hook-path:" + path


def client_address(prefix: str) -> Identify:
    def identify(request: Request[Any, Any, Any]) -> str:
        return f"{prefix}-address:{request.client.host if request.client else 'unknown'}"

    return identify


def api_caller(request: Request[Any, Any, Any]) -> str:
    """The caller's key id; requests without a valid key count against their address."""
    caller = caller_in(request.scope)
    if caller is not None:
        return f"api-key:{caller.key_id}"
    return client_address("api")(request)


def rate_limit_store(redis_client: Any | None) -> Store:
    """Counters shared through Redis when there is one, else kept in this process."""
    if redis_client is None:
        return MemoryStore()
    return RedisStore(redis_client, namespace="wfa:rate-limit")
