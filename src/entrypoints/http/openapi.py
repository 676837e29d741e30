"""Finishing touches on the generated OpenAPI document, where Litestar's output misleads clients.

* An optional query or header parameter is generated as ``oneOf: [<type>, null]``. A query
  string or header cannot carry JSON ``null``: leaving the parameter out is how a client says
  "none" (``required: false`` already says so), and a client that sends the text ``null``
  gets a 400. The ``null`` branch is dropped and the constraints move onto the one type left.
* A request Struct that refuses unknown fields (``forbid_unknown_fields``) answers 400 to an
  extra property; its schema says so with ``additionalProperties: false``.
* Every operation under /api/v1 can answer 403 (the key's scope falls short) and, like
  webhooks, 429 (a rate limit, with ``Retry-After``): documented once here, not per handler.
* The workflow definition's body is decoded by the domain, so its parts (step and trigger
  types, retry policy...) are added here as components, written from the domain's Structs
  (definition_schema.py); examples, and the webhook's any-JSON body, come from
  openapi_examples.py.
* Every operation with a request body can answer 415 (a content type it does not read); one
  that also reads YAML (``opt=accepts_yaml()``) lists ``application/yaml`` beside JSON.
* Litestar documents a 400 of its own shape (``status_code``, ``detail``, ``extra`` as
  application/json) on every operation with parameters; the app answers a 400 as a problem
  (problems.py), so that is what the document says.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIType
from litestar.routes import BaseRoute, HTTPRoute

from wfa.entrypoints.http.definition_schema import definition_components
from wfa.entrypoints.http.openapi_examples import add_examples
from wfa.entrypoints.http.problems import PROBLEM_JSON, Problem
from wfa.entrypoints.http.strict_requests import YAML_OPT

_PROBLEM = f"#/components/schemas/{Problem.__name__}"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def finish_document(openapi: OpenAPI, routes: Iterable[BaseRoute]) -> None:
    """Correct ``openapi``, the document of ``routes``, in place (see the module docstring)."""
    for path, operation in _operations_by_path(openapi):
        answers = operation.responses if operation.responses is not None else {}
        if path.startswith("/api/v1/"):
            answers.setdefault("403", _problem("Forbidden: this API key's scope falls short"))
        if path.startswith(("/api/v1/", "/hooks/")):
            answers.setdefault("429", _too_many())
        operation.responses = answers
    for operation in _operations(openapi):
        for parameter in operation.parameters or []:
            if isinstance(parameter, Parameter) and isinstance(parameter.schema, Schema):
                parameter.schema = _without_null(parameter.schema)
        invalid = (operation.responses or {}).get("400")
        if isinstance(invalid, OpenAPIResponse) and PROBLEM_JSON not in (invalid.content or {}):
            invalid.content = {PROBLEM_JSON: OpenAPIMediaType(schema=Reference(_PROBLEM))}
    _document_body_types(openapi, routes)
    closed = {
        struct.__name__
        for route in routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if handler.parsed_data_field is not None
        for struct in _structs_in(handler.parsed_data_field.annotation)
        if struct.__struct_config__.forbid_unknown_fields
    }
    schemas = openapi.components.schemas if openapi.components.schemas is not None else {}
    for schema in schemas.values():
        if schema.title in closed:
            schema.additional_properties = False
    parts = definition_components()
    if clash := set(parts) & set(schemas):
        raise RuntimeError(f"OpenAPI component names used twice: {sorted(clash)}")
    schemas.update(parts)
    openapi.components.schemas = schemas
    add_examples(openapi)


def _document_body_types(openapi: OpenAPI, routes: Iterable[BaseRoute]) -> None:
    yaml_too = {
        (route.path_format, method.lower())
        for route in routes
        if isinstance(route, HTTPRoute)
        for method, (handler, _) in route.route_handler_map.items()
        if handler.opt.get(YAML_OPT)
    }
    for path, path_item in (openapi.paths or {}).items():
        for method in _METHODS:
            operation = getattr(path_item, method, None)
            if not isinstance(operation, Operation) or not isinstance(
                operation.request_body, RequestBody
            ):
                continue
            answers = operation.responses if operation.responses is not None else {}
            answers.setdefault("415", _problem("Unsupported Media Type: send application/json"))
            operation.responses = answers
            content = operation.request_body.content
            if (path, method) in yaml_too and "application/json" in content:
                as_json = content["application/json"]
                content["application/yaml"] = OpenAPIMediaType(schema=as_json.schema)


def _operations(openapi: OpenAPI) -> Iterator[Operation]:
    for _, operation in _operations_by_path(openapi):
        yield operation


def _operations_by_path(openapi: OpenAPI) -> Iterator[tuple[str, Operation]]:
    for path, path_item in (openapi.paths or {}).items():
        for method in _METHODS:
            operation = getattr(path_item, method, None)
            if isinstance(operation, Operation):
                yield path, operation


def _too_many() -> OpenAPIResponse:
    answer = _problem("Too Many Requests: a rate limit was reached")
    answer.headers = {
        "Retry-After": OpenAPIHeader(
            schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
            description="Seconds until the limit's window ends",
        )
    }
    return answer


def _problem(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={PROBLEM_JSON: OpenAPIMediaType(schema=Reference(_PROBLEM))},
    )


def _without_null(schema: Schema) -> Schema | Reference:
    if not schema.one_of:
        return schema
    kept = [s for s in schema.one_of if not (isinstance(s, Schema) and s.type == OpenAPIType.NULL)]
    if len(kept) != 1 or len(kept) == len(schema.one_of):
        return schema
    [only] = kept
    outer = {
        field.name: getattr(schema, field.name)
        for field in dataclasses.fields(schema)
        if field.name != "one_of" and getattr(schema, field.name) is not None
    }
    if isinstance(only, Schema):
        return dataclasses.replace(only, **outer)
    return only if not outer else dataclasses.replace(schema, one_of=[only])


def _structs_in(annotation: Any) -> Iterator[type[msgspec.Struct]]:
    """The Structs a body annotation names (``StartRunIn | None``: StartRunIn)."""
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _structs_in(argument)
