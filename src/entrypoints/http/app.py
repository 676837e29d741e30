"""Build the Litestar app from the container: routes, auth, errors, OpenAPI."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from litestar import Litestar, Router
from litestar.config.app import ExperimentalFeatures
from litestar.datastructures import MutableScopeHeaders
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.routes import HTTPRoute
from litestar.types import BeforeMessageSendHookHandler, LifespanHook, Message, Scope

from wfa import __version__
from wfa.entrypoints.container import Container
from wfa.entrypoints.http.api_docs import DOCS_PATH, docs_assets, docs_page
from wfa.entrypoints.http.approval_page import approval_page, approve, reject
from wfa.entrypoints.http.auth import (
    SECURITY,
    SECURITY_COMPONENTS,
    Callers,
    caller_middleware,
    scope_guard,
)
from wfa.entrypoints.http.bounded_input import bounded_request_class, refuse_nul_in_target
from wfa.entrypoints.http.callbacks import fail_callback, use_callback
from wfa.entrypoints.http.console import console_router, template_config
from wfa.entrypoints.http.events import EventController
from wfa.entrypoints.http.health import health, ready
from wfa.entrypoints.http.hooks import post_hook
from wfa.entrypoints.http.keys import ApiKeyController
from wfa.entrypoints.http.observe import metrics, metrics_middleware
from wfa.entrypoints.http.openapi import finish_document
from wfa.entrypoints.http.problems import EXCEPTION_HANDLERS
from wfa.entrypoints.http.rate_limits import (
    STORE_NAME,
    api_caller,
    client_address,
    limit_middleware,
    rate_limit_store,
    webhook_path,
)
from wfa.entrypoints.http.runs import RunController
from wfa.entrypoints.http.secrets import SecretController
from wfa.entrypoints.http.strict_requests import StrictRequests
from wfa.entrypoints.http.workflows import WorkflowController

# Every use case the handlers name, provided from the container by the same name.
_PROVIDED = (
    "register_workflow",
    "update_workflow",
    "get_workflow",
    "list_workflows",
    "delete_workflow",
    "list_schedules",
    "start_run",
    "cancel_run",
    "retry_run",
    "get_run",
    "list_runs",
    "run_history",
    "list_children",
    "follow_run",
    "server_stopping",
    "await_run_end",
    "receive_webhook",
    "deliver_signal",
    "publish_event",
    "handle_events",
    "use_callback",
    "readiness",
    "metrics_registry",
    "create_api_key",
    "list_api_keys",
    "revoke_api_key",
    "set_secret",
    "list_secrets",
    "delete_secret",
    "console_sessions",
    "authenticate_api_key",
)


def _provide(container: Container, name: str) -> Provide:
    provider: Callable[[], Any] = getattr(container, name)
    return Provide(lambda: provider(), sync_to_thread=False)


def create_app(
    container: Container,
    *,
    on_startup: Sequence[LifespanHook] = (),
    on_shutdown: Sequence[LifespanHook] = (),
) -> Litestar:
    settings = container.settings()
    authenticate = container.authenticate_api_key()
    # One lookup per request, shared by the API's rate limit (per key id) and the scope guard.
    callers = Callers(authenticate.execute)
    api_limit = limit_middleware(settings.rate_limit_api, api_caller, "for this API key")
    api = Router(
        path="/",
        route_handlers=[
            WorkflowController,
            RunController,
            EventController,
            ApiKeyController,
            SecretController,
        ],
        guards=[scope_guard(callers)],
        middleware=[caller_middleware(callers), *([api_limit] if api_limit else [])],
        security=SECURITY,
    )
    hook_limits = [
        limit_middleware(
            settings.rate_limit_hook_address, client_address("hook"), "from this address"
        ),
        limit_middleware(settings.rate_limit_hook_path, webhook_path, "for this webhook path"),
    ]
    hooks = Router(path="/", route_handlers=[post_hook], middleware=[m for m in hook_limits if m])
    callback_limit = limit_middleware(
        settings.rate_limit_hook_address, client_address("callback"), "from this address"
    )
    callbacks = Router(
        path="/",
        route_handlers=[use_callback, fail_callback, approval_page, approve, reject],
        middleware=[callback_limit] if callback_limit else [],
    )
    redis = container.redis_client() if settings.redis_url else None
    allowed: dict[str, str] = {}
    strict = StrictRequests()
    app = Litestar(
        route_handlers=[
            api,
            hooks,
            callbacks,
            console_router(),
            health,
            ready,
            metrics,
            docs_assets(),
        ],
        template_config=template_config(),
        middleware=[metrics_middleware(container.http_metrics()), refuse_nul_in_target],
        request_class=bounded_request_class(settings.max_json_depth),
        guards=[strict.guard],
        dependencies={name: _provide(container, name) for name in _PROVIDED},
        exception_handlers=EXCEPTION_HANDLERS,
        stores={STORE_NAME: rate_limit_store(redis)},
        request_max_body_size=settings.max_payload_bytes + 64 * 1024,
        openapi_config=OpenAPIConfig(
            title="wfa",
            version=__version__,
            description="Durable workflow automation: definitions as data, runs never lost.",
            path=DOCS_PATH,
            components=[SECURITY_COMPONENTS],
            render_plugins=[docs_page()],
            # Each handler's docstring is its operation's description: one text, two readers.
            use_handler_docstrings=True,
        ),
        on_startup=list(on_startup),
        on_shutdown=list(on_shutdown),
        before_send=[_allow_header(allowed)],
        experimental_features=list[ExperimentalFeatures](),
        debug=False,
        logging_config=None,  # the process configures logging once (configure_logging)
    )
    # Every route is registered by now: what each path allows, and the finished document.
    allowed.update(
        {
            route.path_format: ", ".join(sorted(route.methods))
            for route in app.routes
            if isinstance(route, HTTPRoute)
        }
    )
    strict.learn(app)
    finish_document(app.openapi_schema, app.routes)
    return app


def _allow_header(allowed: dict[str, str]) -> BeforeMessageSendHookHandler:
    """Answer OPTIONS with every method of the path, not only the first one registered.

    Litestar 2's automatic OPTIONS handler keeps the methods of the path as they were when
    its first handler was registered (litestar-org/litestar#4169, fixed in v3 only), so
    ``OPTIONS /api/v1/workflows`` said ``Allow: OPTIONS, POST`` although GET works too.
    """

    async def correct_allow(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
            return
        methods = allowed.get(scope.get("path_template", ""))
        if methods is not None and message["status"] < 300:
            MutableScopeHeaders.from_message(message)["allow"] = methods

    return correct_allow
