"""YAML's safe subset, read with its nesting bounded while it is composed.

Definitions come as YAML over HTTP and from files. Both are read here: plain data only
(never objects), containers counted as they are composed, so nothing recursive meets a
value deeper than the bound. Aliases (``*name``) may be refused: a few bytes of them can
stand for a value too large to store or encode (the "billion laughs").
"""

from __future__ import annotations

from typing import Any

import yaml

from wfa.application.payloads import PayloadTooDeep


class YamlAlias(ValueError):
    """The text uses an alias where aliases are refused; the message says where (it reads
    after the name of what was read: "the YAML body uses an alias …")."""


class _BoundedLoader(yaml.SafeLoader):
    def __init__(self, text: str, what: str, max_depth: int, aliases: bool) -> None:
        super().__init__(text)
        self._what, self._max_depth, self._aliases, self._depth = what, max_depth, aliases, 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if not self._aliases and self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise YamlAlias(
                f"uses an alias (*name) at line {mark.line + 1}; "
                "aliases are not accepted: write the value out"
            )
        container = self.check_event(yaml.MappingStartEvent, yaml.SequenceStartEvent)
        self._depth += container
        try:
            if self._depth > self._max_depth:
                raise PayloadTooDeep(self._what, self._max_depth)
            return super().compose_node(parent, index)
        finally:
            self._depth -= container


def load_bounded_yaml(text: str, what: str, max_depth: int, *, aliases: bool) -> Any:
    """The text's data. Raises PayloadTooDeep, YamlAlias, or yaml.YAMLError as it is."""
    loader = _BoundedLoader(text, what, max_depth, aliases)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
