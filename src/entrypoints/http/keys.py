"""API keys over HTTP: create (the key is shown once), list, revoke; for admin keys only."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from wfa.application.use_cases.api_keys import (
    DEFAULT_SCOPE,
    CreateApiKey,
    ListApiKeys,
    RevokeApiKey,
)
from wfa.domain.api_keys import ApiKey, Scope
from wfa.entrypoints.http.auth import needs
from wfa.entrypoints.http.problems import responses


class ApiKeyIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str = msgspec.field(default="api")
    scope: Scope = DEFAULT_SCOPE  # admin, operator or viewer


class ApiKeyOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    prefix: str
    scope: Scope
    created_at: datetime
    revoked_at: datetime | None


class NewApiKey(ApiKeyOut, frozen=True, kw_only=True):
    key: str  # shown this once; only its hash is stored


def _out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scope=key.scope,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


class ApiKeyController(Controller):
    path = "/api/v1/api-keys"
    tags = ["api keys"]

    @post("/", opt=needs(Scope.ADMIN), status_code=201, responses=responses(400, 401, 409))
    async def create(
        self, create_api_key: NamedDependency[CreateApiKey], data: JSONBody[ApiKeyIn]
    ) -> NewApiKey:
        """Create a key; the response is the only time the key itself is shown."""
        name = data.name.strip()[:100] or "api"
        key, plaintext = await create_api_key.execute(name, data.scope)
        return NewApiKey(**msgspec.structs.asdict(_out(key)), key=plaintext)

    @get("/", opt=needs(Scope.ADMIN), responses=responses(401))
    async def list_keys(self, list_api_keys: NamedDependency[ListApiKeys]) -> list[ApiKeyOut]:
        """Every key, newest first, by name and prefix (never the key)."""
        return [_out(key) for key in await list_api_keys.execute()]

    @delete("/{key_id:str}", opt=needs(Scope.ADMIN), status_code=204, responses=responses(401, 404))
    async def revoke(
        self, key_id: FromPath[str], revoke_api_key: NamedDependency[RevokeApiKey]
    ) -> None:
        """Revoke a key; requests with it fail within seconds."""
        await revoke_api_key.execute(key_id)
