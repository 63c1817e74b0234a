"""The transactional outbox: a task message is a row written with the change it follows.

Before, a message was published right after the commit and a publish error was logged and
dropped: a refund made while the broker was down was recorded and never sent. Now:

1. `outbox_add` (what BaseTask.apply_async_on_commit / delay_on_commit call) writes an
   OutboxMessage row in the caller's transaction: the message exists exactly when the change
   does, and never for a change that rolled back. The row is the writer's for
   OUTBOX_HANDOFF_SECONDS (its `available_at`): beat's relay leaves it alone until then.
2. Right after the commit, the writer publishes its own row from memory and marks it sent with
   one conditional UPDATE (`_send_own`): no read, no lock, no transaction of its own, so a
   message goes out as fast as a plain publish would.
3. Whatever is left (the broker did not answer, the process died between commit and publish)
   beat publishes with `outbox_relay()` every few seconds (`maintenance.outbox_relay`), once
   the row is due: after the handoff, or after a failed publish's backoff.
4. Beat's relay publishes a row under its row lock (FOR UPDATE SKIP LOCKED), then marks it sent
   in the same transaction: two relays never publish the same row. A crash between the broker's
   answer and that commit publishes it again later (at least once), and so would a writer that
   took longer than the handoff to publish: consumers are idempotent anyway, and each message
   carries the row id as its task id so a duplicate is recognisable.
5. A publish that fails backs the row off (OUTBOX_RETRY_BASE_SECONDS doubling, capped); beat's
   relay then stops its batch: the broker is likely down, and the next run tries again.

The admin lists unsent rows and their age; /metrics exposes the backlog (api/metrics.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Min
from django.utils import timezone

from api.celery import app
from api.models import OutboxMessage

logger = logging.getLogger("api.outbox")


def outbox_add(
    task_name: str,
    *,
    args: Any = (),
    kwargs: dict | None = None,
    headers: dict,
    options: dict | None = None,
    using: str | None = None,
) -> OutboxMessage:
    """Write the message in the current transaction; it is published right after the commit."""
    now = timezone.now()
    row = OutboxMessage.objects.using(using).create(
        task_name=task_name,
        args=list(args or ()),
        kwargs=dict(kwargs or {}),
        headers=headers,
        options=dict(options or {}),
        created_at=now,
        available_at=now + timedelta(seconds=settings.OUTBOX_HANDOFF_SECONDS),
    )
    # robust: the change is committed whatever the publish does; beat sends what it could not.
    transaction.on_commit(lambda: _send_own(row, using=using), using=using, robust=True)
    return row


def _send_own(row: OutboxMessage, *, using: str | None) -> None:
    """The writer's publish of its own row, right after its commit: one UPDATE marks it sent, or
    backs it off when the broker refused it (beat's relay then sends it when it is due)."""
    unsent = OutboxMessage.objects.using(using).filter(pk=row.pk, sent_at__isnull=True)
    try:
        _publish(row)
    except Exception as exc:  # the broker: refused, unreachable, timed out
        error = _error_text(exc)
        unsent.update(
            attempts=F("attempts") + 1,
            last_error=error,
            available_at=timezone.now() + _backoff(row.attempts + 1),
        )
        _log_failure(row, error)
        return
    unsent.update(sent_at=timezone.now())


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _log_failure(row: OutboxMessage, error: str) -> None:
    logger.warning(
        "outbox publish failed", extra={"outbox_id": row.pk, "task": row.task_name, "error": error}
    )


@dataclass(frozen=True)
class RelayReport:
    sent: int = 0
    failed: int = 0


def _backoff(attempts: int) -> timedelta:
    seconds = min(
        settings.OUTBOX_RETRY_MAX_SECONDS, settings.OUTBOX_RETRY_BASE_SECONDS * 2**attempts
    )
    return timedelta(seconds=seconds)


def _publish(row: OutboxMessage) -> None:
    # The task's own ignore_result, as its apply_async sends it: by name, send_task would else
    # subscribe this process to the result of every message (a Redis round trip each), results
    # that the settings tell workers not to store and that no one reads.
    task = app.tasks.get(row.task_name)
    options = {"ignore_result": task.ignore_result if task else None, **row.options}
    app.send_task(
        row.task_name,
        args=row.args,
        kwargs=row.kwargs,
        headers=row.headers,
        task_id=f"outbox-{row.pk}",
        retry_policy=settings.OUTBOX_PUBLISH_RETRY_POLICY,
        **options,
    )


def outbox_relay(*, limit: int | None = None) -> RelayReport:
    """Publish unsent rows that are due, oldest first, in batches (beat's relay).

    Stops at the first publish that fails: that row waits for its backoff, the others for the
    next run. Never raises for a publish error (the caller's work is done)."""
    limit = limit or settings.OUTBOX_RELAY_BATCH
    sent = failed = 0
    while True:
        with transaction.atomic():
            due = OutboxMessage.objects.filter(
                sent_at__isnull=True, available_at__lte=timezone.now()
            )
            rows = list(
                due.select_for_update(skip_locked=True).order_by("available_at", "id")[:limit]
            )
            stopped = False
            for row in rows:
                try:
                    _publish(row)
                except Exception as exc:  # the broker: refused, unreachable, timed out
                    row.attempts += 1
                    row.last_error = _error_text(exc)
                    row.available_at = timezone.now() + _backoff(row.attempts)
                    row.save(update_fields=["attempts", "last_error", "available_at"])
                    _log_failure(row, row.last_error)
                    failed += 1
                    stopped = True
                    break
                row.sent_at = timezone.now()
                row.save(update_fields=["sent_at"])
                sent += 1
        if stopped or len(rows) < limit:
            return RelayReport(sent=sent, failed=failed)


def outbox_backlog() -> tuple[int, float]:
    """(unsent rows, age in seconds of the oldest): what /metrics and the admin show."""
    found = OutboxMessage.objects.filter(sent_at__isnull=True).aggregate(
        count=Count("id"), oldest=Min("created_at")
    )
    age = (timezone.now() - found["oldest"]).total_seconds() if found["oldest"] else 0.0
    return found["count"], age


def outbox_prune(*, now=None) -> int:
    """Delete rows sent longer ago than OUTBOX_KEEP_DAYS; how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.OUTBOX_KEEP_DAYS)
    deleted, _ = OutboxMessage.objects.filter(sent_at__lt=cutoff).delete()
    return deleted
