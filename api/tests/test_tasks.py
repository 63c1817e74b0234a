"""BaseTask, routing, the dead-letter store and its admin, and the beat schedule installer.

No worker here (see test_tasks_worker.py): messages are really published to the embedded Redis
broker and seen through Celery's publish signals, then purged.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import pytest
from celery import signals
from django.core.exceptions import ImproperlyConfigured
from django.core.management.sql import emit_post_migrate_signal
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from api import context, outbox
from api.beat import install_default_schedules
from api.celery import app, queue_for
from api.models import FailedTask, InstalledBeatSchedule, OutboxMessage
from api.tasks import BaseTask, backoff_delay, failed_task_retry, job_headers, record_failed_task
from api.tests.worker_tasks import always_fails_task, record_task

QUEUES = {
    "search.index_product",
    "inventory.adjust",
    "catalog.import",
    "email.send_order_confirmation",
    "email.send_payment_received",
    "email.send_order_shipped",
    "email.send_order_delivered",
    "email.send_order_cancelled",
    "email.send_order_refunded",
    "email.send_welcome",
    "email.send_password_reset",
    "email.send_low_stock_alert",
    "email.send_refund_failed_alert",
    "email.send_refund_due_alert",
    "payment.webhook_process",
    "webhooks.deliver",
    "reports",
    "default",
}


@pytest.fixture
def published():
    """Every message published during the test: (task name, routing key, headers)."""
    sent = []

    def capture(sender=None, headers=None, routing_key=None, **_):
        sent.append((sender, routing_key, dict(headers)))

    signals.before_task_publish.connect(capture, weak=False)
    yield sent
    signals.before_task_publish.disconnect(capture)
    app.control.purge()


# -- queues and routing ---------------------------------------------------------------------------
def test_the_queues_are_declared_with_dead_lettering():
    declared = app.amqp.queues
    assert set(declared) == QUEUES
    for queue in declared.values():
        assert queue.queue_arguments == {"x-dead-letter-exchange": "dead_letter"}
        assert queue.routing_key == queue.name
        assert queue.durable


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("search.index_product", "search.index_product"),
        ("inventory.adjust", "inventory.adjust"),
        ("catalog.import", "catalog.import"),
        ("email.send_order_confirmation", "email.send_order_confirmation"),
        ("email.send_low_stock_alert", "email.send_low_stock_alert"),
        ("payment.webhook_process", "payment.webhook_process"),
        ("reports.daily_sales", "reports"),
        ("reports", "reports"),
        ("email.send_welcome.resend", "email.send_welcome"),
        ("email.send_newsletter", "default"),  # not a queue of its own
        ("reportsx.daily", "default"),  # a prefix only counts up to a dot
        ("maintenance.flush_expired_tokens", "default"),
        ("search", "default"),
    ],
)
def test_tasks_are_routed_by_name(task, queue):
    assert queue_for(task) == queue


def test_a_published_task_goes_to_its_queue_unless_the_caller_names_one(published):
    always_fails_task.delay("k")
    app.send_task("reports.daily_sales", args=["2026-11-21"])
    record_task.apply_async(("k",), queue="reports")
    assert [(name, key) for name, key, _ in published] == [
        ("maintenance.test_always_fails", "default"),
        ("reports.daily_sales", "reports"),
        ("maintenance.test_record", "reports"),
    ]


def test_the_dev_worker_consumes_every_queue():
    from core.devserver import worker_command

    command = worker_command("python")
    assert command[command.index("-A") + 2] == "worker"
    assert not {"-Q", "--queues"} & {part.split("=")[0] for part in command}


# -- headers and retries --------------------------------------------------------------------------
def test_every_message_carries_job_id_trace_id_and_created_at(published):
    record_task.delay("k")
    token = context.trace_id_var.set("trace-of-the-request")
    try:
        record_task.delay("k")
        record_task.apply_async(("k",), headers={"job_id": "given-job", "tenant": "eu"})
    finally:
        context.trace_id_var.reset(token)

    first, in_request, given = (headers for _, _, headers in published)
    assert len(first["job_id"]) == 32
    assert first["trace_id"] == first["job_id"]
    assert timezone.now() - datetime.fromisoformat(first["created_at"]) < timedelta(seconds=5)
    assert in_request["trace_id"] == "trace-of-the-request"
    assert in_request["job_id"] != first["job_id"]
    assert given["job_id"] == "given-job"
    assert given["tenant"] == "eu"  # the caller's own headers travel along


def test_job_headers_keep_what_is_given():
    headers = job_headers({"job_id": "j", "trace_id": "t", "created_at": "2026-01-01T00:00:00"})
    assert headers == {"job_id": "j", "trace_id": "t", "created_at": "2026-01-01T00:00:00"}


@pytest.mark.parametrize("retry", range(8))
def test_backoff_grows_exponentially_within_its_jitter_window(retry):
    ceiling = min(300.0, 2.0 * 2**retry)
    delays = [backoff_delay(retry, base=2.0, maximum=300.0) for _ in range(200)]
    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert len(set(delays)) > 100  # jittered, so retries of many jobs spread out
    if retry:  # the shortest delay of a retry is the longest of the one before
        assert min(delays) >= min(300.0, 2.0 * 2 ** (retry - 1))


def test_backoff_without_jitter_is_exact():
    assert [backoff_delay(n, base=2, maximum=30, jitter=False) for n in range(6)] == [
        2,
        4,
        8,
        16,
        30,
        30,
    ]


def test_base_task_defaults():
    assert BaseTask.acks_late and BaseTask.reject_on_worker_lost
    assert BaseTask.acks_on_failure is False  # exhausted: rejected into the dead-letter queue
    assert BaseTask.max_retries == 4  # 5 attempts
    assert isinstance(record_task, BaseTask)
    assert app.conf.worker_prefetch_multiplier == 1


# -- enqueue after commit -------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_enqueue_on_commit_publishes_after_commit_and_never_after_a_rollback(published):
    with pytest.raises(RuntimeError), transaction.atomic():
        record_task.delay_on_commit("rolled-back")
        raise RuntimeError("out of stock")
    assert published == []

    with transaction.atomic():
        job_id = record_task.delay_on_commit("committed")
        with transaction.atomic():  # a savepoint: still waits for the outer commit
            record_task.apply_async_on_commit(("nested",), countdown=5)
        assert published == []
    assert len(published) == 2
    assert published[0][2]["job_id"] == job_id


@pytest.mark.django_db(transaction=True)
def test_headers_are_fixed_when_enqueued_not_when_committed(published):
    token = context.trace_id_var.set("checkout-trace")
    try:
        with transaction.atomic():
            record_task.delay_on_commit("k")
            context.trace_id_var.set("something-else")
    finally:
        context.trace_id_var.reset(token)
    assert published[0][2]["trace_id"] == "checkout-trace"


@pytest.mark.django_db(transaction=True)
def test_a_broker_error_after_commit_is_not_raised_and_the_message_waits(monkeypatch, caplog):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker unreachable")

    monkeypatch.setattr(outbox.app, "send_task", broker_down)
    caplog.set_level(logging.WARNING, logger="api.outbox")
    with transaction.atomic():
        job_id = record_task.delay_on_commit("k")  # the commit succeeds: nothing is raised
    row = OutboxMessage.objects.get()
    assert (row.task_name, row.headers["job_id"], row.sent_at) == (
        "maintenance.test_record",
        job_id,
        None,
    )
    (line,) = [r for r in caplog.records if r.getMessage() == "outbox publish failed"]
    assert line.outbox_id == row.pk and line.task == "maintenance.test_record"


# -- the dead-letter store ------------------------------------------------------------------------
def _fail(task, *, task_id: str, job_id: str, retries: int = 4, args=("k",)):
    task.push_request(
        id=task_id,
        retries=retries,
        args=list(args),
        kwargs={},
        headers={
            "job_id": job_id,
            "trace_id": "t-1",
            "first_failed_at": "2026-11-20T10:00:00+00:00",
        },
        delivery_info={"routing_key": "default"},
    )
    try:
        record_failed_task(task, ValueError("card declined"), None)
    finally:
        task.pop_request()


@pytest.mark.django_db
def test_an_exhausted_job_is_recorded_once_even_if_its_failure_is_seen_twice():
    _fail(always_fails_task, task_id="run-1", job_id="job-1")
    _fail(always_fails_task, task_id="run-1", job_id="job-1")  # redelivered before the reject
    row = FailedTask.objects.get()
    assert (row.job_id, row.task_id, row.attempts, row.times_failed) == ("job-1", "run-1", 5, 1)
    assert row.exception == "ValueError: card declined"
    assert row.trace_id == "t-1"
    assert row.first_failed_at.isoformat() == "2026-11-20T10:00:00+00:00"
    assert row.headers["job_id"] == "job-1"

    # Retried by staff, it fails again: the same row, failed once more.
    row.status = FailedTask.Status.RETRIED
    row.save()
    _fail(always_fails_task, task_id="run-2", job_id="job-1", retries=0)
    row.refresh_from_db()
    assert (row.status, row.task_id, row.attempts, row.times_failed) == ("failed", "run-2", 1, 2)
    assert row.first_failed_at.isoformat() == "2026-11-20T10:00:00+00:00"


@pytest.fixture
def failed_row(db):
    _fail(always_fails_task, task_id="run-1", job_id=uuid.uuid4().hex, args=("sku-1",))
    return FailedTask.objects.get()


@pytest.mark.django_db
def test_retrying_a_failed_task_enqueues_it_once_with_its_job_id(failed_row, published):
    assert failed_task_retry(failed_task_id=failed_row.pk, actor_id=None) is True
    assert failed_task_retry(failed_task_id=failed_row.pk, actor_id=None) is False  # double click
    ((name, queue, headers),) = published
    assert (name, queue) == ("maintenance.test_always_fails", "default")
    assert headers["job_id"] == failed_row.job_id
    assert headers["trace_id"] == "t-1"
    assert headers["failed_task_id"] == failed_row.pk
    failed_row.refresh_from_db()
    assert failed_row.status == FailedTask.Status.RETRIED
    assert failed_row.retry_count == 1
    assert failed_row.retried_at is not None


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("ops@example.com", "a-long-Passphrase-9")
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_admin_lists_failed_tasks_read_only(staff_client, failed_row):
    listing = staff_client.get("/admin/api/failedtask/?status=failed")
    assert listing.status_code == 200
    assert b"maintenance.test_always_fails" in listing.content
    assert b"ValueError: card declined" in listing.content
    detail = staff_client.get(f"/admin/api/failedtask/{failed_row.pk}/change/")
    assert detail.status_code == 200
    assert b"Retry" in detail.content
    assert staff_client.get("/admin/api/failedtask/add/").status_code == 403


@pytest.mark.django_db
def test_admin_detail_retry_asks_first_then_enqueues(staff_client, failed_row, published):
    url = f"/admin/api/failedtask/{failed_row.pk}/retry/"
    confirm = staff_client.get(url)
    assert confirm.status_code == 200
    assert b"Retry this task?" in confirm.content
    assert published == []  # following a link enqueues nothing

    response = staff_client.post(url, {"_form_submitted": "on"})
    assert response.status_code == 302
    assert len(published) == 1
    failed_row.refresh_from_db()
    assert failed_row.status == FailedTask.Status.RETRIED


@pytest.mark.django_db
def test_staff_without_the_retry_permission_cannot_retry(client, django_user_model, failed_row):
    from django.contrib.auth.models import Permission

    clerk = django_user_model.objects.create_user(
        "clerk@example.com", "a-long-Passphrase-9", is_staff=True
    )
    clerk.user_permissions.add(Permission.objects.get(codename="view_failedtask"))
    client.force_login(clerk)
    listing = client.get("/admin/api/failedtask/")
    assert listing.status_code == 200
    assert b"retry_selected" not in listing.content  # the action is not offered
    client.post(
        "/admin/api/failedtask/", {"action": "retry_selected", "_selected_action": [failed_row.pk]}
    )
    failed_row.refresh_from_db()
    assert failed_row.status == FailedTask.Status.FAILED
    assert client.get(f"/admin/api/failedtask/{failed_row.pk}/retry/").status_code == 403


# -- beat schedules -------------------------------------------------------------------------------
SALES = {"task": "reports.daily_sales", "crontab": {"minute": "5", "hour": "3"}}
FLUSH = {"task": "maintenance.flush_expired_tokens", "every_seconds": 3600, "kwargs": {"days": 1}}


@pytest.mark.django_db
def test_defaults_are_installed_then_left_alone():
    report = install_default_schedules({"daily sales": SALES, "flush tokens": FLUSH})
    assert report == {"daily sales": "created", "flush tokens": "created"}
    sales = PeriodicTask.objects.get(name="daily sales")
    assert (sales.task, sales.crontab.minute, sales.crontab.hour) == (
        "reports.daily_sales",
        "5",
        "3",
    )
    flush = PeriodicTask.objects.get(name="flush tokens")
    assert (flush.interval.every, flush.interval.period, flush.kwargs) == (
        3600,
        "seconds",
        '{"days": 1}',
    )
    again = install_default_schedules({"daily sales": SALES, "flush tokens": FLUSH})
    assert again == {"daily sales": "unchanged", "flush tokens": "unchanged"}
    assert PeriodicTask.objects.filter(name__in=["daily sales", "flush tokens"]).count() == 2


@pytest.mark.django_db
def test_a_changed_default_updates_an_untouched_entry_but_never_a_staff_edit():
    install_default_schedules({"daily sales": SALES, "flush tokens": FLUSH})
    # Staff moves the flush to every 2 hours in the admin.
    flush = PeriodicTask.objects.get(name="flush tokens")
    flush.interval.every = 7200
    flush.interval.save()

    moved = {**SALES, "crontab": {"minute": "30", "hour": "4"}}
    faster = {**FLUSH, "every_seconds": 600}
    report = install_default_schedules({"daily sales": moved, "flush tokens": faster})
    assert report == {"daily sales": "updated", "flush tokens": "edited by staff, kept"}
    sales = PeriodicTask.objects.get(name="daily sales")
    assert (sales.crontab.minute, sales.crontab.hour) == ("30", "4")
    assert PeriodicTask.objects.get(name="flush tokens").interval.every == 7200


@pytest.mark.django_db
def test_a_disabled_or_deleted_default_stays_so():
    install_default_schedules({"daily sales": SALES, "flush tokens": FLUSH})
    PeriodicTask.objects.filter(name="daily sales").update(enabled=False)
    PeriodicTask.objects.get(name="flush tokens").delete()
    report = install_default_schedules({"daily sales": SALES, "flush tokens": FLUSH})
    assert report == {
        "daily sales": "edited by staff, kept",
        "flush tokens": "deleted by staff, not recreated",
    }
    assert not PeriodicTask.objects.get(name="daily sales").enabled
    assert not PeriodicTask.objects.filter(name="flush tokens").exists()


@pytest.mark.django_db
def test_defaults_are_installed_after_migrate_and_at_beat_start():
    with override_settings(DEFAULT_BEAT_SCHEDULES={"daily sales": SALES}):
        emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
        assert PeriodicTask.objects.filter(name="daily sales").exists()
    with override_settings(DEFAULT_BEAT_SCHEDULES={"flush tokens": FLUSH}):
        signals.beat_init.send(sender=None)
        assert PeriodicTask.objects.filter(name="flush tokens").exists()
    assert (
        InstalledBeatSchedule.objects.filter(name__in=["daily sales", "flush tokens"]).count() == 2
    )
    assert CrontabSchedule.objects.filter(minute="5", hour="3").count() == 1


@pytest.mark.parametrize(
    "entry",
    [
        {"crontab": {"hour": "3"}},
        {"task": "x"},
        {"task": "x", "every_seconds": 60, "crontab": {"hour": "1"}},
        {"task": "x", "crontab": {"hours": "3"}},
        {"task": "x", "every_seconds": 0.5},
    ],
)
def test_a_malformed_default_is_refused(entry):
    with pytest.raises(ImproperlyConfigured):
        install_default_schedules({"broken": entry})


@pytest.mark.django_db
def test_staff_edit_a_default_schedule_in_the_admin_and_it_is_kept(staff_client):
    install_default_schedules({"daily sales": SALES})
    task = PeriodicTask.objects.get(name="daily sales")
    for url in (
        "/admin/django_celery_beat/periodictask/",
        "/admin/django_celery_beat/crontabschedule/",
        "/admin/django_celery_beat/intervalschedule/",
        f"/admin/django_celery_beat/crontabschedule/{task.crontab_id}/change/",
    ):
        assert staff_client.get(url).status_code == 200, url
    page = staff_client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/change/")
    assert page.status_code == 200
    assert b'value="reports.daily_sales"' in page.content  # the task name, in the form

    response = staff_client.post(
        f"/admin/django_celery_beat/periodictask/{task.pk}/change/",
        {
            "name": "daily sales",
            "regtask": "",
            "task": "reports.daily_sales",
            "enabled": "",  # unticked: staff pauses it
            "crontab": task.crontab_id,
            "args": "[]",
            "kwargs": "{}",
            "priority": "",
            "expire_seconds": "",
            "description": "paused during the migration",
            "headers": "{}",
        },
    )
    assert response.status_code == 302, response.content[-3000:]
    assert PeriodicTask.objects.get(pk=task.pk).enabled is False
    assert install_default_schedules({"daily sales": SALES}) == {
        "daily sales": "edited by staff, kept"
    }
