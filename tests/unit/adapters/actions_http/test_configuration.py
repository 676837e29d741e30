"""WFA_HTTP_ALLOW and WFA_HTTP_MAX_RESPONSE_BYTES reach the process's one http.request."""

from __future__ import annotations

import pytest

from wfa.adapters.actions.http import DEFAULT_MAX_RESPONSE_BYTES, HttpRequest
from wfa.entrypoints.config import ConfigError, load_settings
from wfa.entrypoints.container import Container


def test_the_response_cap_defaults_to_10_mib_and_can_be_set() -> None:
    assert load_settings({}, env_file=None).http_max_response_bytes == DEFAULT_MAX_RESPONSE_BYTES
    assert DEFAULT_MAX_RESPONSE_BYTES == 10 * 1024 * 1024
    loaded = load_settings({"WFA_HTTP_MAX_RESPONSE_BYTES": "2048"}, env_file=None)
    assert loaded.http_max_response_bytes == 2048


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10MB", "WFA_HTTP_MAX_RESPONSE_BYTES: '10MB' is not a whole number"),
        ("0", "WFA_HTTP_MAX_RESPONSE_BYTES: must be at least 1, got 0"),
    ],
)
def test_a_bad_cap_is_one_clear_line(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"WFA_HTTP_MAX_RESPONSE_BYTES": value}, env_file=None)


def test_the_container_gives_every_role_one_configured_action() -> None:
    env = {
        "WFA_HTTP_ALLOW": "127.0.0.1, 10.0.0.0/8,internal.example",
        "WFA_HTTP_MAX_RESPONSE_BYTES": "4096",
    }
    container = Container(settings=load_settings(env, env_file=None))

    action = container.actions().get("http.request")

    assert isinstance(action, HttpRequest)
    assert action is container.http_request()
    assert action.settings.allow == ("127.0.0.1", "10.0.0.0/8", "internal.example")
    assert action.settings.max_response_bytes == 4096
