"""Read a workflow definition from a JSON or YAML file, with one clear line when it can't be."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

from wfa.application.payloads import DEFAULT_MAX_JSON_DEPTH, PayloadTooDeep, check_json_text
from wfa.entrypoints.bounded_yaml import load_bounded_yaml

MAX_DEFINITION_BYTES = 1_000_000


class DefinitionFileError(Exception):
    """The file could not be read as a definition; the message is one line for the user."""


def load_definition_file(path: str) -> Any:
    """The file's data: JSON for ``.json``, YAML (safe subset) otherwise. Never runs code."""
    file = Path(path)
    try:
        if file.stat().st_size > MAX_DEFINITION_BYTES:
            raise DefinitionFileError(f"{path}: larger than {MAX_DEFINITION_BYTES} bytes")
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DefinitionFileError(f"{path}: is a directory, not a definition file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DefinitionFileError(f"{path}: cannot be read ({error})") from None
    if file.suffix.lower() == ".json":
        return _json(path, text)
    return _yaml(path, text)


def _not_too_deep(text: str, what: str) -> None:
    """Refuse nesting past the API's bound before a recursive decoder meets it."""
    try:
        check_json_text(text.encode("utf-8", "surrogatepass"), what, DEFAULT_MAX_JSON_DEPTH)
    except PayloadTooDeep as error:
        raise DefinitionFileError(str(error)) from None


def _json(path: str, text: str) -> Any:
    _not_too_deep(text, path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise DefinitionFileError(f"{path}: not valid JSON at {where}: {error.msg}") from None


def _yaml(path: str, text: str) -> Any:
    # Nesting is counted as the YAML is composed, block style (indentation) included.
    try:
        return load_bounded_yaml(text, path, DEFAULT_MAX_JSON_DEPTH, aliases=True)
    except PayloadTooDeep as error:
        raise DefinitionFileError(str(error)) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise DefinitionFileError(f"{path}: not valid YAML{where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise DefinitionFileError(f"{path}: not valid YAML: {error}") from None


def parse_input(text: str | None, option: str = "--input") -> Any:
    """A value given on the command line as JSON (the run input, by default)."""
    if text is None:
        return None
    _not_too_deep(text, option)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DefinitionFileError(
            f"{option} is not valid JSON: {error.msg} (column {error.colno})"
        ) from None


def parse_secrets(pairs: list[str] | None, path: str | None) -> dict[str, str]:
    """``--secret NAME=VALUE`` options over a ``--secrets-file`` (lines ``NAME=VALUE``, as in
    a .env file): the secrets an offline run may use."""
    secrets: dict[str, str] = {}
    if path is not None:
        if not Path(path).is_file():
            raise DefinitionFileError(f"--secrets-file: {path}: no such file")
        secrets |= {k: v for k, v in dotenv_values(path).items() if v is not None}
    for pair in pairs or []:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            # Not repeated: what was given may be the value itself.
            raise DefinitionFileError("--secret takes NAME=VALUE")
        secrets[name] = value
    return secrets


def parse_answers(pairs: list[str] | None, option: str) -> dict[str, list[Any]]:
    """``NAME=JSON`` options, repeatable, as payloads by name in the order given."""
    answers: dict[str, list[Any]] = {}
    for pair in pairs or []:
        name, equals, text = pair.partition("=")
        if not equals or not name:
            raise DefinitionFileError(f"{option} takes NAME=JSON, got {pair!r}")
        answers.setdefault(name, []).append(parse_input(text, f"{option} {name}"))
    return answers
