"""Log set-up: text or JSON lines, each carrying the request id of the call that wrote it."""

# The request id lives in a context variable set by the request-id interceptor, so any line
# logged while serving a call (the domain's included) names that call; ``-`` outside calls.

from __future__ import annotations

import json
import logging
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
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": _timestamp(record), "level": record.levelname, "logger": record.name,
            "message": record.getMessage(), "request_id": getattr(record, "request_id", "-"),
        }
        body.update(_extra(record))
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str, separators=(",", ":"))


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _timestamp(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def _text(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or any(c.isspace() or c == '"' for c in text)) else text


def configure_logging(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Route the root logger to ``stream`` (stderr) in the given format; replaces earlier handlers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("grpc").setLevel(max(logging.getLevelName(level), logging.WARNING))
