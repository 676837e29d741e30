"""Webhook signatures: each sender's documented vectors, time windows, malformed headers.

The GitHub and Slack vectors are the ones their documentation publishes. Stripe publishes
none: its libraries' tests compute signatures with the documented algorithm, so the Stripe
vector here was computed the same way (HMAC-SHA256 of "<t>.<payload>" with stripe-python's
test secret and payload), and is checked against our own signing only through that.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from wfa.domain.webhook_signatures import (
    MAX_HEADER_CHARS,
    MAX_SIGNATURES,
    SignatureRefused,
    VerifiedDelivery,
    verify_signature,
)

GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TIMESTAMP = 1531420618
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    b"collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700"
    b"885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2"
    b"c447fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
STRIPE_SECRET = "whsec_test_secret"
STRIPE_PAYLOAD = (
    b'{\n  "id": "evt_test_webhook",\n  "object": "event",\n'
    b'  "data": { "object": { "id": "rdr_123", "object": "terminal.reader" } }\n}'
)
STRIPE_TIMESTAMP = 1700000000
STRIPE_V1 = "3bfab77baf5f7b6991a46c9b53b6547d7afc56148b10468fcad9f35c1992ffbd"

SECRET = "s3cret"
BODY = b'{"order": 7}'
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


def wfa_header(t: datetime = NOW, body: bytes = BODY, secret: str = SECRET) -> str:
    unix = int(t.timestamp())
    digest = hmac.new(secret.encode(), f"{unix}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={unix},v1={digest}"


def verify_wfa(header: str, now: datetime = NOW, body: bytes = BODY) -> VerifiedDelivery:
    return verify_signature("wfa", SECRET, {"x-wfa-signature": header}, body, now, path="p")


def test_github_documented_vector():
    headers = {"x-hub-signature-256": GITHUB_SIGNATURE, "x-github-delivery": "72d3162e-cc78"}
    verified = verify_signature("github", GITHUB_SECRET, headers, b"Hello, World!", NOW, path="p")
    assert verified.remember_until == NOW + timedelta(hours=24)
    assert len(verified.claims) == 2  # the signature and the delivery id
    with pytest.raises(SignatureRefused, match="does not match"):
        verify_signature("github", GITHUB_SECRET, headers, b"Hello, World?", NOW, path="p")


def test_slack_documented_vector_inside_its_window_only():
    headers = {
        "x-slack-signature": SLACK_SIGNATURE,
        "x-slack-request-timestamp": str(SLACK_TIMESTAMP),
    }
    now = at(SLACK_TIMESTAMP + 299)
    verified = verify_signature("slack", SLACK_SECRET, headers, SLACK_BODY, now, path="p")
    assert verified.remember_until == at(SLACK_TIMESTAMP + 301)  # past the last instant
    verify_signature(
        "slack", SLACK_SECRET, headers, SLACK_BODY, at(SLACK_TIMESTAMP + 300), path="p"
    )
    with pytest.raises(SignatureRefused, match="more than 300 seconds"):
        verify_signature(
            "slack", SLACK_SECRET, headers, SLACK_BODY, at(SLACK_TIMESTAMP + 301), path="p"
        )


def test_stripe_vector_among_other_values_as_stripe_sends_them():
    header = f"t={STRIPE_TIMESTAMP},v1=bad_signature,v1={STRIPE_V1},v0=6ffbb59b2300aae63f27"
    now = at(STRIPE_TIMESTAMP + 10)
    headers = {"stripe-signature": header}
    verify_signature("stripe", STRIPE_SECRET, headers, STRIPE_PAYLOAD, now, path="p")
    only_v0 = {"stripe-signature": f"t={STRIPE_TIMESTAMP},v0={STRIPE_V1}"}
    with pytest.raises(SignatureRefused, match="in hex"):  # v0 alone is not Stripe's scheme
        verify_signature("stripe", STRIPE_SECRET, only_v0, STRIPE_PAYLOAD, now, path="p")


def test_wfa_signs_the_timestamp_with_the_body():
    verified = verify_wfa(wfa_header())
    assert verified.remember_until == NOW + timedelta(minutes=5, seconds=1)
    with pytest.raises(SignatureRefused, match="does not match"):
        verify_wfa(wfa_header(), body=b'{"order": 8}')
    later = wfa_header(NOW - timedelta(seconds=10))
    moved = later.replace(
        f"t={int((NOW - timedelta(seconds=10)).timestamp())}", f"t={int(NOW.timestamp())}"
    )
    with pytest.raises(SignatureRefused, match="does not match"):
        verify_wfa(moved)  # a captured signature under a fresh timestamp


@pytest.mark.parametrize(
    "skew", [timedelta(minutes=5, seconds=1), -timedelta(minutes=5, seconds=1)]
)
def test_wfa_refuses_a_timestamp_out_of_the_window_either_way(skew: timedelta):
    with pytest.raises(SignatureRefused, match="more than 300 seconds"):
        verify_wfa(wfa_header(NOW + skew))
    verify_wfa(wfa_header(NOW + skew * 0.99))


def test_several_v1_values_let_a_sender_rotate_its_secret():
    old = wfa_header(secret="old-secret")
    new = wfa_header()
    verify_wfa(f"{old},{new.split(',')[1]}")


def test_the_same_request_claims_the_same_and_another_path_claims_otherwise():
    header = wfa_header()
    first = verify_wfa(header)
    assert verify_wfa(header) == first
    other = verify_signature("wfa", SECRET, {"x-wfa-signature": header}, BODY, NOW, path="q")
    assert other.claims != first.claims


def test_the_old_body_only_form_is_refused_with_the_new_one_explained():
    legacy = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureRefused, match=r"no longer accepted.*t=<unix seconds>,v1="):
        verify_wfa(legacy)


@pytest.mark.parametrize(
    "header",
    [
        "sha256=éé",
        "t=1,v1=é",
        "",
        "   ",
        "garbage",
        "t=abc,v1=" + "0" * 64,
        "t=99999999999999,v1=" + "0" * 64,
        "t=1700000000",
        "t=1700000000,v1=xyz",
        "t=1700000000," + ",".join(["v1=" + "0" * 64] * (MAX_SIGNATURES + 1)),
        "t=1700000000,v1=" + "0" * MAX_HEADER_CHARS,
        "t=1700000000,\x00v1=" + "0" * 64,
    ],
)
def test_a_malformed_header_is_refused_not_crashed_on(header: str):
    with pytest.raises(SignatureRefused):
        verify_wfa(header)


def test_missing_headers_are_named():
    with pytest.raises(SignatureRefused, match="X-WFA-Signature: missing"):
        verify_signature("wfa", SECRET, {}, BODY, NOW, path="p")
    with pytest.raises(SignatureRefused, match="X-Slack-Request-Timestamp: missing"):
        verify_signature("slack", SECRET, {"x-slack-signature": "v0=00"}, BODY, NOW, path="p")
    with pytest.raises(SignatureRefused, match="X-Hub-Signature-256: missing"):
        verify_signature("github", SECRET, {}, BODY, NOW, path="p")
    with pytest.raises(SignatureRefused, match="Stripe-Signature: missing"):
        verify_signature("stripe", SECRET, {}, BODY, NOW, path="p")


@pytest.mark.parametrize(
    ("scheme", "headers"),
    [
        ("github", {"x-hub-signature-256": "sha1=abc"}),
        ("github", {"x-hub-signature-256": GITHUB_SIGNATURE, "x-github-delivery": "a b"}),
        ("slack", {"x-slack-signature": "v1=00", "x-slack-request-timestamp": "1531420618"}),
        ("slack", {"x-slack-signature": SLACK_SIGNATURE, "x-slack-request-timestamp": "soon"}),
    ],
)
def test_each_scheme_refuses_its_malformed_headers(scheme, headers):
    with pytest.raises(SignatureRefused, match="malformed"):
        verify_signature(scheme, GITHUB_SECRET, headers, b"Hello, World!", NOW, path="p")
