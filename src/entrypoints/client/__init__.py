"""A typed client of the wfa HTTP API (``from wfa.client import Client``).

It needs nothing of the server: httpx, msgspec and the standard library.
"""

from wfa.entrypoints.client.api import DEFAULT_URL, Client
from wfa.entrypoints.client.errors import (
    ApiError,
    ClientError,
    InvalidServerUrl,
    ProblemItem,
    ServerUnreachable,
    UnexpectedAnswer,
)
from wfa.entrypoints.client.follow import GIVE_UP_AFTER
from wfa.entrypoints.client.types import (
    RUN_STATUSES,
    TERMINAL_STATUSES,
    Attempt,
    EventPage,
    Run,
    RunAccepted,
    RunDetail,
    RunError,
    RunPage,
    SignalDelivered,
    Step,
    StreamedEvent,
    Workflow,
    WorkflowPage,
)

__all__ = [
    "DEFAULT_URL",
    "GIVE_UP_AFTER",
    "RUN_STATUSES",
    "TERMINAL_STATUSES",
    "ApiError",
    "Attempt",
    "Client",
    "ClientError",
    "EventPage",
    "InvalidServerUrl",
    "ProblemItem",
    "Run",
    "RunAccepted",
    "RunDetail",
    "RunError",
    "RunPage",
    "ServerUnreachable",
    "SignalDelivered",
    "Step",
    "StreamedEvent",
    "UnexpectedAnswer",
    "Workflow",
    "WorkflowPage",
]
