"""WFA_RATE_LIMIT_*: on by default, ``N/unit`` or ``N`` per second, ``0``/``off`` to turn off."""

from __future__ import annotations

import pytest

from wfa.entrypoints.config import ConfigError, load_settings
from wfa.entrypoints.rate_limit_settings import RateLimit

VARIABLES = ("WFA_RATE_LIMIT_HOOKS", "WFA_RATE_LIMIT_HOOKS_PER_ADDRESS", "WFA_RATE_LIMIT_API")


def settings(**env: str):
    return load_settings(env, env_file=None)


def test_limits_are_on_by_default_and_let_a_webhook_take_the_engines_rate():
    loaded = settings()
    assert loaded.rate_limit_hook_path == RateLimit(2000, "second")
    assert loaded.rate_limit_hook_address == RateLimit(4000, "second")
    assert loaded.rate_limit_api == RateLimit(1000, "second")


@pytest.mark.parametrize(
    ("given", "read"),
    [
        ("600/minute", RateLimit(600, "minute")),
        ("600 / min", RateLimit(600, "minute")),
        ("50/s", RateLimit(50, "second")),
        ("10/hour", RateLimit(10, "hour")),
        ("1000/DAY", RateLimit(1000, "day")),
        ("250", RateLimit(250, "second")),
        ("off", RateLimit(0)),
        ("OFF", RateLimit(0)),
        ("0", RateLimit(0)),
        ("0/minute", RateLimit(0)),
        ("  ", RateLimit(1000, "second")),  # blank: the default
    ],
)
def test_accepted_spellings(given, read):
    assert settings(WFA_RATE_LIMIT_API=given).rate_limit_api == read


@pytest.mark.parametrize("variable", VARIABLES)
@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("lots", "is not a rate like 600/minute, 2000 (per second) or off"),
        ("10/fortnight", "is not a rate like"),
        ("-5", "is not a rate like"),
        ("1.5/s", "is not a rate like"),
        ("99999999999", "at most 10000000 requests per unit"),
    ],
)
def test_a_bad_limit_is_one_line_naming_the_variable(variable, given, said):
    with pytest.raises(ConfigError) as refused:
        settings(**{variable: given})
    message = str(refused.value)
    assert message.startswith(f"{variable}: ")
    assert said in message
    assert "\n" not in message


def test_a_limit_reads_back_as_written():
    assert str(RateLimit(600, "minute")) == "600/minute"
    assert str(RateLimit(0)) == "off"
