"""Server-Sent Events read line by line (the subset the run stream sends)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from wfa.entrypoints.client.types import StreamedEvent


def parse_events(lines: Iterable[str]) -> Iterator[StreamedEvent]:
    """Each complete event of the stream; comments (keep-alives) and retry hints are skipped."""
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
    if data:  # a last event the server did not close with a blank line
        yield _event(kind, seq, "\n".join(data))


def _event(kind: str, seq: str, text: str) -> StreamedEvent:
    body: dict[str, Any] = msgspec.json.decode(text)
    kind = kind or str(body.get("type", "message"))
    number = int(seq) if seq.isdigit() else int(body.get("seq", 0))
    return StreamedEvent(type=kind, seq=number, data=body)
