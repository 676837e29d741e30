"""Callback tokens signed with HMAC-SHA256 under a key derived from WFA_SECRET_KEY.

A token is ``<body>.<mac>``, both base64url: the body is the JSON array ``[run, step,
attempt, expiry]``, the MAC covers it whole. The signing key is derived from the first
secret key (its HMAC over a fixed label), so a token is worthless for anything else the
secret key protects; tokens made under any configured key are read, so a key rotation does
not void the links already out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec

from wfa.application.errors import SecretKeyUnavailable
from wfa.application.ports.callbacks import CallbackRef

_LABEL = b"wfa callback tokens v1"
_Body = tuple[str, str, int, int]  # run id, step id, attempt, expiry (unix seconds)
_decoder = msgspec.json.Decoder(_Body)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SignedCallbackTokens:
    def __init__(self, secret_keys: Sequence[bytes]) -> None:
        if not secret_keys:
            raise ValueError("at least one key signs callback tokens")
        self._keys = [hmac.new(key, _LABEL, hashlib.sha256).digest() for key in secret_keys]

    def issue(self, ref: CallbackRef) -> str:
        expiry = int(ref.expires_at.timestamp()) + 1  # whole seconds, never before the step's
        body = msgspec.json.encode((ref.run_id, ref.step_id, ref.attempt, expiry))
        mac = hmac.new(self._keys[0], body, hashlib.sha256).digest()
        return f"{_b64(body)}.{_b64(mac)}"

    def read(self, token: str) -> CallbackRef | None:
        body_text, dot, mac_text = token.partition(".")
        if not dot:
            return None
        try:
            body, mac = _unb64(body_text), _unb64(mac_text)
        except (binascii.Error, ValueError):
            return None
        if not any(
            hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), mac)
            for key in self._keys
        ):
            return None
        run_id, step_id, attempt, expiry = _decoder.decode(body)  # we signed it: it decodes
        expires_at = datetime.fromtimestamp(expiry, tz=UTC)
        return CallbackRef(run_id=run_id, step_id=step_id, attempt=attempt, expires_at=expires_at)


class UnavailableCallbackTokens:
    """No secret key is configured: a task with a callback fails, saying which variable."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def issue(self, ref: CallbackRef) -> str:
        raise SecretKeyUnavailable(self._reason)

    def read(self, token: str) -> CallbackRef | None:
        return None
