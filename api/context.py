"""Per-request (and per-task) identifiers that every log line carries."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
trace_id_var: ContextVar[str | None] = ContextVar("trace_id", default=None)
user_id_var: ContextVar[int | None] = ContextVar("user_id", default=None)
# Set while a Celery task runs (api.tasks.BaseTask): the job its log lines belong to.
job_id_var: ContextVar[str | None] = ContextVar("job_id", default=None)

# A client-sent id is echoed only when it cannot smuggle anything into logs or headers.
_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def new_id() -> str:
    return uuid.uuid4().hex


def sane_id(value: str | None) -> str | None:
    return value if value and _SANE_ID.match(value) else None


def trace_id_from_headers(traceparent: str | None, trace_header: str | None) -> str | None:
    """The W3C traceparent's trace id, else a sane X-Trace-ID."""
    if traceparent:
        match = _TRACEPARENT.match(traceparent.strip().lower())
        if match and match.group(1) != "0" * 32:
            return match.group(1)
    return sane_id(trace_header)


def set_user_id(user_id: int | None) -> None:
    """Called by authentication once it knows the caller, so later log lines name them."""
    user_id_var.set(user_id)
