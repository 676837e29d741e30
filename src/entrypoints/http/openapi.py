"""Finishing touches on the generated OpenAPI document, where Litestar's output misleads clients.

* An optional query or header parameter is generated as ``oneOf: [<type>, null]``. A query
  string or header cannot carry JSON ``null``: leaving the parameter out is how a client says
  "none" (``required: false`` already says so), and a client that sends the text ``null``
  gets a 400. The ``null`` branch is dropped and the constraints move onto the one type left.
* A request Struct that refuses unknown fields (``forbid_unknown_fields``) answers 400 to an
  extra property; its schema says so with ``additionalProperties: false``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from types import ModuleType

import msgspec
from litestar.openapi.spec import OpenAPI, Operation, Parameter, Reference, Schema
from litestar.openapi.spec.enums import OpenAPIType

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def finish_document(openapi: OpenAPI, *schema_modules: ModuleType) -> None:
    """Correct ``openapi`` in place (see the module docstring)."""
    for operation in _operations(openapi):
        for parameter in operation.parameters or []:
            if isinstance(parameter, Parameter) and isinstance(parameter.schema, Schema):
                parameter.schema = _without_null(parameter.schema)
    schemas = openapi.components.schemas or {}
    for module in schema_modules:
        for name, value in vars(module).items():
            if _is_closed_struct(value) and isinstance(schemas.get(name), Schema):
                schemas[name].additional_properties = False


def _operations(openapi: OpenAPI) -> Iterator[Operation]:
    for path_item in (openapi.paths or {}).values():
        for method in _METHODS:
            operation = getattr(path_item, method, None)
            if isinstance(operation, Operation):
                yield operation


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


def _is_closed_struct(value: object) -> bool:
    return (
        isinstance(value, type)
        and issubclass(value, msgspec.Struct)
        and value.__struct_config__.forbid_unknown_fields
    )
