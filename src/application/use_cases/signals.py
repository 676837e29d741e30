"""Deliver a signal to a run: taken at once by the await step waiting for it, else kept.

A signal with an idempotency key is received once per run: the key is looked up in the same
transaction that would record it, and two deliveries of one key racing each other meet on
the run's ``seq`` (the loser decides again and finds the key), with a unique index on the
stored key behind that.
"""

from __future__ import annotations

import msgspec

from wfa.application.errors import InvalidRequest
from wfa.application.payloads import (
    DEFAULT_MAX_JSON_DEPTH,
    DEFAULT_MAX_PAYLOAD_BYTES,
    as_bounded_json,
    check_storable,
)
from wfa.application.ports.repositories import UnitOfWork
from wfa.application.run_transitions import RunTransitions
from wfa.domain.awaiting import EVENT_KEY_PREFIX, INBOX_FULL
from wfa.domain.commands import SendSignal
from wfa.domain.errors import Refusal
from wfa.domain.events import SignalConsumed, SignalReceived
from wfa.domain.run import Run
from wfa.domain.step_checks import SIGNAL_NAME, SIGNAL_NAME_RULE

MAX_KEY_LENGTH = 255
_encoder = msgspec.json.Encoder()


class SignalDelivered(msgspec.Struct, frozen=True, kw_only=True):
    """Where a signal went: ``seq`` of its ``signal.received`` event, and the await step that
    took it at once (None: it waits in the run's inbox). ``duplicate``: its key was seen."""

    run_id: str
    signal: str
    seq: int
    taken_by: str | None = None
    duplicate: bool = False


class DeliverSignal:
    def __init__(
        self,
        transitions: RunTransitions,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        max_depth: int = DEFAULT_MAX_JSON_DEPTH,
    ) -> None:
        self._transitions = transitions
        self._max_bytes, self._max_depth = max_payload_bytes, max_depth

    async def execute(
        self, run_id: str, name: str, payload: object = None, key: str | None = None
    ) -> SignalDelivered:
        check_name(name, "signal")
        if key is not None:
            _check_key(key)
        payload = as_bounded_json(payload, "the signal's payload", self._max_bytes, self._max_depth)
        seen: list[SignalReceived] = []
        size = len(_encoder.encode(payload))

        async def unseen(uow: UnitOfWork, run: Run) -> bool:
            if key is not None:
                earlier = await uow.runs.signal_by_key(run.id, key)
                seen[:] = [earlier] if earlier is not None else []
                if earlier is not None:
                    return False
            self._check_room(run, size)
            return True

        command = SendSignal(name=name, payload=payload, key=key)
        moved = await self._transitions.apply(run_id, command, guard=unseen)
        if seen:
            return SignalDelivered(run_id=run_id, signal=name, seq=seen[0].seq, duplicate=True)
        events = moved.decision.events
        received = next(event for event in events if isinstance(event, SignalReceived))
        taken = next(
            (
                event.step_id
                for event in events
                if isinstance(event, SignalConsumed) and event.signal_seq == received.seq
            ),
            None,
        )
        return SignalDelivered(run_id=run_id, signal=name, seq=received.seq, taken_by=taken)

    def _check_room(self, run: Run, size: int) -> None:
        """The signals a run keeps live in its state, read and written with each move: all
        of them together may hold one payload's worth (WFA_MAX_PAYLOAD_BYTES)."""
        kept = sum(len(_encoder.encode(signal.payload)) for signal in run.inbox)
        if kept and kept + size > self._max_bytes:
            raise Refusal(
                INBOX_FULL,
                f"the run's untaken signals hold {kept:,} bytes; with this one they would "
                f"pass {self._max_bytes:,} (WFA_MAX_PAYLOAD_BYTES)",
            )


def check_name(name: str, what: str) -> None:
    """A signal's or an event's name, as await steps and triggers name them."""
    if not SIGNAL_NAME.fullmatch(name):
        raise InvalidRequest(f"{name[:130]!r} is not a valid {what} name ({SIGNAL_NAME_RULE})")


def check_key(key: str, what: str, most: int = MAX_KEY_LENGTH) -> None:
    """A caller's key (a signal's idempotency key, an event's id): 1 to ``most`` characters
    that any store keeps."""
    if not 0 < len(key) <= most:
        raise InvalidRequest(f"{what} is 1 to {most} characters long")
    check_storable(key, what)


def _check_key(key: str) -> None:
    if key.startswith(EVENT_KEY_PREFIX):  # the keys of the events a run takes
        raise InvalidRequest(f"an idempotency key may not begin with {EVENT_KEY_PREFIX!r}")
    check_key(key, "an idempotency key")
