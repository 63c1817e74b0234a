"""The base class of every Celery task (set as the app's task_cls in api/celery.py).

Tasks take ids, are safe to run twice, and are enqueued with the change they follow through
`some_task.delay_on_commit(order_id)`: an outbox row in the same transaction, published after
the commit (api/outbox.py; never for a transaction that rolls back, never lost if the broker is
down). A task's name is the name of its queue or starts with it: `email.send_order_confirmation`.

What every task gets from BaseTask, without repeating it:
- headers job_id, trace_id and created_at on each message; trace_id continues the request's (or the
  enqueuing task's) trace, job_id stays the same across retries, also those started from the admin;
- JSON log lines "task started" / "task succeeded" / "task retrying" / "task failed" carrying
  job_id and trace_id (so does every other line logged while the task runs);
- late acknowledgement: a worker process that dies mid-task leaves the message to be redelivered;
- up to 5 attempts with exponential backoff and jitter, then a FailedTask row (the admin can retry
  it) and, on RabbitMQ, the message rejected into the dead-letter queue.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from datetime import UTC, datetime
from typing import Any

from celery import shared_task, signals
from celery.contrib.django.task import DjangoTask
from django.db import connections, transaction
from django.utils import timezone

from api import context

logger = logging.getLogger("api.tasks")

# The headers BaseTask owns; anything else a caller passes travels along untouched.
JOB_HEADERS = ("job_id", "trace_id", "created_at")
# Set on the message when an attempt failed and the task is retried.
FIRST_FAILED_AT = "first_failed_at"
# Set by the admin's retry action: the FailedTask row to mark resolved when the run succeeds.
FAILED_TASK_ID = "failed_task_id"
_BROKER_HEADERS = ("x-death", "x-first-death", "x-last-death")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def parse_iso(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def job_headers(headers: dict | None = None) -> dict:
    """The headers of a new message: those given, plus job_id, trace_id and created_at."""
    headers = dict(headers or {})
    job_id = headers.get("job_id") or context.new_id()
    headers["job_id"] = job_id
    headers.setdefault("trace_id", context.trace_id_var.get() or job_id)
    headers.setdefault("created_at", now_iso())
    return headers


def backoff_delay(retry: int, *, base: float, maximum: float, jitter: bool = True) -> float:
    """Seconds before retry number `retry` (0 for the first): base * 2**retry, capped.

    "Equal jitter": the delay is drawn from the upper half of that window, so retries of many
    jobs spread out and yet each delay is at least as long as the one before.
    """
    ceiling = min(maximum, base * 2**retry)
    return ceiling / 2 + random.uniform(0, ceiling / 2) if jitter else ceiling


class BaseTask(DjangoTask):
    # Acknowledged after it ran: a worker that dies mid-task leaves the message to be redelivered.
    acks_late = True
    reject_on_worker_lost = True
    # Retries exhausted: reject without requeue, which RabbitMQ turns into a dead-lettered message.
    acks_on_failure = False
    # Retried with exponential backoff and jitter; 5 attempts in all.
    autoretry_for = (Exception,)
    max_retries = 4
    # Celery's own backoff (full jitter, whole seconds) is off: retry() computes the delay.
    retry_backoff = False
    retry_jitter = True
    backoff_base: float = 2.0
    backoff_max: float = 300.0

    # -- enqueueing -------------------------------------------------------------------------------
    def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, **options):
        options["headers"] = job_headers(options.get("headers"))
        return super().apply_async(args, kwargs, task_id, producer, **options)

    def apply_async_on_commit(self, args=None, kwargs=None, *, using=None, **options) -> str:
        """Send with the current transaction (never if it rolls back); the job id.

        The message is an outbox row written in this transaction (api/outbox.py) and published
        right after the commit, or by beat's relay if the broker does not answer then: a change
        and its message commit together. The headers are fixed now, so the trace is the
        caller's even if the message goes out later.
        """
        from api.outbox import outbox_add  # api.outbox needs the models: loaded after setup

        headers = job_headers(options.pop("headers", None))
        if self.app.conf.task_always_eager:
            # Celery's eager mode (the tests' run_tasks): no broker, so no outbox; the task runs
            # at the commit, its errors raised to the caller as eager mode means.
            run = functools.partial(self.apply_async, args, kwargs, headers=headers, **options)
            transaction.on_commit(run, using=using)
            return headers["job_id"]
        outbox_add(
            self.name, args=args, kwargs=kwargs, headers=headers, options=options, using=using
        )
        return headers["job_id"]

    def delay_on_commit(self, *args, **kwargs) -> str:
        return self.apply_async_on_commit(args, kwargs)

    # -- retrying ---------------------------------------------------------------------------------
    def retry(
        self,
        args=None,
        kwargs=None,
        exc=None,
        throw=True,
        eta=None,
        countdown=None,
        max_retries=None,
        **options,
    ):
        request = self.request
        if not request.called_directly:
            if eta is None and countdown is None:
                countdown = backoff_delay(
                    request.retries,
                    base=self.backoff_base,
                    maximum=self.backoff_max,
                    jitter=self.retry_jitter,
                )
            headers = {
                key: value
                for key, value in (request.headers or {}).items()
                if not key.startswith(_BROKER_HEADERS)
            }
            headers.update(options.get("headers") or {})
            headers.setdefault(FIRST_FAILED_AT, now_iso())
            options["headers"] = headers
            request.retry_countdown = countdown
        return super().retry(args, kwargs, exc, throw, eta, countdown, max_retries, **options)

    # -- outcomes (called by Celery inside the task's context) ------------------------------------
    def on_success(self, retval, task_id, args, kwargs) -> None:
        logger.info("task succeeded", extra=_fields(self, runtime_ms=_runtime_ms(self)))
        _record_outcome(self.name, "succeeded", _runtime(self))
        failed_task_id = (self.request.headers or {}).get(FAILED_TASK_ID)
        if failed_task_id:
            _mark_resolved(failed_task_id)

    def on_retry(self, exc, task_id, args, kwargs, einfo) -> None:
        countdown = getattr(self.request, "retry_countdown", None)
        logger.warning(
            "task retrying",
            extra=_fields(
                self,
                error=f"{type(exc).__name__}: {exc}",
                retry_in_s=round(countdown, 3) if countdown is not None else None,
                runtime_ms=_runtime_ms(self),
            ),
        )
        _record_outcome(self.name, "retried", _runtime(self))

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        logger.error(
            "task failed",
            exc_info=(type(exc), exc, exc.__traceback__),
            extra=_fields(self, error=f"{type(exc).__name__}: {exc}", runtime_ms=_runtime_ms(self)),
        )
        _record_outcome(self.name, "failed", _runtime(self))
        try:
            record_failed_task(self, exc, einfo)
        except Exception:  # a broken database must not hide the task's own error
            logger.exception("could not record the failed task", extra=_fields(self))


def _attempt(task: BaseTask) -> int:
    return (task.request.retries or 0) + 1


def _queue(task: BaseTask) -> str | None:
    delivery = task.request.delivery_info or {}
    return delivery.get("routing_key")


def _fields(task: BaseTask, **extra: Any) -> dict:
    return {"task": task.name, "task_id": task.request.id, "attempt": _attempt(task), **extra}


def _runtime(task: BaseTask) -> float | None:
    started = getattr(task.request, "started_monotonic", None)
    return time.monotonic() - started if started is not None else None


def _runtime_ms(task: BaseTask) -> float | None:
    runtime = _runtime(task)
    return round(runtime * 1000, 2) if runtime is not None else None


def _record_outcome(name: str, outcome: str, runtime: float | None = None) -> None:
    from api import metrics

    metrics.record_task_outcome(name, outcome, runtime)


# -- the dead-letter store ------------------------------------------------------------------------
def record_failed_task(task: BaseTask, exc: BaseException, einfo: Any) -> None:
    """Write (or update) the job's FailedTask row; safe when the same failure is seen twice."""
    from api.models import FailedTask

    _drop_broken_connection()  # the task's own error may have broken it
    request = task.request
    headers = {
        key: value
        for key, value in (request.headers or {}).items()
        if not key.startswith(_BROKER_HEADERS)
    }
    now = timezone.now()
    job_id = headers.get("job_id") or request.id
    fields = {
        "task_name": task.name,
        "task_id": request.id or "",
        "queue": _queue(task) or "",
        "trace_id": headers.get("trace_id") or "",
        "args": list(request.args or ()),
        "kwargs": dict(request.kwargs or {}),
        "headers": headers,
        "exception": f"{type(exc).__name__}: {exc}"[:2000],
        "traceback": str(getattr(einfo, "traceback", "") or "")[-20000:],
        "attempts": _attempt(task),
        "last_failed_at": now,
    }
    first_failed_at = parse_iso(headers.get(FIRST_FAILED_AT)) or now
    with transaction.atomic():
        row = FailedTask.objects.select_for_update().filter(job_id=job_id).first()
        if row is None:
            FailedTask.objects.create(job_id=job_id, first_failed_at=first_failed_at, **fields)
            return
        if row.status == FailedTask.Status.FAILED and row.task_id == fields["task_id"]:
            return  # the same failure delivered twice (worker died before the reject)
        for name, value in fields.items():
            setattr(row, name, value)
        row.first_failed_at = min(row.first_failed_at, first_failed_at)
        row.times_failed += 1
        row.status = FailedTask.Status.FAILED
        row.save()


def _drop_broken_connection() -> None:
    conn = connections["default"]
    if conn.connection is not None and not conn.in_atomic_block and not conn.is_usable():
        conn.close()  # the next query reconnects


def _mark_resolved(failed_task_id: Any) -> None:
    from api.models import FailedTask

    try:
        FailedTask.objects.filter(pk=int(failed_task_id), status=FailedTask.Status.RETRIED).update(
            status=FailedTask.Status.RESOLVED, resolved_at=timezone.now()
        )
    except Exception:  # the task itself succeeded; a stale row is only cosmetic
        logger.exception("could not mark the failed task resolved")


def failed_task_retry(*, failed_task_id: int, actor_id: int | None) -> bool:
    """Enqueue a FailedTask's job again (same job_id and trace) and mark the row; False if the
    row is not in the failed state (already retried or resolved), so a double click sends once.

    The message is published inside the transaction: if the broker refuses it, the row stays
    failed. A worker finishing before the commit waits on the row lock to mark it resolved.
    """
    from api.celery import app
    from api.models import FailedTask

    with transaction.atomic():
        row = FailedTask.objects.select_for_update().filter(pk=failed_task_id).first()
        if row is None or row.status != FailedTask.Status.FAILED:
            return False
        headers = {key: row.headers[key] for key in JOB_HEADERS if row.headers.get(key)}
        headers.update(
            {"created_at": now_iso(), FAILED_TASK_ID: row.pk, "retried_by": actor_id},
        )
        row.status = FailedTask.Status.RETRIED
        row.retried_at = timezone.now()
        row.retried_by_id = actor_id
        row.retry_count += 1
        row.save(update_fields=["status", "retried_at", "retried_by", "retry_count"])
        app.send_task(row.task_name, args=row.args, kwargs=row.kwargs, headers=job_headers(headers))
    logger.info(
        "failed task retried",
        extra={"task": row.task_name, "failed_task_id": row.pk, "job_id": row.job_id},
    )
    return True


# -- task context: ids for every log line while a task runs ---------------------------------------
@signals.task_prerun.connect
def _enter_task_context(sender=None, task_id=None, task=None, **_: Any) -> None:
    if not isinstance(task, BaseTask):
        return
    from api import db_router

    request = task.request
    headers = request.headers or {}
    job_id = headers.get("job_id") or task_id
    request.started_monotonic = time.monotonic()
    request.context_tokens = (
        (context.job_id_var, context.job_id_var.set(job_id)),
        (context.trace_id_var, context.trace_id_var.set(headers.get("trace_id") or job_id)),
        (context.request_id_var, context.request_id_var.set(None)),
        (context.user_id_var, context.user_id_var.set(None)),
        (db_router.state_var, db_router.state_var.set(db_router.RoutingState())),
    )
    created_at = parse_iso(headers.get("created_at"))
    waited = (datetime.now(UTC) - created_at).total_seconds() if created_at else None
    logger.info(
        "task started",
        extra=_fields(
            task,
            queue=_queue(task),
            redelivered=bool((request.delivery_info or {}).get("redelivered")),
            queued_ms=round(waited * 1000, 2) if waited is not None else None,
        ),
    )


@signals.task_postrun.connect
def _leave_task_context(sender=None, task=None, **_: Any) -> None:
    tokens = getattr(getattr(task, "request", None), "context_tokens", None)
    if not tokens:
        return
    for var, token in reversed(tokens):
        var.reset(token)
    task.request.context_tokens = None


# -- the outbox's relay (api/outbox.py) -----------------------------------------------------------
@shared_task(name="maintenance.outbox_relay")
def outbox_relay_task() -> dict:
    """Beat: publish the outbox rows that are due; the broker's own outage ends here."""
    from api.outbox import outbox_relay

    report = outbox_relay()
    return {"sent": report.sent, "failed": report.failed}


@shared_task(name="maintenance.outbox_prune")
def outbox_prune_task() -> int:
    from api.outbox import outbox_prune

    return outbox_prune()


# -- retention (api/retention.py, api/settings/retention.py) --------------------------------------
@shared_task(name="maintenance.prune_idempotency_records")
def idempotency_records_prune_task() -> int:
    """Daily (beat): stored answers older than IDEMPOTENCY_RECORD_KEEP_DAYS."""
    from api.retention import idempotency_records_prune

    deleted = idempotency_records_prune()
    logger.info("pruned", extra={"table": "idempotency records", "deleted": deleted})
    return deleted


@shared_task(name="maintenance.prune_failed_tasks")
def failed_tasks_prune_task() -> int:
    """Daily (beat): dead letters resolved longer than FAILED_TASK_RESOLVED_KEEP_DAYS ago."""
    from api.retention import failed_tasks_prune

    deleted = failed_tasks_prune()
    logger.info("pruned", extra={"table": "failed tasks", "deleted": deleted})
    return deleted
