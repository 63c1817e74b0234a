"""The transactional outbox (api/outbox.py): a task message commits with its change, is relayed
after the commit, survives a broker outage and a process killed in between, and one row is
never published twice."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api import outbox
from api.models import OutboxMessage
from search.tasks import search_index_product_task
from testing import servers

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    """What reaches the broker: (task name, args, task id) per publish, in order."""
    sent: list[tuple[str, list, str]] = []
    lock = threading.Lock()

    def record(name, *, args=(), task_id=None, **options):
        with lock:
            sent.append((name, list(args), task_id))

    monkeypatch.setattr(outbox.app, "send_task", record)
    return sent


def test_a_message_commits_with_its_change_and_is_sent_right_after(
    published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        search_index_product_task.delay_on_commit([7])
        assert published == []  # nothing leaves before the commit
    row = OutboxMessage.objects.get()
    assert published == [("search.index_product", [[7]], f"outbox-{row.pk}")]
    assert row.sent_at is not None and row.headers["job_id"]


def test_the_writer_publishes_its_row_with_one_statement_and_beat_leaves_it_alone(
    published, django_capture_on_commit_callbacks
):
    """After the commit: the publish and one UPDATE, no read, lock or transaction of its own
    (a checkout pays for this with every order)."""
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        search_index_product_task.delay_on_commit([7])
    row = OutboxMessage.objects.get()
    assert row.available_at > timezone.now()  # the writer's during the handoff
    assert outbox.outbox_relay() == outbox.RelayReport(sent=0, failed=0)
    with CaptureQueriesContext(connection) as queries:
        for callback in callbacks:
            callback()
    assert [q["sql"].split()[0] for q in queries] == ["UPDATE"]
    assert published == [("search.index_product", [[7]], f"outbox-{row.pk}")]
    row.refresh_from_db()
    assert row.sent_at is not None
    assert outbox.outbox_relay() == outbox.RelayReport(sent=0, failed=0)  # sent: never again


def test_a_change_that_rolls_back_leaves_no_message(published, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks(execute=True)
    with capture, pytest.raises(ZeroDivisionError), transaction.atomic():
        search_index_product_task.delay_on_commit([7])
        1 / 0  # noqa: B018 - the change fails after the message was written
    assert not OutboxMessage.objects.exists()
    assert published == []


def test_a_refused_publish_waits_for_its_backoff_then_goes_once(
    monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(outbox.app, "send_task", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        search_index_product_task.delay_on_commit([7])
    row = OutboxMessage.objects.get()
    assert (row.sent_at, row.attempts) == (None, 1)
    assert row.available_at > timezone.now()
    assert outbox.outbox_relay() == outbox.RelayReport(sent=0, failed=0)  # not due yet

    sent = []
    monkeypatch.setattr(outbox.app, "send_task", lambda name, **kw: sent.append(name))
    OutboxMessage.objects.update(available_at=timezone.now() - timedelta(seconds=1))
    assert outbox.outbox_relay() == outbox.RelayReport(sent=1, failed=0)
    assert outbox.outbox_relay() == outbox.RelayReport(sent=0, failed=0)
    assert sent == ["search.index_product"]


def test_the_backlog_is_counted_for_metrics_and_sent_rows_are_pruned(published):
    now = timezone.now()
    OutboxMessage.objects.create(task_name="a", headers={}, created_at=now - timedelta(minutes=5))
    OutboxMessage.objects.create(
        task_name="b",
        headers={},
        created_at=now - timedelta(days=30),
        sent_at=now - timedelta(days=30),
    )
    count, age = outbox.outbox_backlog()
    assert count == 1 and 299 <= age <= 330
    assert outbox.outbox_prune() == 1
    assert list(OutboxMessage.objects.values_list("task_name", flat=True)) == ["a"]


def test_metrics_and_the_admin_show_what_waits(published, client, settings, django_user_model):
    settings.METRICS_TOKEN = "t" * 32
    OutboxMessage.objects.create(
        task_name="maintenance.payment_refund",
        headers={},
        created_at=timezone.now() - timedelta(minutes=3),
        attempts=4,
        last_error="ConnectionRefusedError: broker down",
    )
    scraped = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {'t' * 32}").content.decode()
    assert "emporium_outbox_unsent 1.0" in scraped
    age = next(
        float(line.split()[-1])
        for line in scraped.splitlines()
        if line.startswith("emporium_outbox_oldest_unsent_age_seconds")
    )
    assert 179 <= age <= 240

    admin = Client()
    admin.force_login(django_user_model.objects.create_superuser("ops@example.com", "x-Pass-99"))
    page = admin.get("/admin/api/outboxmessage/?sent=no").content.decode()
    assert "maintenance.payment_refund" in page and "broker down" in page and "3" in page


@pytest.mark.django_db(transaction=True)
def test_concurrent_relays_publish_every_row_exactly_once(published):
    OutboxMessage.objects.bulk_create(
        OutboxMessage(task_name="search.index_product", args=[[n]], headers={}) for n in range(300)
    )
    barrier = threading.Barrier(4)

    def relay():
        barrier.wait(timeout=10)
        try:
            outbox.outbox_relay(limit=25)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ids = [task_id for _, _, task_id in published]
    assert len(ids) == 300 and len(set(ids)) == 300
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()


KILLED_BETWEEN_COMMIT_AND_PUBLISH = """
import os
import django
django.setup()
from django.db import transaction
from search.tasks import search_index_product_task

with transaction.atomic():
    # Registered first, so it runs first once the change commits: the process dies before the
    # relay that would publish the message (as a SIGKILL or an OOM kill would).
    transaction.on_commit(lambda: os._exit(9))
    search_index_product_task.delay_on_commit([42])
"""


@pytest.mark.django_db(transaction=True)
def test_a_process_killed_between_commit_and_publish_leaves_the_message_to_the_relay(published):
    child = subprocess.run(
        [sys.executable, "-c", KILLED_BETWEEN_COMMIT_AND_PUBLISH],
        cwd=settings.BASE_DIR,
        env=servers.test_database_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 9, child.stderr[-2000:]
    row = OutboxMessage.objects.get()
    assert (row.args, row.sent_at) == ([[42]], None)  # committed, never published

    # Beat's relay (another process) leaves it to its writer for the handoff, then sends it.
    handoff = timedelta(seconds=settings.OUTBOX_HANDOFF_SECONDS)
    assert row.available_at - row.created_at == handoff
    assert outbox.outbox_relay().sent == 0
    OutboxMessage.objects.update(available_at=timezone.now() - timedelta(seconds=1))
    assert outbox.outbox_relay().sent == 1
    assert published == [("search.index_product", [[42]], f"outbox-{row.pk}")]
