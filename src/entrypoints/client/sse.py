"""Server-Sent Events read line by line (the subset the run stream sends)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec

from wfa.entrypoints.client.types import StreamedEvent


def parse_events(
    lines: Iterable[str], on_retry: Callable[[float], None] | None = None
) -> Iterator[StreamedEvent]:
    """Each complete event of the stream; comments (keep-alives) are skipped, and a ``retry``
    field (milliseconds) is handed to ``on_retry`` in seconds. An event whose data is not
    JSON raises ``msgspec.DecodeError``."""
    kind, seq = "", ""
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield _event(kind, seq, "\n".join(data))
            kind, seq, data = "", "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            kind = value
        elif field == "id":
            seq = value
        elif field == "data":
            data.append(value)
        elif field == "retry" and value.isdigit() and on_retry is not None:
            on_retry(int(value) / 1000)
    if data:  # a last event the server did not close with a blank line
        yield _event(kind, seq, "\n".join(data))


def _event(kind: str, seq: str, text: str) -> StreamedEvent:
    body = msgspec.json.decode(text)
    if not isinstance(body, dict):
        raise msgspec.DecodeError("an event's data is not a JSON object")
    fields: dict[str, Any] = body
    kind = kind or str(fields.get("type", "message"))
    number = int(seq) if seq.isdigit() else int(fields.get("seq", 0))
    return StreamedEvent(type=kind, seq=number, data=fields)
