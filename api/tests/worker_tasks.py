"""Tasks that only the worker tests use (the test worker imports this module with -I).

Each run appends one JSON record to a Redis list named by the test, so a test can see every
attempt: when it ran, in which process, with which headers and delivery flags.
"""

from __future__ import annotations

import json
import logging
import os
import time

from celery import shared_task
from django.urls import path
from django_redis import get_redis_connection

from api import context

logger = logging.getLogger("api.tests.worker_tasks")


def redis():
    return get_redis_connection("default")


def record(task, key: str, **extra) -> int:
    """Append this attempt to the list `key`; the number of attempts so far, this one included."""
    entry = {
        "task_id": task.request.id,
        "retries": task.request.retries,
        "pid": os.getpid(),
        "at": time.time(),
        "headers": task.request.headers or {},
        "queue": (task.request.delivery_info or {}).get("routing_key"),
        "redelivered": bool((task.request.delivery_info or {}).get("redelivered")),
        "trace_id_in_context": context.trace_id_var.get(),
        **extra,
    }
    return redis().rpush(key, json.dumps(entry))


@shared_task(name="maintenance.test_record", bind=True)
def record_task(self, key: str, value: str = "", then: str | None = None) -> str:
    record(self, key, value=value)
    logger.info("test task ran", extra={"value": value})
    if then:
        # A task enqueued by a task: same trace, its own job.
        record_task.delay(then, value=f"child of {value}")
    return value


@shared_task(name="reports.test_record", bind=True)
def report_record_task(self, key: str) -> None:
    record(self, key)


@shared_task(name="search.index_product.test_record", bind=True)
def search_record_task(self, key: str) -> None:
    record(self, key)


@shared_task(name="maintenance.test_flaky", bind=True, backoff_base=0.4)
def flaky_task(self, key: str, failures: int) -> str:
    if record(self, key) <= failures:
        raise ConnectionError(f"attempt {self.request.retries + 1} fails on purpose")
    return "finally"


@shared_task(name="maintenance.test_always_fails", bind=True, max_retries=1, backoff_base=0.1)
def always_fails_task(self, key: str) -> str:
    record(self, key)
    if not redis().get(f"{key}:fixed"):
        raise ValueError("the supplier API said no")
    return "fixed"


@shared_task(name="maintenance.test_blocking", bind=True)
def blocking_task(self, key: str) -> str:
    """The first delivery blocks (to be killed); the next one completes."""
    first = redis().set(f"{key}:claimed", "1", nx=True)
    record(self, key, first=bool(first))
    if first:
        time.sleep(60)
    redis().rpush(f"{key}:done", os.getpid())
    return "completed"


def enqueue_view(request):
    """A request that enqueues a task after its (auto)commit, as a controller would."""
    from django.http import JsonResponse

    job_id = record_task.delay_on_commit(request.GET["key"], value="from a request")
    return JsonResponse({"job_id": job_id}, status=202)


urlpatterns = [path("enqueue", enqueue_view)]
