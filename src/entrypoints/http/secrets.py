"""Secrets over HTTP: set (write-only), list by name, delete. No answer ever holds a value."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, PathParameter

from wfa.application.use_cases.secrets import DeleteSecret, ListSecrets, SetSecret
from wfa.domain.api_keys import Scope
from wfa.domain.secrets import MAX_SECRET_LENGTH, SECRET_NAME, SECRET_NAME_RULE, StoredSecret
from wfa.entrypoints.http.auth import needs
from wfa.entrypoints.http.problems import responses

SecretName = Annotated[
    str,
    PathParameter(
        pattern=SECRET_NAME.pattern,
        min_length=1,
        max_length=128,
        description=f"The secret's name: {SECRET_NAME_RULE}.",
    ),
]


class SecretIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    value: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=MAX_SECRET_LENGTH,
            description="The value; stored encrypted and never shown again.",
        ),
    ]


class SecretOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    created_at: datetime
    updated_at: datetime


def _out(secret: StoredSecret) -> SecretOut:
    return SecretOut(name=secret.name, created_at=secret.created_at, updated_at=secret.updated_at)


class SecretController(Controller):
    path = "/api/v1/secrets"
    tags = ["secrets"]

    @put(
        "/{name:str}",
        opt=needs(Scope.OPERATOR),
        status_code=200,
        responses={
            200: ResponseSpec(
                data_container=SecretOut,
                description="The secret's value was replaced",
                generate_examples=False,
            ),
            201: ResponseSpec(
                data_container=SecretOut,
                description="The secret was created",
                generate_examples=False,
            ),
            **responses(400, 401, 413, 422, 503),
        },
    )
    async def put_secret(
        self, name: SecretName, data: JSONBody[SecretIn], set_secret: NamedDependency[SetSecret]
    ) -> Response[SecretOut]:
        """Create a secret (201) or replace its value (200); the value is never returned."""
        secret, created = await set_secret.execute(name, data.value)
        return Response(_out(secret), status_code=201 if created else 200)

    @get("/", opt=needs(Scope.ADMIN), responses=responses(401))
    async def list_secrets(self, list_secrets: NamedDependency[ListSecrets]) -> list[SecretOut]:
        """Every secret by name, with when it was created and last set (never a value)."""
        return [_out(secret) for secret in await list_secrets.execute()]

    @delete(
        "/{name:str}",
        opt=needs(Scope.OPERATOR),
        status_code=204,
        responses=responses(400, 401, 404),
    )
    async def remove(self, name: SecretName, delete_secret: NamedDependency[DeleteSecret]) -> None:
        """Delete a secret; steps that name it fail with ``secret.missing`` from then on."""
        await delete_secret.execute(name)
