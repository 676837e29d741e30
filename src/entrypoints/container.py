"""The composition root: one dependency-injector container picks every adapter from settings.

Tests override providers with fakes (``container.unit_of_work.override(...)``); the HTTP app,
the worker and the scheduler all take what they need from here and nothing else.
"""

from __future__ import annotations

import asyncio

from dependency_injector import containers, providers
from redis.asyncio import Redis

from wfa.adapters.actions.builtin import default_registry
from wfa.adapters.actions.http import HttpRequest, HttpSettings
from wfa.adapters.actions.http.notice_poster import HttpNoticePoster
from wfa.adapters.clock import SystemClock, SystemEntropy
from wfa.adapters.events.memory import InMemoryEventPublisher
from wfa.adapters.events.redis import RedisEventBus
from wfa.adapters.observability.metrics import (
    FanOutPublisher,
    HttpMetrics,
    MetricsPublisher,
    process_registry,
)
from wfa.adapters.observability.run_log import RunLogPublisher
from wfa.adapters.persistence.sqlalchemy.database import Database
from wfa.adapters.queue.memory import InMemoryJobQueue
from wfa.adapters.queue.taskiq_redis import TaskiqJobQueue, make_broker
from wfa.application.console_sessions import ConsoleSessions
from wfa.application.grouped_transitions import GroupedTransitions
from wfa.application.run_transitions import RunTransitions
from wfa.application.use_cases.api_keys import (
    AuthenticateApiKey,
    CreateApiKey,
    EnsureBootstrapKey,
    ListApiKeys,
    RevokeApiKey,
)
from wfa.application.use_cases.callbacks import CallbackLinks, UseCallback
from wfa.application.use_cases.control_run import CancelRun, RetryRun
from wfa.application.use_cases.events import HandleEvents, PublishEvent
from wfa.application.use_cases.execute_step import HELD_BACKOFF, ExecuteStep
from wfa.application.use_cases.fire_due_timers import FireDueTimers
from wfa.application.use_cases.fire_schedules import FireSchedules
from wfa.application.use_cases.follow_run import AwaitRunEnd, FollowRun, WaiterLimit
from wfa.application.use_cases.notices import SendNotices
from wfa.application.use_cases.prune_runs import PruneRuns
from wfa.application.use_cases.queries import GetRun, GetRunHistory, ListChildren, ListRuns
from wfa.application.use_cases.secrets import (
    DeleteSecret,
    ListSecrets,
    ResolveSecrets,
    RotateSecrets,
    SetSecret,
)
from wfa.application.use_cases.signals import DeliverSignal
from wfa.application.use_cases.start_run import StartRun
from wfa.application.use_cases.webhooks import ReceiveWebhook
from wfa.application.use_cases.workflows import (
    DeleteWorkflow,
    GetWorkflow,
    ListSchedules,
    ListWorkflows,
    RegisterWorkflow,
    UpdateWorkflow,
)
from wfa.entrypoints.config import Settings, public_url
from wfa.entrypoints.config import engine_settings as engine_settings_of
from wfa.entrypoints.readiness import Readiness
from wfa.entrypoints.secret_keys import (
    CONSOLE_NO_KEY,
    console_keys,
    make_callback_tokens,
    make_cipher,
)


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    entropy = providers.Singleton(SystemEntropy)
    engine_settings = providers.Singleton(engine_settings_of, settings)
    # One http.request per process: its pooled client is shared by every step it runs.
    http_request = providers.Singleton(
        lambda s: HttpRequest(
            HttpSettings(allow=s.http_allow, max_response_bytes=s.http_max_response_bytes)
        ),
        settings,
    )
    actions = providers.Singleton(
        default_registry, http=http_request, expression_budget=settings.provided.expression_budget
    )

    # A worker's steps each hold one connection at a time; a few more serve the scheduler and
    # the API in the same process.
    database = providers.Singleton(
        Database,
        url=settings.provided.database_url,
        pool_size=providers.Callable(lambda s: max(10, s.worker_concurrency + 4), settings),
    )
    unit_of_work = providers.Callable(lambda database: database.unit_of_work, database)

    # Without WFA_REDIS_URL everything is in-process; with it, jobs go through Redis Streams
    # and events through Redis pub/sub, so any number of processes can share the work.
    transport = providers.Callable(lambda s: "redis" if s.redis_url else "memory", settings)
    redis_client = providers.Singleton(
        lambda url: Redis.from_url(url, socket_connect_timeout=5.0), settings.provided.redis_url
    )
    broker = providers.Singleton(
        make_broker,
        settings.provided.redis_url,
        queue_name=settings.provided.queue_name,
        idle_timeout_ms=providers.Callable(
            lambda s: round(s.queue_idle_timeout_seconds * 1000), settings
        ),
    )
    queue = providers.Selector(
        transport,
        memory=providers.Singleton(InMemoryJobQueue),
        redis=providers.Singleton(TaskiqJobQueue, broker),
    )
    events = providers.Selector(
        transport,
        memory=providers.Singleton(InMemoryEventPublisher),
        redis=providers.Singleton(RedisEventBus, redis_client),
    )
    feed = events
    # Set once when the process begins to stop: open SSE streams end on it.
    server_stopping = providers.Singleton(asyncio.Event)
    # One per process: it caps the webhook callers holding for their run's end at once.
    waiter_limit = providers.Singleton(WaiterLimit, settings.provided.max_waiters)
    # One registry per process: the engine's metrics and the HTTP metrics share it.
    metrics_registry = providers.Singleton(process_registry, waiter_limit)
    metrics = providers.Singleton(MetricsPublisher, metrics_registry)
    http_metrics = providers.Singleton(HttpMetrics, metrics_registry)
    run_log = providers.Singleton(RunLogPublisher)
    publisher = providers.Singleton(FanOutPublisher, events, metrics, run_log)

    transitions = providers.Singleton(
        RunTransitions,
        uow=unit_of_work,
        queue=queue,
        publisher=publisher,
        clock=clock,
        settings=engine_settings,
        max_output_bytes=settings.provided.max_payload_bytes,
    )
    # A worker's claims and outcomes, committed together when they come at once.
    grouped_transitions = providers.Singleton(GroupedTransitions, transitions, unit_of_work)

    # Built when first asked for: on SQLite without WFA_SECRET_KEY that makes the key file.
    secret_cipher = providers.Singleton(make_cipher, settings)
    limits = settings.provided.definition_limits
    max_depth = settings.provided.max_json_depth
    register_workflow = providers.Singleton(
        RegisterWorkflow,
        unit_of_work,
        actions,
        clock,
        entropy,
        limits=limits,
        max_depth=max_depth,
        cipher=secret_cipher,
    )
    update_workflow = providers.Singleton(
        UpdateWorkflow,
        unit_of_work,
        actions,
        clock,
        limits=limits,
        max_depth=max_depth,
        cipher=secret_cipher,
    )
    get_workflow = providers.Singleton(GetWorkflow, unit_of_work)
    list_workflows = providers.Singleton(ListWorkflows, unit_of_work)
    delete_workflow = providers.Singleton(DeleteWorkflow, unit_of_work)
    list_schedules = providers.Singleton(ListSchedules, unit_of_work)

    start_run = providers.Singleton(
        StartRun,
        unit_of_work,
        transitions,
        clock,
        entropy,
        max_input_bytes=settings.provided.max_payload_bytes,
        max_depth=settings.provided.max_json_depth,
    )
    resolve_secrets = providers.Singleton(ResolveSecrets, unit_of_work, secret_cipher)
    callback_tokens = providers.Singleton(make_callback_tokens, settings)
    callback_links = providers.Singleton(
        CallbackLinks, callback_tokens, providers.Callable(public_url, settings)
    )
    use_callback = providers.Singleton(
        UseCallback,
        transitions,
        callback_tokens,
        clock,
        entropy,
        max_payload_bytes=settings.provided.max_payload_bytes,
        max_depth=settings.provided.max_json_depth,
        uow=unit_of_work,
    )
    deliver_signal = providers.Singleton(
        DeliverSignal,
        transitions,
        max_payload_bytes=settings.provided.max_payload_bytes,
        max_depth=settings.provided.max_json_depth,
    )
    execute_step = providers.Singleton(
        ExecuteStep,
        transitions,
        actions,
        entropy,
        max_output_bytes=settings.provided.max_payload_bytes,
        max_output_depth=settings.provided.max_json_depth,
        secrets=resolve_secrets,
        expression_budget=settings.provided.expression_budget,
        callbacks=callback_links,
        max_held_backoff=HELD_BACKOFF,
        moves=grouped_transitions,
    )
    fire_due_timers = providers.Singleton(FireDueTimers, unit_of_work, transitions, clock, entropy)
    fire_schedules = providers.Singleton(
        FireSchedules, unit_of_work, start_run, clock, settings.provided.schedule_catchup
    )
    prune_runs = providers.Singleton(PruneRuns, unit_of_work, clock)
    publish_event = providers.Singleton(
        PublishEvent,
        unit_of_work,
        clock,
        entropy,
        max_payload_bytes=settings.provided.max_payload_bytes,
        max_depth=settings.provided.max_json_depth,
    )
    send_notices = providers.Singleton(
        SendNotices,
        unit_of_work,
        providers.Singleton(HttpNoticePoster, http_request),
        resolve_secrets,
        clock,
    )
    handle_events = providers.Singleton(
        HandleEvents,
        unit_of_work,
        transitions,
        start_run,
        clock,
        retention=settings.provided.event_retention,
        expression_budget=settings.provided.expression_budget,
    )
    cancel_run = providers.Singleton(CancelRun, transitions)
    retry_run = providers.Singleton(RetryRun, transitions)
    get_run = providers.Singleton(GetRun, unit_of_work)
    list_runs = providers.Singleton(ListRuns, unit_of_work)
    run_history = providers.Singleton(GetRunHistory, unit_of_work)
    list_children = providers.Singleton(ListChildren, unit_of_work)
    follow_run = providers.Singleton(FollowRun, unit_of_work, feed)
    await_run_end = providers.Singleton(AwaitRunEnd, unit_of_work, feed, waiters=waiter_limit)
    receive_webhook = providers.Singleton(
        ReceiveWebhook,
        unit_of_work,
        start_run,
        secret_cipher,
        clock,
        settings.provided.signature_window,
    )

    create_api_key = providers.Singleton(CreateApiKey, unit_of_work, clock, entropy)
    revoke_api_key = providers.Singleton(RevokeApiKey, unit_of_work, clock)
    list_api_keys = providers.Singleton(ListApiKeys, unit_of_work)
    authenticate_api_key = providers.Singleton(AuthenticateApiKey, unit_of_work)
    ensure_bootstrap_key = providers.Singleton(EnsureBootstrapKey, unit_of_work, clock, entropy)
    console_sessions = providers.Singleton(
        ConsoleSessions,
        unit_of_work,
        clock,
        providers.Callable(console_keys, settings),
        settings.provided.console_session,
        CONSOLE_NO_KEY,
    )

    set_secret = providers.Singleton(SetSecret, unit_of_work, secret_cipher, clock)
    list_secrets = providers.Singleton(ListSecrets, unit_of_work)
    delete_secret = providers.Singleton(DeleteSecret, unit_of_work)
    rotate_secrets = providers.Singleton(RotateSecrets, unit_of_work, secret_cipher)

    readiness = providers.Singleton(
        Readiness,
        providers.Callable(
            lambda db, transport, bus: (
                {"database": db.ping} | ({"redis": bus.ping} if transport == "redis" else {})
            ),
            database,
            transport,
            events,
        ),
    )
