"""``POST /api/v1/events``: publish an event; it is stored before the answer, handled after."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import JSONBody

from wfa.application.use_cases.events import MAX_EVENT_ID, HandleEvents, PublishEvent
from wfa.domain.api_keys import Scope
from wfa.domain.step_checks import SIGNAL_NAME
from wfa.entrypoints.http.auth import needs
from wfa.entrypoints.http.problems import responses

log = logging.getLogger(__name__)


class EventIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An event: ``name`` (letters, digits and _ . : -), its JSON ``payload``, and an ``id``
    that makes publishing it again harmless (default: a new one)."""

    name: Annotated[str, msgspec.Meta(pattern=SIGNAL_NAME.pattern, max_length=128)]
    payload: Any = None
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_EVENT_ID)] | None = None


class EventOut(msgspec.Struct, frozen=True, kw_only=True):
    """The event stored: ``duplicate`` when one with its id was stored before."""

    id: str
    duplicate: bool = False


class EventController(Controller):
    path = "/api/v1/events"
    tags = ["events"]

    @post("/", opt=needs(Scope.OPERATOR), status_code=202, responses=responses(400, 401, 413))
    async def publish(
        self,
        data: JSONBody[EventIn],
        publish_event: NamedDependency[PublishEvent],
        handle_events: NamedDependency[HandleEvents],
    ) -> Response[EventOut]:
        """Publish an event: runs of workflows with a matching event trigger start, and runs
        awaiting it whose match holds go on. Stored before the answer (never lost), handled
        at once here or by any scheduler; one with an ``id`` seen before is not handled again."""
        accepted = await publish_event.execute(data.name, data.payload, data.id)
        handle = None if accepted.duplicate else BackgroundTask(_handle, handle_events)
        body = EventOut(id=accepted.id, duplicate=accepted.duplicate)
        return Response(body, status_code=202, background=handle)


async def _handle(handle_events: HandleEvents) -> None:
    # Best effort: an event not handled here is handled by a scheduler's next tick.
    try:
        await handle_events.execute()
    except Exception:
        log.exception("handling a published event failed")
