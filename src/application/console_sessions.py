"""Console sessions: a person signs in with an API key and gets a signed session instead.

A session is ``<body>.<mac>`` (base64url): the body is ``[key id, expiry]``, the MAC is
HMAC-SHA256 under a key made of two halves, the console key (derived from the secret key,
so every process that shares ``WFA_SECRET_KEY`` reads every session) and the API key's
stored hash (so a session can be checked only by someone holding both). Nothing is stored:

* revoking the API key ends its sessions at once (the key is looked up on every request);
* a session cannot be forged from a leaked database (no console key there) nor from a
  leaked secret key (no key hashes there), and it never holds the API key itself;
* it ends at its expiry, whatever the browser does with the cookie.

Forms carry a token derived from the session (``csrf_token``): a page from another site
cannot know it, so it cannot make a signed-in browser change anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from datetime import timedelta

import msgspec

from wfa.application.ports.clock import Clock
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.domain.api_keys import ApiKey, hash_key

DEFAULT_SESSION_LIFETIME = timedelta(hours=12)
_LABEL = b"wfa console sessions v1"
_CSRF = b"csrf"
_Body = tuple[str, int]  # key id, expiry (unix seconds)
_decoder = msgspec.json.Decoder(_Body)
MAX_SESSION_TEXT = 512  # a cookie longer than this is not one of ours


class ConsoleUnavailable(Exception):
    """No secret key here to sign sessions with (PostgreSQL without WFA_SECRET_KEY)."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ConsoleSessions:
    """Open sessions from presented API keys and read them back on each request.

    ``secret_keys``: the configured secret keys (the first signs, all are read, so a key
    rotation signs nobody out); empty when there is none, and then signing in is refused
    with ``unavailable`` as its reason.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        secret_keys: Sequence[bytes],
        lifetime: timedelta = DEFAULT_SESSION_LIFETIME,
        unavailable: str = "the console needs a secret key",
    ) -> None:
        self._uow, self._clock, self._lifetime = uow, clock, lifetime
        self._keys = [hmac.new(key, _LABEL, hashlib.sha256).digest() for key in secret_keys]
        self._unavailable = unavailable

    @property
    def lifetime(self) -> timedelta:
        return self._lifetime

    async def open(self, presented: str) -> tuple[str, ApiKey] | None:
        """A session for an active key, and the key; None for an unknown or revoked one."""
        if not self._keys:
            raise ConsoleUnavailable(self._unavailable)
        async with self._uow() as uow:
            key = await uow.api_keys.by_hash(hash_key(presented.strip()))
        if key is None or not key.active:
            return None
        expiry = int((self._clock.now() + self._lifetime).timestamp())
        body = msgspec.json.encode((key.id, expiry))
        return f"{_b64(body)}.{_b64(self._mac(self._keys[0], key, body))}", key

    async def read(self, session: str) -> ApiKey | None:
        """The active key behind a session that is ours and not expired, else None."""
        if not self._keys or len(session) > MAX_SESSION_TEXT:
            return None
        body_text, dot, mac_text = session.partition(".")
        try:
            body, mac = _unb64(body_text), _unb64(mac_text)
            key_id, expiry = _decoder.decode(body)
        except (binascii.Error, ValueError, msgspec.DecodeError):
            return None
        if not dot or expiry <= self._clock.now().timestamp():
            return None
        async with self._uow() as uow:
            key = await uow.api_keys.get(key_id)
        if key is None or not key.active:
            return None
        if not any(hmac.compare_digest(self._mac(k, key, body), mac) for k in self._keys):
            return None
        return key

    def csrf_token(self, session: str) -> str:
        """The token the session's forms carry."""
        if not self._keys:
            return ""
        return _b64(hmac.new(self._keys[0], _CSRF + session.encode(), hashlib.sha256).digest())

    def csrf_matches(self, session: str, token: str) -> bool:
        given = token.encode()
        return any(
            hmac.compare_digest(
                _b64(hmac.new(key, _CSRF + session.encode(), hashlib.sha256).digest()).encode(),
                given,
            )
            for key in self._keys
        )

    @staticmethod
    def _mac(console_key: bytes, key: ApiKey, body: bytes) -> bytes:
        signing = hmac.new(console_key, key.key_hash.encode(), hashlib.sha256).digest()
        return hmac.new(signing, body, hashlib.sha256).digest()
