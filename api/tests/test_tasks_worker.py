"""Real Celery worker processes, on the embedded Redis broker and on RabbitMQ.

Each worker (testing/workers.py) is `python -m celery -A api worker` pointed at the test database
and a broker; the tasks it runs (api/tests/worker_tasks.py) append one record per attempt to a Redis
list, and its JSON log lines go to a file the tests read.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from celery import signals
from django.conf import settings
from django.db import transaction

from api.celery import app, dead_letter_queue
from api.models import FailedTask
from api.tests import worker_tasks
from api.tests.worker_tasks import (
    always_fails_task,
    blocking_task,
    flaky_task,
    record_task,
    report_record_task,
    search_record_task,
)
from testing.workers import Worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


# -- helpers --------------------------------------------------------------------------------------
def records(key: str) -> list[dict]:
    return [json.loads(item) for item in worker_tasks.redis().lrange(key, 0, -1)]


def wait_records(key: str, count: int, seconds: float = 15) -> list[dict]:
    return wait_for(
        lambda: (found := records(key)) and len(found) >= count and found,
        seconds,
        f"{count} run(s) of the task writing {key}",
    )


def new_key() -> str:
    return f"test:worker:{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def log_dir() -> Iterator[Path]:
    path = Path(settings.DATA_DIR) / "test" / f"worker-logs-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    yield path
    if not os.environ.get("KEEP_WORKER_LOGS"):  # set it to read the workers' logs afterwards
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_worker(django_db_setup, log_dir) -> Iterator[Worker]:
    """A prefork worker (2 processes) on the embedded Redis broker, consuming every queue."""
    app.control.purge()  # messages other tests published and nobody consumed
    worker = Worker(log_dir, pool="prefork", concurrency=2)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="module")
def rabbitmq_vhost() -> Iterator[str]:
    """A vhost of its own on the machine's RabbitMQ, deleted afterwards; its amqp:// URL."""
    from conftest import IN_CI, require_service

    base = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
    require_service("RabbitMQ", base)
    # Debian installs it in /usr/sbin, which a non-login PATH may lack.
    search_path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    ctl = shutil.which("rabbitmqctl", path=search_path)
    if ctl is None:
        message = "rabbitmqctl is needed to create a test vhost"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: RabbitMQ tests are required)", pytrace=False)
        pytest.skip(message)
    vhost = f"emporium-test-{uuid.uuid4().hex[:8]}"
    user = urlsplit(base).username or "guest"
    subprocess.run([ctl, "-q", "add_vhost", vhost], check=True, capture_output=True)
    try:
        subprocess.run(
            [ctl, "-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
            check=True,
            capture_output=True,
        )
        yield urlsplit(base)._replace(path="/" + quote(vhost, safe="")).geturl()
    finally:
        subprocess.run([ctl, "-q", "delete_vhost", vhost], check=False, capture_output=True)


@pytest.fixture(scope="module")
def rabbitmq_worker(django_db_setup, log_dir, rabbitmq_vhost) -> Iterator[Worker]:
    worker = Worker(log_dir, broker_url=rabbitmq_vhost)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


def publish_to(url: str, task, *args, **kwargs):
    """apply_async on another broker than the app's (the RabbitMQ test vhost)."""
    with app.connection_for_write(url) as conn:
        return task.apply_async(args, kwargs, connection=conn)


def task_lines(worker: Worker, job_id: str) -> list[dict]:
    return [line for line in worker.lines() if line.get("job_id") == job_id]


# -- on the embedded Redis broker -----------------------------------------------------------------
def test_task_runs_end_to_end_with_its_headers_and_json_logs(redis_worker):
    key = new_key()
    record_task.delay(key, value="hello")
    (run,) = wait_records(key, 1)

    headers = run["headers"]
    assert len(headers["job_id"]) == 32
    assert headers["trace_id"] == headers["job_id"]  # enqueued outside a request: a new trace
    assert datetime.fromisoformat(headers["created_at"]).tzinfo is not None
    assert run["queue"] == "default"

    lines = wait_for(
        lambda: (
            (found := task_lines(redis_worker, headers["job_id"]))
            and any(line["message"] == "task succeeded" for line in found)
            and found
        ),
        5,
        "the task's log lines",
    )
    messages = [line["message"] for line in lines]
    assert messages[0] == "task started"
    assert "test task ran" in messages
    for line in lines:
        assert line["trace_id"] == headers["trace_id"]
    assert {line["task"] for line in lines if line["message"].startswith("task ")} == {
        "maintenance.test_record"
    }
    succeeded = next(line for line in lines if line["message"] == "task succeeded")
    assert succeeded["runtime_ms"] >= 0
    assert succeeded["attempt"] == 1


def test_tasks_are_routed_to_the_queue_their_name_starts_with(redis_worker):
    keys = {task: new_key() for task in (record_task, report_record_task, search_record_task)}
    for task, key in keys.items():
        task.delay(key)
    queues = {task.name: wait_records(key, 1)[0]["queue"] for task, key in keys.items()}
    assert queues == {
        "maintenance.test_record": "default",
        "reports.test_record": "reports",
        "search.index_product.test_record": "search.index_product",
    }


def test_a_failing_task_retries_with_growing_delays_then_succeeds(redis_worker):
    key = new_key()
    flaky_task.delay(key, failures=2)
    runs = wait_records(key, 3)

    assert [run["retries"] for run in runs] == [0, 1, 2]
    assert len({run["headers"]["job_id"] for run in runs}) == 1  # one job across its retries
    assert "first_failed_at" not in runs[0]["headers"]
    assert runs[1]["headers"]["first_failed_at"] == runs[2]["headers"]["first_failed_at"]
    first_gap, second_gap = runs[1]["at"] - runs[0]["at"], runs[2]["at"] - runs[1]["at"]
    # backoff_base 0.4 s with equal jitter: [0.2, 0.4] then [0.4, 0.8] (plus the round trip).
    assert 0.2 <= first_gap < 1.0, first_gap
    assert 0.4 <= second_gap < 1.4, second_gap
    assert second_gap > first_gap

    job_id = runs[0]["headers"]["job_id"]
    lines = wait_for(
        lambda: (
            (found := task_lines(redis_worker, job_id))
            and any(line["message"] == "task succeeded" for line in found)
            and found
        ),
        5,
        "the success line",
    )
    retrying = [line for line in lines if line["message"] == "task retrying"]
    assert [line["attempt"] for line in retrying] == [1, 2]
    assert all(line["error"].startswith("ConnectionError") for line in retrying)
    assert retrying[0]["retry_in_s"] < retrying[1]["retry_in_s"]
    assert not FailedTask.objects.exists()


def test_a_task_that_always_fails_becomes_a_failed_task_the_admin_can_retry(
    redis_worker, client, django_user_model
):
    key = new_key()
    always_fails_task.delay(key)
    failed = wait_for(
        lambda: FailedTask.objects.filter(task_name="maintenance.test_always_fails").first(),
        10,
        "the FailedTask row",
    )
    runs = records(key)
    assert len(runs) == 2  # max_retries=1: two attempts
    assert failed.status == FailedTask.Status.FAILED
    assert failed.attempts == 2
    assert failed.args == [key]
    assert failed.exception == "ValueError: the supplier API said no"
    assert "the supplier API said no" in failed.traceback
    assert failed.job_id == runs[0]["headers"]["job_id"]
    assert failed.queue == "default"
    assert failed.first_failed_at <= failed.last_failed_at

    # The supplier is back; staff retries the job from the admin.
    worker_tasks.redis().set(f"{key}:fixed", "1")
    staff = django_user_model.objects.create_superuser("ops@example.com", "a-long-Passphrase-9")
    client.force_login(staff)
    response = client.post(
        "/admin/api/failedtask/",
        {"action": "retry_selected", "_selected_action": [failed.pk]},
    )
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.retry_count == 1
    assert failed.retried_by == staff

    wait_for(
        lambda: FailedTask.objects.filter(pk=failed.pk, status="resolved").exists(),
        10,
        "the retried job to succeed",
    )
    rerun = records(key)[-1]
    assert rerun["headers"]["job_id"] == failed.job_id
    assert rerun["headers"]["failed_task_id"] == failed.pk
    assert rerun["retries"] == 0  # a fresh set of attempts


def test_rolled_back_transaction_publishes_nothing_and_a_commit_publishes_once(redis_worker):
    key = new_key()
    published = []

    def count(sender=None, body=None, **_):
        if body and body[0] and body[0][0] == key:
            published.append(body[1].get("value"))

    signals.after_task_publish.connect(count, weak=False)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            record_task.delay_on_commit(key, value="rolled back")
            assert published == []  # nothing leaves before the commit
            raise RuntimeError("payment declined")
        with transaction.atomic():
            record_task.delay_on_commit(key, value="committed")
            assert published == []
    finally:
        signals.after_task_publish.disconnect(count)
    assert published == ["committed"]

    wait_records(key, 1)
    time.sleep(0.5)  # long enough for a second message to have been run
    assert [run["value"] for run in records(key)] == ["committed"]


@pytest.mark.urls("api.tests.worker_tasks")
def test_the_trace_id_of_a_request_reaches_the_task_and_its_log_lines(redis_worker, client):
    key = new_key()
    response = client.get(f"/enqueue?key={key}", HTTP_X_TRACE_ID="trace-from-checkout")
    assert response.status_code == 202
    job_id = response.json()["job_id"]

    (run,) = wait_records(key, 1)
    assert run["headers"]["trace_id"] == "trace-from-checkout"
    assert run["headers"]["job_id"] == job_id
    assert run["trace_id_in_context"] == "trace-from-checkout"

    line = wait_for(
        lambda: next(
            (x for x in task_lines(redis_worker, job_id) if x["message"] == "test task ran"), None
        ),
        5,
        "the task's own log line",
    )
    assert line["trace_id"] == "trace-from-checkout"
    assert line["level"] == "info"


def test_a_task_enqueued_by_a_task_continues_the_trace_in_a_new_job(redis_worker):
    parent_key, child_key = new_key(), new_key()
    record_task.delay(parent_key, value="parent", then=child_key)
    (parent,) = wait_records(parent_key, 1)
    (child,) = wait_records(child_key, 1)
    assert child["headers"]["trace_id"] == parent["headers"]["trace_id"]
    assert child["headers"]["job_id"] != parent["headers"]["job_id"]


def test_a_pool_process_killed_mid_task_gets_the_task_redelivered(redis_worker):
    key = new_key()
    blocking_task.delay(key)
    (first,) = wait_records(key, 1)
    assert first["first"] is True
    os.kill(first["pid"], signal.SIGKILL)  # the OOM killer, say

    done = wait_for(lambda: worker_tasks.redis().lrange(f"{key}:done", 0, -1), 15, "completion")
    runs = records(key)
    assert len(runs) == 2
    assert runs[1]["task_id"] == first["task_id"]  # the same message, delivered again
    assert runs[1]["retries"] == 0  # not a retry: the message was requeued
    assert int(done[0]) == runs[1]["pid"] != first["pid"]
    assert not FailedTask.objects.exists()


# -- on RabbitMQ ----------------------------------------------------------------------------------
def test_rabbitmq_worker_killed_mid_task_the_message_is_redelivered(
    request, log_dir, rabbitmq_vhost
):
    doomed = Worker(log_dir, broker_url=rabbitmq_vhost)
    try:
        doomed.wait_ready()
        key = new_key()
        publish_to(rabbitmq_vhost, blocking_task, key)
        (first,) = wait_records(key, 1)
        doomed.kill()
    finally:
        doomed.stop()

    request.getfixturevalue("rabbitmq_worker")  # a new worker takes over
    wait_for(lambda: worker_tasks.redis().lrange(f"{key}:done", 0, -1), 20, "completion")
    runs = records(key)
    assert len(runs) == 2
    assert runs[1]["task_id"] == first["task_id"]
    assert runs[1]["redelivered"] is True  # RabbitMQ says so: the first delivery was never acked


def test_rabbitmq_task_runs_end_to_end(rabbitmq_worker, rabbitmq_vhost):
    key = new_key()
    publish_to(rabbitmq_vhost, report_record_task, key)
    (run,) = wait_records(key, 1)
    assert run["queue"] == "reports"
    assert len(run["headers"]["job_id"]) == 32


def test_rabbitmq_exhausted_task_is_dead_lettered_and_recorded(rabbitmq_worker, rabbitmq_vhost):
    key = new_key()
    publish_to(rabbitmq_vhost, always_fails_task, key)
    failed = wait_for(
        lambda: FailedTask.objects.filter(args=[key]).first(), 10, "the FailedTask row"
    )

    def dead_lettered():
        with app.connection_for_read(rabbitmq_vhost) as conn:
            return dead_letter_queue()(conn.channel()).get(no_ack=True)

    message = wait_for(dead_lettered, 10, "the dead-lettered message")
    assert message.headers["job_id"] == failed.job_id
    assert message.headers["task"] == "maintenance.test_always_fails"
    death = message.headers["x-death"][0]
    assert death["queue"] == "default"
    assert death["reason"] == "rejected"
    args, _, _ = message.decode()
    assert args == [key]
