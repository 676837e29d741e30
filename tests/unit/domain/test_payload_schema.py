"""The payload schema subset: what each keyword admits and refuses, and schemas refused."""

from __future__ import annotations

from typing import Any

import pytest

from wfa.domain.payload_schema import MAX_PROBLEMS, payload_problems, schema_problems

ORDER = {
    "type": "object",
    "required": ["id", "lines"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "minLength": 2, "maxLength": 8},
        "rush": {"type": ["boolean", "null"]},
        "status": {"enum": ["new", "paid"]},
        "version": {"const": 1},
        "total": {"type": "number", "minimum": 0, "maximum": 1000},
        "lines": {
            "type": "array",
            "minItems": 1,
            "maxItems": 2,
            "items": {"type": "object", "properties": {"qty": {"type": "integer"}}},
        },
    },
}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"id": "A-1", "lines": [{"qty": 2}], "rush": None, "total": 9.5}, []),
        ({"id": "A-1", "lines": [{"qty": 2.0}], "status": "paid", "version": 1}, []),
        ([], ["payload: expected object, got array"]),
        ({"lines": []}, ["payload.id: is required", "payload.lines: must have at least 1 items"]),
        (
            {"id": "A", "lines": [{"qty": 1.5}, {}, {}], "extra": 1},
            [
                "payload.id: must have at least 2 characters",
                "payload.lines: must have at most 2 items",
                "payload.lines[0].qty: expected integer, got number",
                "payload.extra: is not an expected property",
            ],
        ),
        (
            {"id": "A-1", "lines": [{}], "rush": 1, "status": "gone", "version": True},
            [
                "payload.rush: expected boolean or null, got number",
                "payload.status: must be one of ['new', 'paid']",
                "payload.version: must be 1",
            ],
        ),
        ({"id": "A-1", "lines": [{}], "total": -1}, ["payload.total: must be at least 0"]),
        ({"id": "A-1", "lines": [{}], "total": 10**400}, ["payload.total: must be at most 1000"]),
        ({"id": "A-123456789", "lines": [{}]}, ["payload.id: must have at most 8 characters"]),
    ],
)
def test_a_payload_is_checked_against_each_keyword(payload: Any, expected: list[str]) -> None:
    assert [str(problem) for problem in payload_problems(ORDER, payload)] == expected


def test_problems_stop_at_a_bound() -> None:
    many = payload_problems({"type": "array", "items": {"type": "string"}}, list(range(100)))
    assert len(many) == MAX_PROBLEMS


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ("object", [("", "a schema must be an object")]),
        ({"properties": []}, [(".properties", "must map property names to schemas")]),
        ({"properties": {"a": {"type": 3}}}, [(".properties.a.type", "must be one of")]),
        ({"required": "a"}, [(".required", "must be a list of property names")]),
        ({"additionalProperties": {}}, [(".additionalProperties", "must be true or false")]),
        ({"items": {"minItems": -1}}, [(".items.minItems", "must be a whole number, 0 or more")]),
        ({"enum": []}, [(".enum", "must be a non-empty list of values")]),
        ({"minimum": "1"}, [(".minimum", "must be a number")]),
        ({"maxLength": True}, [(".maxLength", "must be a whole number, 0 or more")]),
        ({"pattern": "x"}, [(".pattern", "unknown schema keyword")]),
    ],
)
def test_a_schema_outside_the_subset_is_refused_at_its_path(
    schema: Any, expected: list[tuple[str, str]]
) -> None:
    found = list(schema_problems(schema))
    assert [path for path, _ in found] == [path for path, _ in expected]
    for (_, message), (_, start) in zip(found, expected, strict=True):
        assert message.startswith(start), message
