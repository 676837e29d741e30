"""YAML request bodies (``application/yaml`` / ``text/yaml``) for workflow definitions.

Only YAML's safe subset is read (plain data, never objects). A body is held to the JSON
limits: its size by the server's body limit, its nesting by WFA_MAX_JSON_DEPTH counted while
it is composed (before any recursion can run deep), NUL by the use cases as for JSON. Aliases
(``*name``) are refused: a few bytes of them can stand for a value too large to store or
encode (the "billion laughs"), and a definition never needs them.
"""

from __future__ import annotations

from typing import Any

import yaml
from litestar.exceptions import ClientException

from wfa.application.payloads import PayloadTooDeep

YAML_TYPES = frozenset({"application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml"})


class _BoundedLoader(yaml.SafeLoader):
    """yaml's safe loader, counting container depth and refusing aliases as it composes."""

    def __init__(self, text: str, max_depth: int) -> None:
        super().__init__(text)
        self._max_depth, self._depth = max_depth, 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise ClientException(
                f"the YAML body uses an alias (*name) at line {mark.line + 1}; "
                "aliases are not accepted: write the value out"
            )
        container = self.check_event(yaml.MappingStartEvent, yaml.SequenceStartEvent)
        self._depth += container
        try:
            if self._depth > self._max_depth:
                raise PayloadTooDeep("the request body", self._max_depth)
            return super().compose_node(parent, index)
        finally:
            self._depth -= container


def load_yaml_body(body: bytes, max_depth: int) -> Any:
    """The data of a YAML body; ClientException (400) with where it went wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientException("the YAML body is not UTF-8 text") from None
    loader = _BoundedLoader(text, max_depth)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ClientException(f"the body is not valid YAML{where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise ClientException(f"the body is not valid YAML: {error}") from None
    finally:
        loader.dispose()
