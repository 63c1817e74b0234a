"""Pruning the tables that only grow (api/settings/retention.py holds the periods).

Each app prunes its own tables with a service built on the two helpers here, called by a thin
daily beat task in its tasks.py:

    def sent_emails_prune(*, now=None) -> int:
        cutoff = retention_cutoff(settings.SENT_EMAIL_KEEP_DAYS, now=now)
        if cutoff is None:
            return 0
        return delete_in_batches(SentEmail.objects.filter(sent_at__lt=cutoff))

1. retention_cutoff turns a period in days into the time before which rows go (None: 0 days,
   keep everything).
2. delete_in_batches deletes what a queryset selects RETENTION_BATCH_SIZE rows at a time, each
   batch one short `DELETE ... WHERE id IN (SELECT id ... LIMIT n)` in its own transaction, so
   a large backlog never holds many rows locked, or the table's writers waiting, for long.
   Running it twice deletes nothing the second time.

This module prunes the platform's own tables: idempotency records and resolved dead letters.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from api.models import FailedTask, IdempotencyRecord


def retention_cutoff(days: int, *, now: datetime | None = None) -> datetime | None:
    """Rows older than this go; None when `days` is 0 (kept forever)."""
    if days <= 0:
        return None
    return (now or timezone.now()) - timedelta(days=days)


def delete_in_batches(queryset: QuerySet, *, batch_size: int | None = None) -> int:
    """Delete the rows `queryset` selects, a batch per statement; how many of its model's rows
    went. Meant for models nothing else points at (their delete stays one plain statement)."""
    batch_size = batch_size or settings.RETENTION_BATCH_SIZE
    model = queryset.model
    total = 0
    while True:
        batch = queryset.order_by().values("pk")[:batch_size]
        with transaction.atomic(using=queryset.db):
            _, per_model = model._base_manager.using(queryset.db).filter(pk__in=batch).delete()
        deleted = per_model.get(model._meta.label, 0)
        total += deleted
        if deleted < batch_size:
            return total


def idempotency_records_prune(*, now: datetime | None = None) -> int:
    """Records older than IDEMPOTENCY_RECORD_KEEP_DAYS, answered or not: a request still in flight
    is seconds old, and a key its client retries after that long is a new request."""
    cutoff = retention_cutoff(settings.IDEMPOTENCY_RECORD_KEEP_DAYS, now=now)
    if cutoff is None:
        return 0
    return delete_in_batches(IdempotencyRecord.objects.filter(created_at__lt=cutoff))


def failed_tasks_prune(*, now: datetime | None = None) -> int:
    """Dead letters a retry resolved longer than FAILED_TASK_RESOLVED_KEEP_DAYS ago; failed and
    retried ones wait for staff however old."""
    cutoff = retention_cutoff(settings.FAILED_TASK_RESOLVED_KEEP_DAYS, now=now)
    if cutoff is None:
        return 0
    return delete_in_batches(
        FailedTask.objects.filter(status=FailedTask.Status.RESOLVED, resolved_at__lt=cutoff)
    )
