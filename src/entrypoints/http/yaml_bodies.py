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

from wfa.entrypoints.bounded_yaml import YamlAlias, load_bounded_yaml

YAML_TYPES = frozenset({"application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml"})


def load_yaml_body(body: bytes, max_depth: int) -> Any:
    """The data of a YAML body; ClientException (400) with where it went wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientException("the YAML body is not UTF-8 text") from None
    try:
        return load_bounded_yaml(text, "the request body", max_depth, aliases=False)
    except YamlAlias as error:
        raise ClientException(f"the YAML body {error}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ClientException(f"the body is not valid YAML{where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise ClientException(f"the body is not valid YAML: {error}") from None
