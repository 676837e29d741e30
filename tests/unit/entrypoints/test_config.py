"""Configuration: defaults, accepted spellings, and one clear line for each bad value."""

from __future__ import annotations

from datetime import timedelta

import pytest

from wfa.entrypoints.config import ConfigError, load_settings


def settings(**env: str):
    return load_settings(env, env_file=None)


def test_defaults_are_the_embedded_setup():
    loaded = settings()
    assert loaded.database_url == "sqlite+aiosqlite:///./wfa.db"
    assert (loaded.host, loaded.port, loaded.redis_url) == ("127.0.0.1", 8000, None)
    assert not loaded.retention.enabled


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u@db:5432/wfa", "postgresql+psycopg://u@db:5432/wfa"),
        ("postgres://u:pw@db/wfa", "postgresql+psycopg://u:pw@db/wfa"),
        ("sqlite:///data/wfa.db", "sqlite+aiosqlite:///data/wfa.db"),
        ("postgresql+psycopg://u@db/wfa", "postgresql+psycopg://u@db/wfa"),
    ],
)
def test_database_urls_are_moved_onto_the_async_drivers(given, used):
    assert settings(WFA_DATABASE_URL=given).database_url == used


def test_retention_reads_durations_and_counts():
    loaded = settings(WFA_RETENTION_MAX_AGE="30d", WFA_RETENTION_MAX_RUNS="1000")
    assert loaded.retention.max_age == timedelta(days=30)
    assert loaded.retention.max_runs == 1000
    assert settings(WFA_RETENTION_MAX_AGE="90").retention.max_age == timedelta(seconds=90)


def test_the_queue_can_be_named_and_its_idle_timeout_set():
    assert (settings().queue_name, settings().queue_idle_timeout_seconds) == ("wfa:jobs", 300.0)
    loaded = settings(WFA_QUEUE_NAME="staging:jobs", WFA_QUEUE_IDLE_TIMEOUT_SECONDS="2m")
    assert (loaded.queue_name, loaded.queue_idle_timeout_seconds) == ("staging:jobs", 120.0)


def test_the_access_log_is_off_unless_switched_on():
    assert settings().access_log is False
    assert settings(WFA_ACCESS_LOG="").access_log is False
    assert settings(WFA_ACCESS_LOG="0").access_log is False
    assert settings(WFA_ACCESS_LOG="False").access_log is False
    assert settings(WFA_ACCESS_LOG="1").access_log is True
    assert settings(WFA_ACCESS_LOG="TRUE").access_log is True


def test_the_waiters_cap_defaults_to_a_thousand_and_may_be_zero():
    assert settings().max_waiters == 1000
    assert settings(WFA_MAX_WAITERS="0").max_waiters == 0
    assert settings(WFA_MAX_WAITERS="25").max_waiters == 25


def test_the_run_history_budget_defaults_to_ten_thousand_events():
    assert settings().run_max_events == 10_000
    assert settings(WFA_RUN_MAX_EVENTS="500").run_max_events == 500


def test_webhook_signature_windows_have_defaults_and_can_be_set():
    window = settings().signature_window
    assert (window.tolerance, window.github_retention) == (
        timedelta(minutes=5),
        timedelta(hours=24),
    )
    window = settings(
        WFA_WEBHOOK_TOLERANCE="90", WFA_WEBHOOK_REPLAY_RETENTION="7d"
    ).signature_window
    assert (window.tolerance, window.github_retention) == (
        timedelta(seconds=90),
        timedelta(days=7),
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WFA_PORT": "http"}, "WFA_PORT: 'http' is not a whole number"),
        ({"WFA_PORT": "70000"}, "WFA_PORT: must be between 1 and 65535, got 70000"),
        ({"WFA_DATABASE_URL": "oracle://x/y"}, "WFA_DATABASE_URL: 'oracle' is not supported"),
        ({"WFA_DATABASE_URL": "::nonsense"}, "WFA_DATABASE_URL: not a database URL"),
        ({"WFA_REDIS_URL": "localhost:6379"}, "WFA_REDIS_URL: 'localhost:6379' is not a redis://"),
        ({"WFA_LOG_FORMAT": "xml"}, "WFA_LOG_FORMAT: 'xml' is not one of text, json"),
        ({"WFA_ACCESS_LOG": "yes"}, "WFA_ACCESS_LOG: 'yes' is not one of 1, true, 0, false"),
        ({"WFA_HTTP_ALLOW": "10.0.0.0/33"}, "WFA_HTTP_ALLOW: '10.0.0.0/33' is not a valid CIDR"),
        (
            {"WFA_RETENTION_MAX_AGE": "a month"},
            "WFA_RETENTION_MAX_AGE: 'a month' is not a duration",
        ),
        ({"WFA_RETENTION_MAX_RUNS": "-1"}, "WFA_RETENTION_MAX_RUNS: must be at least 0, got -1"),
        ({"WFA_MAX_PAYLOAD_BYTES": "10"}, "WFA_MAX_PAYLOAD_BYTES: must be at least 1024, got 10"),
        ({"WFA_MAX_WAITERS": "-1"}, "WFA_MAX_WAITERS: must be between 0 and 1000000, got -1"),
        ({"WFA_MAX_WAITERS": "many"}, "WFA_MAX_WAITERS: 'many' is not a whole number"),
        ({"WFA_MAX_JSON_DEPTH": "1000"}, "WFA_MAX_JSON_DEPTH: must be between 2 and 200, got 1000"),
        ({"WFA_MAX_JSON_DEPTH": "deep"}, "WFA_MAX_JSON_DEPTH: 'deep' is not a whole number"),
        ({"WFA_API_KEY": "letmein"}, "WFA_API_KEY: must be at least 32 characters"),
        ({"WFA_RUN_MAX_EVENTS": "lots"}, "WFA_RUN_MAX_EVENTS: 'lots' is not a whole number"),
        ({"WFA_RUN_MAX_EVENTS": "1"}, "WFA_RUN_MAX_EVENTS: must be between 2 and 2147483647"),
        (
            {"WFA_RUN_MAX_EVENTS": "2147483648"},
            "WFA_RUN_MAX_EVENTS: must be between 2 and 2147483647",
        ),
        (
            {"WFA_QUEUE_IDLE_TIMEOUT_SECONDS": "0"},
            "WFA_QUEUE_IDLE_TIMEOUT_SECONDS: must be between 0.1 seconds and a day",
        ),
        ({"WFA_WEBHOOK_TOLERANCE": "2h"}, "WFA_WEBHOOK_TOLERANCE: must be between 1s and 3600s"),
        ({"WFA_WEBHOOK_TOLERANCE": "soon"}, "WFA_WEBHOOK_TOLERANCE: 'soon' is not a duration"),
        (
            {"WFA_WEBHOOK_REPLAY_RETENTION": "10s"},
            "WFA_WEBHOOK_REPLAY_RETENTION: must be between 60s and 2592000s",
        ),
    ],
)
def test_a_bad_value_names_its_variable(env, message):
    with pytest.raises(ConfigError) as refused:
        settings(**env)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)


def test_the_environment_wins_over_the_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text('WFA_PORT=9000\nWFA_HOST="0.0.0.0"\n')
    loaded = load_settings({"WFA_PORT": "9100"}, env_file=env_file)
    assert (loaded.host, loaded.port) == ("0.0.0.0", 9100)


def test_the_json_depth_is_64_unless_set():
    assert settings().max_json_depth == 64
    assert settings(WFA_MAX_JSON_DEPTH="100").max_json_depth == 100
