"""Configuration from the environment (and an optional ``.env`` file), checked at start-up.

A bad value stops start-up with one line that names the variable and says what it wants.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path

import msgspec
from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from wfa.adapters.actions.http import DEFAULT_MAX_RESPONSE_BYTES
from wfa.adapters.secrets.fernet import InvalidSecretKey, parse_keys
from wfa.application.console_sessions import DEFAULT_SESSION_LIFETIME
from wfa.application.payloads import DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_PAYLOAD_BYTES
from wfa.application.use_cases.events import DEFAULT_EVENT_RETENTION
from wfa.application.use_cases.follow_run import DEFAULT_MAX_WAITERS
from wfa.application.use_cases.prune_runs import Retention
from wfa.application.use_cases.webhooks import SignatureWindow
from wfa.domain.definition import MAX_RUN_EVENTS, MIN_RUN_EVENTS
from wfa.domain.expression_cost import BUDGET_VARIABLE, DEFAULT_EXPRESSION_BUDGET
from wfa.domain.limits import DEFAULT_LIMITS, DefinitionLimits
from wfa.domain.limits import VARIABLES as LIMIT_VARIABLES
from wfa.domain.progress import DEFAULT_MAX_EVENTS, EngineSettings
from wfa.domain.webhook_signatures import DEFAULT_GITHUB_RETENTION, DEFAULT_TOLERANCE
from wfa.entrypoints.rate_limit_settings import (
    DEFAULT_API,
    DEFAULT_HOOK_ADDRESS,
    DEFAULT_HOOK_PATH,
    InvalidRateLimit,
    RateLimit,
    parse_rate_limit,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./wfa.db"
_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class ConfigError(Exception):
    """One line naming the variable that is wrong."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    secret_key: str | None = None
    log_format: str | None = None  # text on a terminal, else json
    access_log: bool = False  # one wfa.http line per request
    http_allow: tuple[str, ...] = ()
    # The largest response body http.request reads (decompressed); more fails http.too_large.
    http_max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    # Arrays and objects nested deeper in a body, an input, a definition or an output: refused.
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    retention: Retention = Retention()
    worker_concurrency: int = 16
    lease_seconds: float = 60.0
    redeliver_after_seconds: float = 30.0
    # A run's history budget; a workflow's limits.max_events may lower it, never raise it.
    run_max_events: int = DEFAULT_MAX_EVENTS
    # Parents a run may have (sub-workflows, branches, iterations); items one map runs over.
    max_depth: int = 10
    max_map_items: int = 10_000
    max_family_runs: int = 100_000
    # Signals a run keeps that no await step has taken yet.
    max_pending_signals: int = 100
    # How long a handled event is remembered (one published again with its id is ignored).
    event_retention: timedelta = DEFAULT_EVENT_RETENTION
    # How long a console sign-in lasts (the API key's revocation ends it sooner).
    console_session: timedelta = DEFAULT_SESSION_LIFETIME
    # Where this server is reached from outside: the base of task callback links.
    public_url: str | None = None
    # The job stream's key (its consumer group lives in it); one per deployment on a Redis DB.
    queue_name: str = "wfa:jobs"
    # A job unacked this long (its worker died) is claimed by another worker.
    queue_idle_timeout_seconds: float = 300.0
    # Schedule fires missed (the scheduler was down) run late when they are at most this old.
    schedule_catchup: timedelta = timedelta(hours=1)
    # Webhook callers holding for their run's end at once, per process; past it, 202 at once.
    max_waiters: int = DEFAULT_MAX_WAITERS
    # Requests per webhook path, per client address on /hooks, per API key on /api/v1.
    rate_limit_hook_path: RateLimit = DEFAULT_HOOK_PATH
    rate_limit_hook_address: RateLimit = DEFAULT_HOOK_ADDRESS
    rate_limit_api: RateLimit = DEFAULT_API
    # The largest definition accepted (WFA_MAX_STEPS, WFA_MAX_CHOICES, …).
    definition_limits: DefinitionLimits = DEFAULT_LIMITS
    # Units the expressions of one decision, params rendering or transform may spend.
    expression_budget: int = DEFAULT_EXPRESSION_BUDGET
    # How far a signed webhook's timestamp may be from now; how long GitHub deliveries are kept.
    signature_window: SignatureWindow = SignatureWindow()


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Settings from ``environ`` (default: the process environment) over the ``.env`` file."""
    values = _environment(environ, env_file)
    get = values.get
    max_age = get("WFA_RETENTION_MAX_AGE")
    max_runs = get("WFA_RETENTION_MAX_RUNS")
    return Settings(
        database_url=database_url(get("WFA_DATABASE_URL") or DEFAULT_DATABASE_URL),
        redis_url=_redis_url(get("WFA_REDIS_URL")),
        host=get("WFA_HOST") or "127.0.0.1",
        port=_integer("WFA_PORT", get("WFA_PORT"), 8000, 1, 65535),
        api_key=_api_key(get("WFA_API_KEY")),
        secret_key=_secret_key(get("WFA_SECRET_KEY")),
        log_format=_choice("WFA_LOG_FORMAT", get("WFA_LOG_FORMAT"), ("text", "json")),
        access_log=_switch("WFA_ACCESS_LOG", get("WFA_ACCESS_LOG")),
        http_allow=_http_allow(get("WFA_HTTP_ALLOW")),
        http_max_response_bytes=_integer(
            "WFA_HTTP_MAX_RESPONSE_BYTES",
            get("WFA_HTTP_MAX_RESPONSE_BYTES"),
            DEFAULT_MAX_RESPONSE_BYTES,
            1,
        ),
        max_payload_bytes=_integer(
            "WFA_MAX_PAYLOAD_BYTES", get("WFA_MAX_PAYLOAD_BYTES"), DEFAULT_MAX_PAYLOAD_BYTES, 1024
        ),
        max_json_depth=_integer(
            "WFA_MAX_JSON_DEPTH", get("WFA_MAX_JSON_DEPTH"), DEFAULT_MAX_JSON_DEPTH, 2, 200
        ),
        lease_seconds=_seconds("WFA_LEASE_SECONDS", get("WFA_LEASE_SECONDS"), 60.0),
        redeliver_after_seconds=_seconds(
            "WFA_REDELIVER_AFTER_SECONDS", get("WFA_REDELIVER_AFTER_SECONDS"), 30.0
        ),
        run_max_events=_integer(
            "WFA_RUN_MAX_EVENTS",
            get("WFA_RUN_MAX_EVENTS"),
            DEFAULT_MAX_EVENTS,
            MIN_RUN_EVENTS,
            MAX_RUN_EVENTS,
        ),
        max_depth=_integer("WFA_MAX_DEPTH", get("WFA_MAX_DEPTH"), 10, 1, 100),
        max_map_items=_integer("WFA_MAX_MAP_ITEMS", get("WFA_MAX_MAP_ITEMS"), 10_000, 1, 10**6),
        max_family_runs=_integer(
            "WFA_MAX_FAMILY_RUNS", get("WFA_MAX_FAMILY_RUNS"), 100_000, 1, 10**8
        ),
        max_pending_signals=_integer(
            "WFA_MAX_PENDING_SIGNALS", get("WFA_MAX_PENDING_SIGNALS"), 100, 1, 10_000
        ),
        public_url=_public_url(get("WFA_PUBLIC_URL")),
        console_session=_bounded_duration(
            "WFA_CONSOLE_SESSION",
            get("WFA_CONSOLE_SESSION"),
            DEFAULT_SESSION_LIFETIME,
            60,
            30 * 86400,
        ),
        event_retention=_bounded_duration(
            "WFA_EVENT_RETENTION",
            get("WFA_EVENT_RETENTION"),
            DEFAULT_EVENT_RETENTION,
            60,
            366 * 86400,
        ),
        queue_name=get("WFA_QUEUE_NAME") or "wfa:jobs",
        queue_idle_timeout_seconds=_seconds(
            "WFA_QUEUE_IDLE_TIMEOUT_SECONDS", get("WFA_QUEUE_IDLE_TIMEOUT_SECONDS"), 300.0
        ),
        worker_concurrency=_integer(
            "WFA_WORKER_CONCURRENCY", get("WFA_WORKER_CONCURRENCY"), 16, 1, 1000
        ),
        schedule_catchup=_catchup(get("WFA_SCHEDULE_CATCHUP")),
        max_waiters=_integer(
            "WFA_MAX_WAITERS", get("WFA_MAX_WAITERS"), DEFAULT_MAX_WAITERS, 0, 1_000_000
        ),
        rate_limit_hook_path=_rate("WFA_RATE_LIMIT_HOOKS", get, DEFAULT_HOOK_PATH),
        rate_limit_hook_address=_rate(
            "WFA_RATE_LIMIT_HOOKS_PER_ADDRESS", get, DEFAULT_HOOK_ADDRESS
        ),
        rate_limit_api=_rate("WFA_RATE_LIMIT_API", get, DEFAULT_API),
        definition_limits=_definition_limits(values),
        expression_budget=_integer(
            BUDGET_VARIABLE, get(BUDGET_VARIABLE), DEFAULT_EXPRESSION_BUDGET, 100, 10**9
        ),
        signature_window=SignatureWindow(
            tolerance=_bounded_duration(
                "WFA_WEBHOOK_TOLERANCE", get("WFA_WEBHOOK_TOLERANCE"), DEFAULT_TOLERANCE, 1, 3600
            ),
            github_retention=_bounded_duration(
                "WFA_WEBHOOK_REPLAY_RETENTION",
                get("WFA_WEBHOOK_REPLAY_RETENTION"),
                DEFAULT_GITHUB_RETENTION,
                60,
                30 * 86400,
            ),
        ),
        retention=Retention(
            max_age=None if not max_age else duration("WFA_RETENTION_MAX_AGE", max_age),
            max_runs=None if not max_runs else _integer("WFA_RETENTION_MAX_RUNS", max_runs, 0, 0),
        ),
    )


def engine_settings(settings: Settings) -> EngineSettings:
    """What the run state machine applies, the same in every process role and in ``wfa run``."""
    return EngineSettings(
        lease=settings.lease_seconds,
        redeliver_after=settings.redeliver_after_seconds,
        max_events=settings.run_max_events,
        expression_budget=settings.expression_budget,
        max_depth=settings.max_depth,
        max_map_items=settings.max_map_items,
        max_family_runs=settings.max_family_runs,
        max_pending_signals=settings.max_pending_signals,
    )


def public_url(settings: Settings) -> str:
    """The base of the links this server gives out: WFA_PUBLIC_URL, else its own address."""
    return settings.public_url or f"http://{settings.host}:{settings.port}"


def definition_limits(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> DefinitionLimits:
    """The WFA_MAX_* limits alone, read as ``load_settings`` reads them: for the commands
    that check definitions on this machine and have no business with the server's settings."""
    return _definition_limits(_environment(environ, env_file))


def _environment(environ: Mapping[str, str] | None, env_file: str | Path | None) -> dict[str, str]:
    """``environ`` (default: the process environment) over the ``.env`` file."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values |= {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    values |= dict(os.environ if environ is None else environ)
    return values


def _definition_limits(values: Mapping[str, str]) -> DefinitionLimits:
    """Each limit from its variable (``WFA_MAX_STEPS`` …), between 1 and a million."""
    chosen = {
        field: _integer(variable, values.get(variable), getattr(DEFAULT_LIMITS, field), 1, 10**6)
        for field, variable in LIMIT_VARIABLES.items()
    }
    return DefinitionLimits(**chosen)


def database_url(value: str, variable: str = "WFA_DATABASE_URL") -> str:
    """A SQLAlchemy URL on the async driver of its database (``postgresql://`` is accepted)."""
    try:
        url = make_url(value)
    except ArgumentError:
        raise ConfigError(f"{variable}: not a database URL: {value!r}") from None
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        raise ConfigError(
            f"{variable}: {url.drivername!r} is not supported; use postgresql+psycopg:// "
            "or sqlite+aiosqlite:///"
        )
    return url.set(drivername=driver).render_as_string(hide_password=False)


def _catchup(value: str | None) -> timedelta:
    if value is None or value.strip() == "":
        return timedelta(hours=1)
    window = duration("WFA_SCHEDULE_CATCHUP", value)
    if window < timedelta(seconds=1):
        raise ConfigError("WFA_SCHEDULE_CATCHUP: must be at least 1s, or a fire is always late")
    return window


def _bounded_duration(
    variable: str, value: str | None, default: timedelta, low: int, high: int
) -> timedelta:
    """A duration from ``low`` to ``high`` seconds, ``default`` when unset."""
    if value is None or value.strip() == "":
        return default
    window = duration(variable, value)
    if not low <= window.total_seconds() <= high:
        raise ConfigError(f"{variable}: must be between {low}s and {high}s, got {value!r}")
    return window


def duration(variable: str, value: str) -> timedelta:
    """``30d``, ``12h``, ``15m``, ``90s`` or plain seconds."""
    match = _DURATION.match(value.strip().lower())
    if match is None:
        raise ConfigError(f"{variable}: {value!r} is not a duration like 30d, 12h, 15m or 90")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def _integer(
    variable: str, value: str | None, default: int, low: int, high: int | None = None
) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{variable}: {value!r} is not a whole number") from None
    if number < low or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{variable}: must be {bounds}, got {number}")
    return number


def _rate(variable: str, get: Callable[[str], str | None], default: RateLimit) -> RateLimit:
    value = get(variable)
    if value is None or not value.strip():
        return default
    try:
        return parse_rate_limit(value)
    except InvalidRateLimit as error:
        raise ConfigError(f"{variable}: {error}") from None


def _seconds(variable: str, value: str | None, default: float) -> float:
    if not value:
        return default
    seconds = duration(variable, value).total_seconds()
    if not 0.1 <= seconds <= 86400:
        raise ConfigError(f"{variable}: must be between 0.1 seconds and a day, got {value!r}")
    return seconds


def _choice(variable: str, value: str | None, choices: tuple[str, ...]) -> str | None:
    if not value:
        return None
    if value not in choices:
        raise ConfigError(f"{variable}: {value!r} is not one of {', '.join(choices)}")
    return value


_ON, _OFF = ("1", "true"), ("0", "false")


def _switch(variable: str, value: str | None) -> bool:
    if not value:
        return False
    if value.strip().lower() not in _ON + _OFF:
        raise ConfigError(f"{variable}: {value!r} is not one of 1, true, 0, false")
    return value.strip().lower() in _ON


MIN_API_KEY_LENGTH = 32


def _api_key(value: str | None) -> str | None:
    # Keys are kept as a fast hash, which is only safe for keys nobody can guess.
    if value and len(value) < MIN_API_KEY_LENGTH:
        raise ConfigError(
            f"WFA_API_KEY: must be at least {MIN_API_KEY_LENGTH} characters "
            "(a random token, e.g. from 'openssl rand -base64 32')"
        )
    return value or None


def _secret_key(value: str | None) -> str | None:
    # Checked here, so a bad key stops start-up instead of the first secret's use.
    if not value or not value.strip():
        return None
    try:
        parse_keys(value)
    except InvalidSecretKey as error:
        raise ConfigError(f"WFA_SECRET_KEY: {error}") from None
    return value.strip()


def _public_url(value: str | None) -> str | None:
    if not value:
        return None
    if not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", value):
        raise ConfigError(
            f"WFA_PUBLIC_URL: {value!r} is not an http:// or https:// URL without a query"
        )
    return value.rstrip("/")


def _redis_url(value: str | None) -> str | None:
    if not value:
        return None
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"WFA_REDIS_URL: {value!r} is not a redis:// or rediss:// URL")
    return value


def _http_allow(value: str | None) -> tuple[str, ...]:
    entries = tuple(part.strip() for part in (value or "").split(",") if part.strip())
    for entry in entries:
        if "/" in entry:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(f"WFA_HTTP_ALLOW: {entry!r} is not a valid CIDR range") from None
    return entries
