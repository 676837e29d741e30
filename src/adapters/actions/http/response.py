"""What came back: the body read up to the cap, decoded for the step's output, and a status
that was not expected turned into a named error.
"""

from __future__ import annotations

import codecs
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import msgspec

from wfa.application.ports.actions import ActionError

EXCERPT_BYTES = 4096  # read of an error response, for its message
EXCERPT_CHARS = 200
MAX_RETRY_AFTER_SECONDS = 86_400.0


def shown(method: str, url: httpx.URL) -> str:
    """The request as messages show it: no credentials, no query string (it may hold keys)."""
    port = f":{url.port}" if url.port is not None else ""
    return f"{method} {url.scheme}://{url.host}{port}{url.path}"


async def read_body(response: httpx.Response, limit: int, what: str) -> bytes:
    """The whole (decompressed) body, refused with ``http.too_large`` once it passes ``limit``."""
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large(f"{what} announces {int(length)} bytes", limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise _too_large(f"{what} is longer", limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_excerpt(response: httpx.Response) -> str:
    """The start of a body, as one line of text; the rest is not read."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= EXCERPT_BYTES:
            break
    text = _text(response, b"".join(chunks)[:EXCERPT_BYTES])
    line = " ".join(text.split())
    return line if len(line) <= EXCERPT_CHARS else line[: EXCERPT_CHARS - 1] + "…"


def decode_body(response: httpx.Response, raw: bytes) -> Any:
    """JSON when the content type says so (and it parses), else text."""
    media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        if not raw.strip():
            return None
        try:
            return msgspec.json.decode(raw)
        except msgspec.DecodeError:
            pass  # a server that says JSON and sends something else: show what it sent
    return _text(response, raw)


def output(response: httpx.Response, body: Any, elapsed: float) -> dict[str, Any]:
    return {
        "status": response.status_code,
        "headers": dict(response.headers.items()),  # lower-case names, repeats joined by ", "
        "body": body,
        "elapsed": round(elapsed, 3),
        "url": str(response.request.url),
    }


def status_error(request: str, response: httpx.Response, excerpt: str) -> ActionError:
    """The named error for a status that was not expected.

    5xx, 408 and 429 are retryable (429 and 503 with the server's Retry-After); any other
    4xx is not, as the same request would be refused again: 400, 401, 403, 404, 422...
    """
    status = response.status_code
    phrase = response.reason_phrase
    message = f"{request} answered {status}{f' {phrase}' if phrase else ''}"
    if excerpt:
        message += f": {excerpt}"
    wait = retry_after(response.headers.get("retry-after"), datetime.now(UTC))
    if status == 429:
        return ActionError("http.status.429", message, retry_after=wait)
    if status >= 500:
        return ActionError("http.status.5xx", message, retry_after=wait)
    if status == 408:
        return ActionError("http.status.4xx", message, retry_after=wait)
    return ActionError(f"http.status.{status // 100}xx", message, retryable=False)


def retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from ``now``: delay-seconds or an HTTP-date; None when unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _too_large(what: str, limit: int) -> ActionError:
    message = f"{what}, over the limit of {limit} bytes (WFA_HTTP_MAX_RESPONSE_BYTES)"
    return ActionError("http.too_large", message, retryable=False)


def _text(response: httpx.Response, raw: bytes) -> str:
    charset = response.charset_encoding or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    return raw.decode(charset, errors="replace")
