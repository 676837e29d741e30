"""Every WFA_* setting with its default and the roles that read it: the one list each role's
``--help`` is written from (a test holds it to the variables config.py reads); and the few
the client commands read (``CLIENT_SETTINGS``).

The settings are environment variables (or a ``.env`` file), never command-line options:
several processes of each role read the same environment.
"""

from __future__ import annotations

from typing import NamedTuple

API, WORKER, SCHEDULER = "api", "worker", "scheduler"
EVERY_ROLE = frozenset({API, WORKER, SCHEDULER})
ROLE_PARTS = {
    "serve": EVERY_ROLE,
    "api": frozenset({API}),
    "worker": frozenset({WORKER}),
    "scheduler": frozenset({SCHEDULER}),
}


class Setting(NamedTuple):
    name: str
    default: str
    meaning: str
    roles: frozenset[str] = EVERY_ROLE


_API, _WORKER, _SCHEDULER = ROLE_PARTS["api"], ROLE_PARTS["worker"], ROLE_PARTS["scheduler"]
_API_WORKER = frozenset({API, WORKER})
_API_SCHEDULER = frozenset({API, SCHEDULER})

SETTINGS: tuple[Setting, ...] = (
    Setting("WFA_DATABASE_URL", "sqlite+aiosqlite:///./wfa.db", "the database"),
    Setting("WFA_REDIS_URL", "unset: in-process", "Redis for the job queue and events"),
    Setting("WFA_HOST", "127.0.0.1", "HTTP bind address", _API),
    Setting("WFA_PORT", "8000", "HTTP bind port", _API),
    Setting("WFA_API_KEY", "unset: made once", "bootstrap admin API key", _API),
    Setting("WFA_SECRET_KEY", "unset: beside SQLite", "key(s) that encrypt secrets", _API_WORKER),
    Setting("WFA_LOG_FORMAT", "text on a terminal", "text or json"),
    Setting("WFA_ACCESS_LOG", "off", "one wfa.http line per request (1/true)", _API),
    Setting("WFA_HTTP_ALLOW", "empty", "internal hosts http.request may reach", _WORKER),
    Setting("WFA_HTTP_MAX_RESPONSE_BYTES", "10485760", "largest http.request body", _WORKER),
    Setting("WFA_MAX_PAYLOAD_BYTES", "1048576", "largest run input or step output", _API_WORKER),
    Setting("WFA_MAX_JSON_DEPTH", "64", "deepest JSON nesting accepted", _API_WORKER),
    Setting("WFA_LEASE_SECONDS", "60", "a running attempt's lease"),
    Setting("WFA_REDELIVER_AFTER_SECONDS", "30", "resend an unstarted job after"),
    Setting("WFA_RUN_MAX_EVENTS", "10000", "a run's history budget"),
    Setting("WFA_MAX_DEPTH", "10", "parents a run may have (sub-workflows, branches…)"),
    Setting("WFA_MAX_MAP_ITEMS", "10000", "items one map step runs over"),
    Setting("WFA_MAX_FAMILY_RUNS", "100000", "runs one run may have under it"),
    Setting("WFA_MAX_PENDING_SIGNALS", "100", "signals a run keeps untaken"),
    Setting("WFA_PUBLIC_URL", "http://HOST:PORT", "base of task callback links", _WORKER),
    Setting("WFA_CONSOLE_SESSION", "12h", "how long a console sign-in lasts", _API),
    Setting("WFA_EVENT_RETENTION", "7d", "how long a handled event's id is known", _API_SCHEDULER),
    Setting("WFA_QUEUE_NAME", "wfa:jobs", "the Redis stream of jobs"),
    Setting("WFA_QUEUE_IDLE_TIMEOUT_SECONDS", "300", "take over an unacked job after", _WORKER),
    Setting("WFA_WORKER_CONCURRENCY", "16", "steps one worker runs at a time", _WORKER),
    Setting("WFA_SCHEDULE_CATCHUP", "1h", "missed schedule fires still run within", _SCHEDULER),
    Setting("WFA_RETENTION_MAX_AGE", "unset: keep", "prune runs finished before", _SCHEDULER),
    Setting("WFA_RETENTION_MAX_RUNS", "unset: keep", "keep this many finished runs", _SCHEDULER),
    Setting("WFA_MAX_WAITERS", "1000", "?wait holders per process", _API),
    Setting("WFA_WEBHOOK_TOLERANCE", "5m", "signed webhook clock skew", _API),
    Setting("WFA_WEBHOOK_REPLAY_RETENTION", "24h", "github deliveries remembered", _API),
    Setting("WFA_RATE_LIMIT_HOOKS", "2000/second", "requests per webhook path", _API),
    Setting("WFA_RATE_LIMIT_HOOKS_PER_ADDRESS", "4000/second", "per address on /hooks", _API),
    Setting("WFA_RATE_LIMIT_API", "1000/second", "requests per API key", _API),
    Setting("WFA_MAX_STEPS", "1000", "steps in one definition", _API),
    Setting("WFA_MAX_CHOICES", "100", "choices of a choice step", _API),
    Setting("WFA_MAX_CATCHES", "50", "catch entries of a task", _API),
    Setting("WFA_MAX_TRIGGERS", "50", "triggers of a definition", _API),
    Setting("WFA_MAX_ERROR_NAMES", "50", "names in one retry_on or catch", _API),
    Setting("WFA_MAX_EXPRESSION_LENGTH", "2000", "characters of one expression", _API),
    Setting("WFA_MAX_BRANCHES", "100", "branches of a parallel step", _API),
    Setting("WFA_MAX_MAP_CONCURRENCY", "1000", "the highest max_concurrency of a map", _API),
    Setting("WFA_MAX_NOTIFY", "10", "notify targets of one definition", _API),
    Setting("WFA_EXPRESSION_BUDGET", "100000", "cost units of one evaluation"),
)

# What the commands that talk to a server (wfa apply, wfa runs, wfa workflows) and
# wfa.client.Client read: the client side, not any role's.
CLIENT_SETTINGS: tuple[Setting, ...] = (
    Setting("WFA_URL", "http://127.0.0.1:8000", "the server the client commands talk to"),
    Setting("WFA_API_KEY", "unset", "the key they send (Authorization: Bearer)"),
)


def client_settings_help() -> str:
    """The settings the client commands read, one a line, for their ``--help``."""
    width = max(len(setting.name) for setting in CLIENT_SETTINGS)
    lines = [
        f"  {setting.name:<{width}}  {setting.meaning} (default: {setting.default})"
        for setting in CLIENT_SETTINGS
    ]
    return "\n".join(["settings (environment variables):", *lines])


def settings_help(role: str) -> str:
    """The settings ``wfa <role>`` reads, one a line, for its ``--help``."""
    parts = ROLE_PARTS[role]
    read = [setting for setting in SETTINGS if setting.roles & parts]
    width = max(len(setting.name) for setting in read)
    lines = [
        f"  {setting.name:<{width}}  {setting.meaning} (default: {setting.default})"
        for setting in read
    ]
    example = f"WFA_PORT=9000 wfa {role}" if parts & {API} else f"WFA_LOG_FORMAT=json wfa {role}"
    heading = "settings (environment variables or a .env file; no command-line options):"
    return "\n".join([heading, *lines, "", f"example: {example}"])


def options_are_settings(role: str, options: list[str]) -> str:
    """The answer to ``wfa serve --port 9000``: the settings are environment variables."""
    known = {setting.name for setting in SETTINGS}
    assignments: list[str] = []
    rest = list(options)
    while rest:
        option = rest.pop(0)
        name, _, value = option.lstrip("-").partition("=")
        variable = "WFA_" + name.upper().replace("-", "_")
        if not option.startswith("--") or variable not in known:
            continue
        if not value and rest and not rest[0].startswith("-"):
            value = rest.pop(0)
        assignments.append(f"{variable}={value or '…'}")
    example = " ".join(assignments) or ("WFA_PORT=9000" if ROLE_PARTS[role] & {API} else "WFA_…=…")
    return (
        f"'wfa {role}' takes no options ({' '.join(options)}); its settings are environment "
        f"variables: {example} wfa {role}  (see 'wfa {role} --help')"
    )
