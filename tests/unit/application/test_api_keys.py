"""API key use cases on every persistence adapter: create, list, revoke, authenticate, bootstrap."""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass

import msgspec
import pytest

from wfa.adapters.clock import FakeClock, SeededEntropy, SystemEntropy
from wfa.application.errors import NotFound
from wfa.application.ports.repositories import UnitOfWorkFactory
from wfa.application.use_cases.api_keys import (
    AuthenticateApiKey,
    CreateApiKey,
    EnsureBootstrapKey,
    ListApiKeys,
    RevokeApiKey,
)
from wfa.domain.api_keys import ApiKey, issue_key

KEY_FORMAT = re.compile(r"^wfa_[A-Za-z0-9_-]{43}$")
CONFIGURED = "operator-chosen-key-0123456789abcdef"


@dataclass
class Keys:
    """The use cases over one adapter, on a fake clock and seeded entropy."""

    uow: UnitOfWorkFactory
    clock: FakeClock
    entropy: SeededEntropy

    def __post_init__(self) -> None:
        self.create = CreateApiKey(self.uow, self.clock, self.entropy)
        self.revoke = RevokeApiKey(self.uow, self.clock)
        self.list = ListApiKeys(self.uow)
        self.authenticate = AuthenticateApiKey(self.uow)
        self.bootstrap = EnsureBootstrapKey(self.uow, self.clock, self.entropy)


@pytest.fixture
def keys(uow_factory: UnitOfWorkFactory) -> Keys:
    return Keys(uow_factory, FakeClock(), SeededEntropy(3))


def assert_no_plaintext(stored: list[ApiKey], plaintext: str) -> None:
    for key in stored:
        for value in msgspec.structs.astuple(key):
            assert plaintext not in str(value), f"{key.id} keeps its plaintext"


async def test_a_new_key_is_shown_once_and_kept_as_its_hash(keys):
    key, plaintext = await keys.create.execute("ci")
    assert KEY_FORMAT.match(plaintext)
    assert key.name == "ci"
    assert key.prefix == plaintext[:8]
    assert key.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert key.created_at == keys.clock.now()
    assert key.active
    stored = await keys.list.execute()
    assert stored == [key]
    assert_no_plaintext(stored, plaintext)


async def test_keys_are_listed_newest_first(keys):
    names = []
    for name in ("first", "second", "third"):
        await keys.create.execute(name)
        names.insert(0, name)
        keys.clock.advance(1)
    assert [key.name for key in await keys.list.execute()] == names


async def test_a_key_authenticates_until_it_is_revoked(keys):
    key, plaintext = await keys.create.execute("ci")
    assert await keys.authenticate.execute(plaintext) == key
    assert await keys.authenticate.execute(plaintext + "x") is None
    assert await keys.authenticate.execute("") is None
    keys.clock.advance(60)
    revoked = await keys.revoke.execute(key.id)
    assert revoked.revoked_at == keys.clock.now()
    assert not revoked.active
    assert await keys.authenticate.execute(plaintext) is None


async def test_revoking_again_keeps_the_first_time_and_unknown_ids_are_not_found(keys):
    key, _ = await keys.create.execute("ci")
    first = await keys.revoke.execute(key.id)
    keys.clock.advance(60)
    assert await keys.revoke.execute(key.id) == first
    with pytest.raises(NotFound) as missing:
        await keys.revoke.execute("no-such-key")
    assert (missing.value.kind, missing.value.ident) == ("api key", "no-such-key")


async def test_bootstrap_makes_one_admin_key_when_none_is_active(keys):
    plaintext = await keys.bootstrap.execute(None)
    assert plaintext is not None
    assert KEY_FORMAT.match(plaintext)
    admin = await keys.authenticate.execute(plaintext)
    assert admin is not None
    assert admin.name == "admin"
    assert await keys.bootstrap.execute(None) is None, "a second start prints nothing"
    assert await keys.list.execute() == [admin]
    assert_no_plaintext([admin], plaintext)


async def test_bootstrap_makes_a_new_admin_key_once_every_key_is_revoked(keys):
    first = await keys.bootstrap.execute(None)
    assert first is not None
    admin = await keys.authenticate.execute(first)
    assert admin is not None
    await keys.revoke.execute(admin.id)
    second = await keys.bootstrap.execute(None)
    assert second is not None
    assert second != first
    assert await keys.authenticate.execute(second) is not None


async def test_bootstrap_leaves_existing_active_keys_alone(keys):
    await keys.create.execute("ci")
    assert await keys.bootstrap.execute(None) is None
    assert [key.name for key in await keys.list.execute()] == ["ci"]


async def test_a_configured_key_is_stored_once_by_hash_and_never_printed(keys):
    await keys.create.execute("ci")
    for _ in range(2):
        assert await keys.bootstrap.execute(CONFIGURED) is None
    stored = await keys.list.execute()
    assert sorted(key.name for key in stored) == ["bootstrap", "ci"]
    bootstrap = await keys.authenticate.execute(CONFIGURED)
    assert bootstrap is not None
    assert bootstrap.name == "bootstrap"
    assert_no_plaintext(stored, CONFIGURED)


async def test_a_revoked_configured_key_stays_revoked_across_starts(keys):
    await keys.bootstrap.execute(CONFIGURED)
    bootstrap = await keys.authenticate.execute(CONFIGURED)
    assert bootstrap is not None
    await keys.revoke.execute(bootstrap.id)
    assert await keys.bootstrap.execute(CONFIGURED) is None
    assert await keys.authenticate.execute(CONFIGURED) is None
    assert len(await keys.list.execute()) == 1


async def test_starts_racing_to_store_one_configured_key_store_it_once(keys):
    results = await asyncio.gather(*(keys.bootstrap.execute(CONFIGURED) for _ in range(3)))
    assert results == [None, None, None]
    assert [key.name for key in await keys.list.execute()] == ["bootstrap"]


def test_a_short_key_shows_no_more_than_half_of_itself():
    key = issue_key("k1", "short", "abcdef", FakeClock().now())
    assert key.prefix == "abc"


def test_tokens_are_43_url_safe_characters_and_seeded_ones_repeat():
    tokens = {SystemEntropy().token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", token) for token in tokens)
    seeded = [SeededEntropy(5).token() for _ in range(2)]
    assert seeded[0] == seeded[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", seeded[0])
    assert SeededEntropy(6).token() != seeded[0]
