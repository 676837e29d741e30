"""The workflow definition's OpenAPI schema, derived from the domain's own Structs.

The definition body is decoded by the domain (every problem listed, with its path), not by
Litestar, so Litestar cannot see its shape. msgspec writes the JSON Schema of the domain's
``Definition`` (steps and triggers as unions tagged by ``type``, each Struct's docstring as
its description); this module turns that into OpenAPI components. Written from the types the
decoder reads, the document cannot drift from what the API accepts. A definition has rules no
schema states (step links, known actions, expressions, cron): breaking one is still 422.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar.openapi.spec import Discriminator, Reference, Schema
from litestar.openapi.spec.enums import OpenAPIType

from wfa.domain.definition import Definition
from wfa.domain.validation import STEP_ID

_REF = "#/components/schemas/{name}"
# Names the components take; prefixed where the domain's names are too plain to stand alone.
_RENAMED = {"Definition": "WorkflowDefinition", "Limits": "DefinitionLimits"}


def definition_components() -> dict[str, Schema]:
    """Every component the definition's schema refers to, by name (``WorkflowDefinition``...)."""
    (_, raw) = msgspec.json.schema_components([Definition], ref_template="{name}")
    components = {_name(name): _schema(body) for name, body in raw.items()}
    top = components["WorkflowDefinition"]
    properties = dict(top.properties or {})
    properties["name"] = _with(properties["name"], min_length=1)
    steps = properties["steps"]
    if isinstance(steps, Schema) and isinstance(steps.items, Schema):
        properties["steps"] = _with(steps, min_items=1)
    triggers = properties["triggers"]
    if isinstance(triggers, Schema) and triggers.items is not None:
        # The decoder also takes one trigger on its own, as ``trigger`` (not both).
        properties["trigger"] = triggers.items
        properties["triggers"] = _with(triggers, min_items=1)
    top.properties = properties
    for name, component in components.items():
        if name.endswith("Step") and component.properties:
            component.properties["id"] = _with(component.properties["id"], pattern=STEP_ID.pattern)
    return components


def definition_body_schema() -> dict[str, Any]:
    """The request body's schema as ``Body(schema_extra=...)`` takes it: the top-level object."""
    top = definition_components()["WorkflowDefinition"]
    return {
        "type": top.type,
        "required": top.required,
        "additional_properties": False,
        "properties": top.properties,
        "description": top.description,
    }


def _name(name: str) -> str:
    return _RENAMED.get(name, name)


def _with(schema: Schema | Reference, **changes: Any) -> Schema:
    if isinstance(schema, Reference):  # pragma: no cover - the fields changed are inline
        raise TypeError(f"cannot constrain a reference: {schema.ref}")
    for key, value in changes.items():
        setattr(schema, key, value)
    return schema


def _schema(raw: dict[str, Any]) -> Schema:
    """One JSON Schema object from msgspec as Litestar's Schema (msgspec's keywords only)."""
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        name = re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()
        if key == "type":
            fields[name] = OpenAPIType(value)
        elif key in ("properties",):
            fields[name] = {k: _any(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            fields[name] = _any(value)
        elif key == "anyOf":
            choices = [_any(v) for v in value]
            # A union tagged by ``type`` matches exactly one branch: oneOf, as OpenAPI spells it.
            fields["one_of" if "discriminator" in raw else "any_of"] = choices
        elif key == "discriminator":
            mapping = {tag: _REF.format(name=_name(ref)) for tag, ref in value["mapping"].items()}
            fields[name] = Discriminator(property_name=value["propertyName"], mapping=mapping)
        else:
            fields[name] = value
    return Schema(**fields)


def _any(raw: dict[str, Any]) -> Schema | Reference:
    if "$ref" in raw:
        return Reference(ref=_REF.format(name=_name(raw["$ref"])))
    return _schema(raw)
