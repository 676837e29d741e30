"""Console sessions: opened by an active key, read back until they expire or the key is
revoked, never forged from what a database or a secret key alone holds."""

from __future__ import annotations

import base64
import hashlib
import hmac

import msgspec
import pytest

from wfa.adapters.clock import FakeClock, SeededEntropy
from wfa.adapters.persistence.memory import MemoryStore
from wfa.application.console_sessions import (
    DEFAULT_SESSION_LIFETIME,
    ConsoleSessions,
    ConsoleUnavailable,
)
from wfa.application.use_cases.api_keys import CreateApiKey, RevokeApiKey
from wfa.domain.api_keys import Scope

SECRET = b"k" * 32
OTHER_SECRET = b"o" * 32


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def new_key(store: MemoryStore, clock: FakeClock, scope: Scope = Scope.OPERATOR) -> str:
    _, plaintext = await CreateApiKey(store.unit_of_work, clock, SeededEntropy(7)).execute(
        "person", scope
    )
    return plaintext


def sessions(store: MemoryStore, clock: FakeClock, *keys: bytes) -> ConsoleSessions:
    return ConsoleSessions(store.unit_of_work, clock, list(keys or (SECRET,)))


async def test_a_session_names_its_key_and_not_the_key_itself(store, clock):
    plaintext = await new_key(store, clock, Scope.VIEWER)
    opened = await sessions(store, clock).open(plaintext)
    assert opened is not None
    session, key = opened
    assert plaintext not in session
    assert key.scope is Scope.VIEWER
    assert await sessions(store, clock).read(session) == key


async def test_an_unknown_or_revoked_key_opens_nothing_and_revoking_ends_its_sessions(store, clock):
    plaintext = await new_key(store, clock)
    assert await sessions(store, clock).open("wfa_" + "x" * 43) is None
    opened = await sessions(store, clock).open(plaintext)
    assert opened is not None
    await RevokeApiKey(store.unit_of_work, clock).execute(opened[1].id)
    assert await sessions(store, clock).read(opened[0]) is None
    assert await sessions(store, clock).open(plaintext) is None


async def test_a_session_ends_at_its_lifetime(store, clock):
    plaintext = await new_key(store, clock)
    opened = await sessions(store, clock).open(plaintext)
    assert opened is not None
    clock.advance(DEFAULT_SESSION_LIFETIME.total_seconds() - 1)
    assert await sessions(store, clock).read(opened[0]) is not None
    clock.advance(1)
    assert await sessions(store, clock).read(opened[0]) is None


async def test_a_rotated_secret_key_still_reads_sessions_made_under_the_old_one(store, clock):
    plaintext = await new_key(store, clock)
    opened = await sessions(store, clock, SECRET).open(plaintext)
    assert opened is not None
    assert await sessions(store, clock, OTHER_SECRET, SECRET).read(opened[0]) is not None
    assert await sessions(store, clock, OTHER_SECRET).read(opened[0]) is None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def test_no_session_is_forged_from_the_database_alone_nor_altered(store, clock):
    plaintext = await new_key(store, clock)
    opened = await sessions(store, clock).open(plaintext)
    assert opened is not None
    session, key = opened
    body_text, mac_text = session.split(".")
    # Longer life for the same key: the MAC no longer fits.
    body = msgspec.json.encode((key.id, 2**40))
    assert await sessions(store, clock).read(f"{_b64(body)}.{mac_text}") is None
    # Someone with the stored hash but not the secret key signs with what they have.
    guessed = hmac.new(key.key_hash.encode(), body, hashlib.sha256).digest()
    assert await sessions(store, clock).read(f"{_b64(body)}.{_b64(guessed)}") is None
    for garbled in ("", ".", "x.y", "é.é", body_text, "a" * 10_000, f"{body_text}.{body_text}"):
        assert await sessions(store, clock).read(garbled) is None


async def test_another_keys_session_cannot_be_made_from_ones_own(store, clock):
    mine = await new_key(store, clock)
    _, theirs = await CreateApiKey(store.unit_of_work, clock, SeededEntropy(8)).execute(
        "admin", Scope.ADMIN
    )
    opened_mine = await sessions(store, clock).open(mine)
    opened_theirs = await sessions(store, clock).open(theirs)
    assert opened_mine is not None
    assert opened_theirs is not None
    _, my_mac = opened_mine[0].split(".")
    their_body, _ = opened_theirs[0].split(".")
    assert await sessions(store, clock).read(f"{their_body}.{my_mac}") is None


async def test_forms_carry_a_token_of_their_session_only(store, clock):
    plaintext = await new_key(store, clock)
    console = sessions(store, clock)
    first = await console.open(plaintext)
    clock.advance(1)
    second = await console.open(plaintext)
    assert first is not None
    assert second is not None
    assert first[0] != second[0]
    token = console.csrf_token(first[0])
    assert console.csrf_matches(first[0], token)
    assert not console.csrf_matches(second[0], token)
    assert not console.csrf_matches(first[0], "")
    assert not console.csrf_matches(first[0], "é" * 43)


async def test_without_a_secret_key_signing_in_is_refused_with_the_reason(store, clock):
    plaintext = await new_key(store, clock)
    console = ConsoleSessions(store.unit_of_work, clock, [], unavailable="set WFA_SECRET_KEY")
    with pytest.raises(ConsoleUnavailable, match="WFA_SECRET_KEY"):
        await console.open(plaintext)
    assert await console.read("anything.at-all") is None
