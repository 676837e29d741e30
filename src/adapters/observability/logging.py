"""Structured logs on the standard library: one JSON object a line, or text for a terminal.

Records carry the fields of the open ``log_context`` (run_id, step_id ...) as well as those
passed with ``extra=``, so one run's story can be found with a single filter. A record made
while an attempt uses secrets has their values replaced with ``***`` when it is made, so no
handler ever sees them (``install_secret_redaction``).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import msgspec

from wfa.application.log_context import current_log_context
from wfa.application.redaction import current_redactor
from wfa.domain.secrets import Redactor

FORMATS = ("text", "json")
# The fields a record may carry that say what it is about; anything else in extra= is not logged.
FIELDS = (
    *("run_id", "step_id", "attempt", "workflow_id", "request_id", "error", "retry_at"),
    *("method", "path", "status", "duration_ms", "client"),  # the access log's
)

_encoder = msgspec.json.Encoder(enc_hook=str)  # an odd extra is logged as its str, not lost


class LogContextFilter(logging.Filter):
    """Adds the open ``log_context`` fields to a record; ``extra=`` values given at the call win."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in current_log_context().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the fields, the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record, "milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_fields(record))
        exception = self._exception_text(record)
        if exception:
            entry["exception"] = exception
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return _encoder.encode(entry).decode()

    def _exception_text(self, record: logging.LogRecord) -> str | None:
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)  # cached, as stdlib does
        return record.exc_text


class TextFormatter(logging.Formatter):
    """``2030-01-01T00:00:00Z INFO wfa.x: message run_id=... step_id=...`` for people."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record, 'seconds')} {record.levelname} {record.name}: "
        line += record.getMessage()
        for name, value in _fields(record).items():
            line += f" {name}={_text_value(value)}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


def install_secret_redaction() -> None:
    """Make every log record redact the secrets of the attempt it is made in; idempotent.

    A record factory rather than a handler's filter: every handler, whoever installed it,
    gets the redacted record, and the exception text is redacted before any formatter runs.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts_secrets", False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redactor = current_redactor()
        if redactor is not None:
            redact_record(record, redactor)
        return record

    make_record.redacts_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


def redact_record(record: logging.LogRecord, redactor: Redactor) -> None:
    """Replace the secrets in a record's message, exception and stack with ``***``."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep the text as it was written
        message = str(record.msg)
    record.msg, record.args = redactor.text(message), None
    if record.exc_info:
        text = record.exc_text or logging.Formatter().formatException(record.exc_info)
        # exc_info would let a handler format the exception (and the secret) again
        record.exc_text, record.exc_info = redactor.text(text), None
    if record.stack_info:
        record.stack_info = redactor.text(record.stack_info)


class _WfaHandler(logging.StreamHandler[TextIO]):
    """The handler ``configure_logging`` installs; marked so a second call replaces it."""


def configure_logging(
    format: str | None = None, level: int | str = logging.INFO, stream: TextIO | None = None
) -> logging.Handler:
    """Send the root logger's records to ``stream`` (stderr) as ``text`` or ``json``.

    ``None`` picks text when the stream is a terminal and JSON otherwise (containers, files,
    pipes). Calling it again replaces the handler it installed; other handlers are left alone.
    """
    stream = stream if stream is not None else sys.stderr
    if format is None:
        format = "text" if _is_terminal(stream) else "json"
    if format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {format!r}")
    handler = _WfaHandler(stream)
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    handler.addFilter(LogContextFilter())
    install_secret_redaction()
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _WfaHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx and httpcore log every request's full URL at INFO: query strings may carry
    # credentials, and the http.request action reports what matters in its own errors.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))
    return handler


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    values = {name: getattr(record, name, None) for name in FIELDS}
    return {name: value for name, value in values.items() if value is not None}


def _timestamp(record: logging.LogRecord, timespec: str) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")


def _text_value(value: Any) -> str:
    text = str(value)
    # Quoted only when needed, so ids stay easy to copy and grep.
    return _encoder.encode(text).decode() if any(c in text for c in ' ="\n') else text


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
