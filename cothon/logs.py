"""Structured logs (COTHON_LOG_FORMAT=json, docs/monitoring.md) and the correlation ids that
tie a log line to its request or its sync work.

The ids live in context variables: the request id middleware (`cothon.request_id`) sets one
per request; Celery's task_prerun sets the task id and the connection / run the task works on
(`cothon.celery`). `CorrelationFilter` copies them onto every record, so the plain format and
the JSON one both can show them."""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import re
import traceback
import uuid

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("cothon_request_id", default="")
task_id: contextvars.ContextVar[str] = contextvars.ContextVar("cothon_task_id", default="")
task_name: contextvars.ContextVar[str] = contextvars.ContextVar("cothon_task_name", default="")
connection_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("cothon_connection_id", default=None)
run_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("cothon_run_id", default=None)

# An incoming X-Request-ID is kept only when it looks like an id: letters, digits and - _ . :
# up to 128 characters. Anything else (newlines that would forge log lines, 10 KB of text) is
# replaced by a fresh one.
_VALID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
CORRELATION_FIELDS = ("request_id", "task_id", "task_name", "connection_id", "run_id")
_PLAIN = (str, int, float, bool, type(None))


def sane_request_id(incoming: str | None) -> str:
    if incoming and _VALID_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class CorrelationFilter(logging.Filter):
    """Adds the current correlation ids to each record (empty when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.task_id = task_id.get()
        record.task_name = task_name.get()
        record.connection_id = connection_id.get()
        record.run_id = run_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the correlation
    ids that are set, the exception's traceback when there is one, and the plain-valued `extra`
    fields a caller passed (gunicorn's access log passes the request's)."""

    _STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", *CORRELATION_FIELDS}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CORRELATION_FIELDS:
            value = getattr(record, name, None)
            if value in (None, ""):
                value = _current(name)
            if value not in (None, ""):
                entry[name] = value
        for key, value in vars(record).items():
            # Plain values only: Django passes the request object (its repr carries the query
            # string, an OAuth code included), Celery dicts of task arguments; neither is written.
            if key not in self._STANDARD and not key.startswith("_") and key not in entry and isinstance(value, _PLAIN):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def _current(name: str):
    return {"request_id": request_id, "task_id": task_id, "task_name": task_name, "connection_id": connection_id,
            "run_id": run_id}[name].get()


def logging_config(*, fmt: str, level: str) -> dict:
    """Django's LOGGING: human-readable lines by default, JSON lines with fmt="json"."""
    formatter = {"()": "cothon.logs.JsonFormatter"} if fmt == "json" else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"correlation": {"()": "cothon.logs.CorrelationFilter"}},
        "formatters": {"main": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "main", "filters": ["correlation"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"},
                    # Lockouts are WARNING; every successful login's "deleted 0 attempts" is noise.
                    "axes": {"level": "WARNING"}},
    }
