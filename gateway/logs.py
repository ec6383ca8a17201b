"""Log set-up: text or JSON lines, each carrying the request id of the call that wrote it."""

# The request id lives in a context variable set by the request-id interceptor, so any line
# logged while serving a call (the domain's included) names that call; ``-`` outside calls.

from __future__ import annotations

import atexit
import copy
import json
import logging
import logging.handlers
import queue
import sys
import time
from contextvars import ContextVar
from typing import Any, Final, TextIO

#: Request id of the call being served (``reqid`` header or generated).
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")

#: Attributes every LogRecord has; anything else was passed with ``extra=`` and is emitted as a field.
_STANDARD: Final = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    """Stamp each record with the current request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class TextFormatter(logging.Formatter):
    """``2024-05-01T12:00:00.123Z INFO [req=ab12cd34] logger: message key=value …``."""

    def format(self, record: logging.LogRecord) -> str:
        omit = getattr(record, "_text_omit", ())  # fields the message already spells out
        fields = " ".join(f"{k}={_text(v)}" for k, v in _extra(record).items() if k not in omit)
        line = (f"{_timestamp(record)} {record.levelname} [req={getattr(record, 'request_id', '-')}] "
                f"{record.name}: {record.getMessage()}" + (f" {fields}" if fields else ""))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": _timestamp(record), "level": record.levelname, "logger": record.name,
            "message": record.getMessage(), "request_id": getattr(record, "request_id", "-"),
        }
        body.update(_extra(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            body["exception"] = record.exc_text
        return json.dumps(body, default=str, separators=(",", ":"))


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _timestamp(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def _text(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or any(c.isspace() or c == '"' for c in text)) else text


class _QueueHandler(logging.handlers.QueueHandler):
    """Hand records to the writer thread with their text resolved, keeping the traceback apart."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        return record


_listener: logging.handlers.QueueListener | None = None


def stop_logging() -> None:
    """Write what is queued and stop the writer thread (idempotent; also run at exit)."""
    global _listener
    listener, _listener = _listener, None
    if listener is not None:
        listener.stop()


def configure_logging(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Route the root logger to ``stream`` (stderr) in the given format; replaces earlier handlers.

    Lines are written by a thread of their own: a slow or blocked stderr (a full pipe, a
    stalled log collector) never stalls the event loop serving calls.
    """
    global _listener
    stop_logging()
    output = logging.StreamHandler(stream or sys.stderr)
    output.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handler = _QueueHandler(records)
    handler.addFilter(RequestIdFilter())  # in the calling thread: the request id is a context variable
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("grpc").setLevel(max(logging.getLevelName(level), logging.WARNING))
    _listener = logging.handlers.QueueListener(records, output)
    _listener.start()


atexit.register(stop_logging)
