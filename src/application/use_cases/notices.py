"""Post notices to workflows' notify targets, apart from the runs they report on.

Each scheduler tick holds a batch of due notices for a while, posts each one, and marks it
done; a failure is tried again after a backoff that doubles (1 s, 2 s, 4 s … at most an
hour), ``MAX_ATTEMPTS`` times in all, then given up and logged. A notice is signed like the
engine's own webhooks (``X-WFA-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``)
with the stored secret its target names, read when it is posted.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta

import msgspec

from wfa.application.errors import SecretError
from wfa.application.ports.clock import Clock
from wfa.application.ports.notices import DeliveryFailed, NoticePoster
from wfa.application.ports.repositories import StoredNotice, UnitOfWorkFactory
from wfa.application.use_cases.secrets import ResolveSecrets

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
HOLD = timedelta(seconds=60)
MAX_BACKOFF = 3600.0
RETENTION = timedelta(days=7)
PRUNE_EVERY = timedelta(minutes=10)
_encoder = msgspec.json.Encoder()


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next try after ``attempts`` failed ones (at least Retry-After)."""
    base = min(2.0 ** (attempts - 1), MAX_BACKOFF)
    return max(base, min(retry_after, MAX_BACKOFF)) if retry_after else base


def signature(secret: str, timestamp: int, body: str) -> str:
    """The X-WFA-Signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class SendNotices:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        poster: NoticePoster,
        secrets: ResolveSecrets,
        clock: Clock,
    ) -> None:
        self._uow, self._poster, self._secrets, self._clock = uow, poster, secrets, clock
        self._next_prune = clock.now()

    async def execute(self, limit: int = 50) -> int:
        """Post up to ``limit`` due notices; how many were taken."""
        now = self._clock.now()
        async with self._uow() as uow:
            due = await uow.notices.claim(now, now + HOLD, limit)
            if due:
                await uow.commit()
        for stored in due:
            await self._send(stored)
        if now >= self._next_prune:  # forgetting sent notices need not happen every tick
            self._next_prune = now + PRUNE_EVERY
            async with self._uow() as uow:
                if await uow.notices.prune(now - RETENTION, 500):
                    await uow.commit()
        return len(due)

    async def _send(self, stored: StoredNotice) -> None:
        notice = stored.notice
        body = _encoder.encode(notice.body).decode()
        headers = {"content-type": "application/json", "x-wfa-event": notice.event}
        attempts = stored.attempts + 1
        try:
            if notice.secret is not None:
                secret = (await self._secrets.values([notice.secret]))[notice.secret]
                stamp = int(self._clock.now().timestamp())
                headers["x-wfa-signature"] = signature(secret, stamp, body)
            await self._poster.post(notice.url, body, headers, notice.id)
        except (DeliveryFailed, SecretError) as error:
            await self._failed(stored, attempts, error)
            return
        async with self._uow() as uow:
            await uow.notices.done(notice.id, self._clock.now())
            await uow.commit()

    async def _failed(
        self, stored: StoredNotice, attempts: int, error: DeliveryFailed | SecretError
    ) -> None:
        notice, now = stored.notice, self._clock.now()
        retryable = isinstance(error, DeliveryFailed) and error.retryable
        async with self._uow() as uow:
            if retryable and attempts < MAX_ATTEMPTS:
                assert isinstance(error, DeliveryFailed)
                wait = timedelta(seconds=backoff(attempts, error.retry_after))
                await uow.notices.retry(notice.id, attempts, now + wait, str(error))
            else:
                log.warning(
                    "gave up on a %s notice to %s after %d attempt(s): %s",
                    notice.event,
                    notice.url,
                    attempts,
                    error,
                    extra={"run_id": notice.body.get("run_id")},
                )
                await uow.notices.done(notice.id, now, str(error))
            await uow.commit()
