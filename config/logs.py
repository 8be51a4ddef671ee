"""Log lines for operators (docs/operations.md, Logs): one JSON object per line (`LOG_FORMAT=json`) or plain text.

Every line carries, where known, the `request_id` of the HTTP request being served, and the `sync_id` and
`reference` of the job being run. They live in context variables:

- the request id middleware sets `request_id` for the whole request;
- the job runner (`job_run`) sets `sync_id` and `reference` while it runs a job, in any process;
- a task published while they are set carries them in its message headers (`log_context`), and the worker
  sets them again before it runs the task, so the worker's lines name the ERP call that made the job.

The formatter is python-json-logger's; this module only adds the context (a logging filter) and the
LOGGING dict that every process (gunicorn, worker, beat, management commands) uses.
"""

from __future__ import annotations

import contextvars
import logging
import logging.config
from collections.abc import Iterator
from contextlib import contextmanager

from pythonjsonlogger.core import RESERVED_ATTRS

FIELDS = ("request_id", "sync_id", "reference")
HEADER = "log_context"

_vars: dict[str, contextvars.ContextVar[str | None]] = {
    name: contextvars.ContextVar(f"log_{name}", default=None) for name in FIELDS
}


def log_context_get() -> dict[str, str]:
    """The known context values (only those that are set)."""
    return {name: value for name, var in _vars.items() if (value := var.get()) is not None}


@contextmanager
def log_context(**values: str | None) -> Iterator[None]:
    """Set some of `request_id`, `sync_id`, `reference` for the block (None leaves a value as it is)."""
    tokens = [(_vars[name], _vars[name].set(str(value))) for name, value in values.items() if value is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def log_context_replace(values: dict[str, str] | None) -> None:
    """Replace the whole context (a worker, before each task: nothing leaks from the previous one)."""
    values = values or {}
    for name, var in _vars.items():
        value = values.get(name)
        var.set(str(value) if value not in (None, "") else None)


class ContextFilter(logging.Filter):
    """Adds the known context values to every record, and `context` (a short text form) for text lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        known = log_context_get()
        for name, value in known.items():
            if not hasattr(record, name):
                setattr(record, name, value)
        record.context = " ".join(f"{k}={v}" for k, v in known.items()) or "-"
        return True


def configure(config: dict) -> None:
    """Django's LOGGING_CONFIG (and Celery's setup): the dict, plus Python warnings as log lines."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


def logging_config(*, log_format: str, level: str) -> dict:
    """The LOGGING dict: one console handler on stderr, in `log_format` (`json` or `text`)."""
    json_formatter = {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": "%(levelname)s %(name)s %(message)s",
        "rename_fields": {"levelname": "level", "name": "logger"},
        "timestamp": True,
        # `context` is the text form of the fields that JSON lines carry as keys of their own.
        "reserved_attrs": [*RESERVED_ATTRS, "context", "color_message"],
    }
    text_formatter = {"format": "%(asctime)s %(levelname)s %(name)s [%(context)s] %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "config.logs.ContextFilter"}},
        "formatters": {"json": json_formatter, "text": text_formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if log_format == "json" else "text",
                "filters": ["context"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
            # Gunicorn's own loggers (its config file points them here): no handlers of their own.
            "gunicorn.error": {"level": level, "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": level, "handlers": ["console"], "propagate": False},
        },
    }
