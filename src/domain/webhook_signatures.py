"""How webhook senders sign their requests, and the check of one request against its secret.

Four schemes, each the sender's own documented format:

- ``wfa`` (the default): ``X-WFA-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]``, the hex being
  HMAC-SHA256(secret, ``"<t>.<body>"``).
- ``stripe``: ``Stripe-Signature``, the same format and payload (``v0=`` and other keys ignored).
- ``slack``: ``X-Slack-Signature: v0=<hex>`` over ``"v0:<X-Slack-Request-Timestamp>:<body>"``.
- ``github``: ``X-Hub-Signature-256: sha256=<hex>`` over the body alone. GitHub sends no
  timestamp, so a repeat is only recognised while the delivery is remembered (``retention``).

A timestamp must lie within ``tolerance`` of now, in both directions. A check that passes
names the deliveries to remember (``claims``) and until when: the caller refuses a request
whose claim is still remembered, which is what makes a captured request useless.

Pure: the clock reading is handed in; headers arrive with lower-case names.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import msgspec

from wfa.domain.definition import SignatureScheme
from wfa.domain.errors import DomainError

DEFAULT_TOLERANCE = timedelta(minutes=5)
DEFAULT_GITHUB_RETENTION = timedelta(hours=24)
MAX_HEADER_CHARS = 1024  # longer signature headers are refused unread
MAX_SIGNATURES = 8  # v1= values in one header (more than one: the sender rotates its secret)
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_UNIX_TIME = re.compile(r"[0-9]{1,11}")
_DELIVERY_ID = re.compile(r"[A-Za-z0-9-]{1,100}")
_PAST_THE_WINDOW = timedelta(seconds=1)

SIGNATURE_HEADERS: dict[SignatureScheme, tuple[str, ...]] = {
    "wfa": ("x-wfa-signature",),
    "stripe": ("stripe-signature",),
    "slack": ("x-slack-signature", "x-slack-request-timestamp"),
    "github": ("x-hub-signature-256", "x-github-delivery"),
}
"""The headers each scheme reads (lower case)."""

_WFA_FORMAT = "'t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">'"


class SignatureRefused(DomainError):
    """A request whose signature is missing, malformed, wrong or out of its time window."""


class VerifiedDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """A request that passed: what to remember of it, and until when a repeat is a replay."""

    claims: tuple[str, ...]
    remember_until: datetime


def verify_signature(
    scheme: SignatureScheme,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    *,
    path: str,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    retention: timedelta = DEFAULT_GITHUB_RETENTION,
) -> VerifiedDelivery:
    """The deliveries to remember; SignatureRefused saying why when the request fails."""
    key = secret.encode()
    if scheme == "github":
        signature, delivery = _github(headers)
        _require_match(key, body, [signature], "X-Hub-Signature-256")
        claims = [_claim(path, scheme, signature)]
        if delivery is not None:
            claims.append(_claim(path, "github-delivery", delivery))
        return VerifiedDelivery(claims=tuple(claims), remember_until=now + retention)
    if scheme == "slack":
        timestamp, signatures = _slack(headers)
        prefix = f"v0:{timestamp}:".encode()
        name = "X-Slack-Signature"
    else:
        name = "X-WFA-Signature" if scheme == "wfa" else "Stripe-Signature"
        timestamp, signatures = _timestamped(headers, name, legacy=scheme == "wfa")
        prefix = f"{timestamp}.".encode()
    signed_at = datetime.fromtimestamp(timestamp, UTC)
    if abs(now - signed_at) > tolerance:
        raise SignatureRefused(
            f"{name}: signed at {signed_at.isoformat()}, more than "
            f"{int(tolerance.total_seconds())} seconds from now (a replay, or a clock that is off)"
        )
    matched = _require_match(key, prefix + body, signatures, name)
    # Remembered a little past the last instant the window accepts it: at that instant a
    # claim that had just expired would let the replay through.
    return VerifiedDelivery(
        claims=(_claim(path, scheme, matched),),
        remember_until=signed_at + tolerance + _PAST_THE_WINDOW,
    )


def _require_match(key: bytes, payload: bytes, signatures: list[str], name: str) -> str:
    expected = hmac.new(key, payload, hashlib.sha256).hexdigest()
    for signature in signatures:
        if hmac.compare_digest(expected.encode(), signature.encode()):
            return signature
    raise SignatureRefused(f"{name}: the signature does not match this webhook's secret")


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower())
    if value is None or not value.strip():
        raise SignatureRefused(f"{name}: missing (this webhook requires signed requests)")
    if len(value) > MAX_HEADER_CHARS or not value.isascii() or not value.isprintable():
        raise SignatureRefused(
            f"{name}: malformed (printable ASCII, at most {MAX_HEADER_CHARS} characters)"
        )
    return value.strip()


def _timestamped(headers: Mapping[str, str], name: str, *, legacy: bool) -> tuple[int, list[str]]:
    value = _header(headers, name)
    if legacy and value.startswith("sha256="):
        raise SignatureRefused(
            f"{name}: the body-only 'sha256=<hex>' form is no longer accepted, as it can be "
            f"replayed; send {_WFA_FORMAT}"
        )
    timestamp: str | None = None
    signatures: list[str] = []
    for item in value.split(","):
        key, _, text = item.strip().partition("=")
        if key == "t":
            timestamp = text
        elif key == "v1":
            signatures.append(text.lower())
    if timestamp is None or not _UNIX_TIME.fullmatch(timestamp):
        raise SignatureRefused(f"{name}: malformed, expected {_WFA_FORMAT}")
    # As Stripe's own libraries do: a v1 that is not a SHA-256 in hex cannot match, and
    # does not spoil the others.
    well_formed = [signature for signature in signatures if _HEX_SHA256.fullmatch(signature)]
    return int(timestamp), _hex_signatures(well_formed, name)


def _slack(headers: Mapping[str, str]) -> tuple[int, list[str]]:
    timestamp = _header(headers, "X-Slack-Request-Timestamp")
    if not _UNIX_TIME.fullmatch(timestamp):
        raise SignatureRefused("X-Slack-Request-Timestamp: malformed, expected unix seconds")
    signature = _header(headers, "X-Slack-Signature")
    if not signature.startswith("v0="):
        raise SignatureRefused("X-Slack-Signature: malformed, expected 'v0=<hex>'")
    return int(timestamp), _hex_signatures([signature.removeprefix("v0=")], "X-Slack-Signature")


def _github(headers: Mapping[str, str]) -> tuple[str, str | None]:
    signature = _header(headers, "X-Hub-Signature-256")
    if not signature.startswith("sha256="):
        raise SignatureRefused("X-Hub-Signature-256: malformed, expected 'sha256=<hex>'")
    [hex_signature] = _hex_signatures([signature.removeprefix("sha256=")], "X-Hub-Signature-256")
    delivery = headers.get("x-github-delivery")
    if delivery is not None and not _DELIVERY_ID.fullmatch(delivery.strip()):
        raise SignatureRefused("X-GitHub-Delivery: malformed, expected GitHub's delivery id")
    return hex_signature, None if delivery is None else delivery.strip()


def _hex_signatures(signatures: list[str], name: str) -> list[str]:
    if not signatures or len(signatures) > MAX_SIGNATURES:
        raise SignatureRefused(f"{name}: expected 1 to {MAX_SIGNATURES} signatures in hex")
    lowered = [signature.lower() for signature in signatures]
    if not all(_HEX_SHA256.fullmatch(signature) for signature in lowered):
        raise SignatureRefused(f"{name}: malformed, a signature is 64 hexadecimal digits")
    return lowered


def _claim(path: str, kind: str, value: str) -> str:
    """What is remembered of a delivery: a digest, so the store holds no signature."""
    return hashlib.sha256(f"{path}\n{kind}\n{value}".encode()).hexdigest()
