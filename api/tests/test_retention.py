"""Retention (api/retention.py, api/settings/retention.py): the platform's own tables pruned
after their periods, batch by batch, and the daily jobs that do it for every app."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.celery import app, queue_for
from api.models import FailedTask, IdempotencyRecord
from api.retention import delete_in_batches, retention_cutoff
from api.tasks import failed_tasks_prune_task, idempotency_records_prune_task

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def days_ago(days: float):
    return NOW - timedelta(days=days)


def record(key: str, *, age_days: float, answered: bool = True) -> IdempotencyRecord:
    row = IdempotencyRecord.objects.create(
        scope="checkout",
        owner="user:1",
        key=key,
        fingerprint="0" * 64,
        status_code=201 if answered else None,
        response_body={"client_secret": "pi_x_secret_y"} if answered else None,
    )
    IdempotencyRecord.objects.filter(pk=row.pk).update(created_at=days_ago(age_days))
    return row


def test_idempotency_records_go_after_their_period_answered_or_not(settings):
    settings.IDEMPOTENCY_RECORD_KEEP_DAYS = 3
    record("old", age_days=3.5)
    record("old-unanswered", age_days=4, answered=False)
    record("recent", age_days=2)
    record("in-flight", age_days=0, answered=False)  # a checkout running right now
    assert idempotency_records_prune_task() == 2
    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"recent", "in-flight"}
    assert idempotency_records_prune_task() == 0  # safe to run twice


def failed_task(job_id: str, status: str, *, resolved_days_ago: float | None = None) -> None:
    FailedTask.objects.create(
        job_id=job_id,
        task_name="email.send_welcome",
        task_id=job_id,
        exception="SMTPError: no",
        attempts=4,
        status=status,
        first_failed_at=days_ago(400),
        last_failed_at=days_ago(400),
        resolved_at=days_ago(resolved_days_ago) if resolved_days_ago is not None else None,
    )


def test_only_dead_letters_resolved_long_ago_go(settings):
    settings.FAILED_TASK_RESOLVED_KEEP_DAYS = 30
    failed_task("resolved-long-ago", FailedTask.Status.RESOLVED, resolved_days_ago=31)
    failed_task("resolved-lately", FailedTask.Status.RESOLVED, resolved_days_ago=29)
    failed_task("still-failed", FailedTask.Status.FAILED)
    failed_task("retried", FailedTask.Status.RETRIED)
    assert failed_tasks_prune_task() == 1
    assert set(FailedTask.objects.values_list("job_id", flat=True)) == {
        "resolved-lately",
        "still-failed",
        "retried",
    }


def test_zero_days_keeps_everything(settings):
    settings.IDEMPOTENCY_RECORD_KEEP_DAYS = 0
    record("ancient", age_days=3650)
    assert retention_cutoff(0) is None
    assert idempotency_records_prune_task() == 0
    assert IdempotencyRecord.objects.count() == 1


def test_a_backlog_is_deleted_a_batch_per_statement():
    for n in range(7):
        record(f"k{n}", age_days=10)
    record("young", age_days=0)
    old = IdempotencyRecord.objects.filter(created_at__lt=days_ago(1))
    with CaptureQueriesContext(connection) as queries:
        assert delete_in_batches(old, batch_size=3) == 7
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 3 + 3 + 1
    assert all("LIMIT 3" in sql for sql in deletes)
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["young"]


def test_each_table_has_a_daily_prune_on_the_default_queue(settings):
    tasks = {
        "prune idempotency records": "maintenance.prune_idempotency_records",
        "prune failed tasks": "maintenance.prune_failed_tasks",
        "prune sent emails": "maintenance.prune_sent_emails",
        "prune webhook events": "maintenance.prune_webhook_events",
        "prune search query stats": "maintenance.prune_search_query_stats",
    }
    for name, task in tasks.items():
        entry = settings.DEFAULT_BEAT_SCHEDULES[name]
        assert entry["task"] == task
        assert set(entry["crontab"]) == {"minute", "hour"}  # once a day
        assert task in app.tasks
        assert queue_for(task) == "default"
