"""Prometheus metrics at /metrics.

Two kinds, collected differently because they live in different processes:
- Per web process: request count (method, route, status) and latency (method, route). Under
  gunicorn each worker process counts its own; with PROMETHEUS_MULTIPROC_DIR set (the production
  image sets it, deploy/gunicorn.conf.py empties it at start and drops dead workers' files) any
  worker answering /metrics sums every worker's files. Without it (runserver, one process) the
  default in-process registry is served.
- Cluster-wide, read at scrape time: task outcomes and runtimes (counted by the workers in Redis,
  so web and worker containers need no shared disk), queue depth per queue and dead-lettered
  messages (from the broker), FailedTask rows by status (database) and replica lag. Every API
  instance reports the same values for these: aggregate them with max(), not sum().

In production /metrics wants `Authorization: Bearer $METRICS_TOKEN`; with no token it is open
only when DEBUG is on.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import connections
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)

from api.celery import app
from api.db_router import PRIMARY, REPLICA, replica_configured
from api.errors import error_response
from api.models import FailedTask
from api.outbox import outbox_backlog

logger = logging.getLogger("api.metrics")

REQUESTS = Counter(
    "emporium_http_requests",
    "HTTP requests answered, by method, route pattern and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "emporium_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route pattern.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# Redis hashes the workers update (field "<task>|<outcome>", "<task>|sum", "<task>|count").
TASKS_KEY = "emporium:metrics:tasks"
TASK_RUNTIME_KEY = "emporium:metrics:task_runtime"
TASK_OUTCOMES = ("succeeded", "retried", "failed", "publish_failed")
UNMATCHED_ROUTE = "<unmatched>"
METRICS_ROUTE = "metrics"


# -- requests -------------------------------------------------------------------------------------
def route_of(request: HttpRequest) -> str:
    """The URL pattern that answered (bounded label values), never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return match.route
    # Answered before URL resolution (api.cached_reads), labelled by the same pattern.
    return getattr(request, "cached_read_route", UNMATCHED_ROUTE)


class MetricsMiddleware:
    """Outermost middleware: counts and times every request, including those that failed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_of(request)
        if route != METRICS_ROUTE:
            method = request.method if request.method in _METHODS else "other"
            REQUESTS.labels(method, route, str(response.status_code)).inc()
            LATENCY.labels(method, route).observe(time.perf_counter() - started)
        return response


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


# -- tasks (called by api.tasks.BaseTask in the workers) ------------------------------------------
def record_task_outcome(name: str, outcome: str, runtime: float | None = None) -> None:
    """Count one task outcome in Redis; never raises (metrics must not fail a task)."""
    try:
        from django_redis import get_redis_connection

        pipe = get_redis_connection("default").pipeline(transaction=False)
        pipe.hincrby(TASKS_KEY, f"{name}|{outcome}", 1)
        if runtime is not None:
            pipe.hincrbyfloat(TASK_RUNTIME_KEY, f"{name}|sum", runtime)
            pipe.hincrby(TASK_RUNTIME_KEY, f"{name}|count", 1)
        pipe.execute()
    except Exception as exc:
        logger.warning("task metric not recorded", extra={"error": repr(exc)[:200]})


# -- cluster-wide values, read at scrape time -----------------------------------------------------
def queue_depths() -> dict[str, int]:
    """Ready messages per task queue and in the dead-letter queue (0 for a queue not declared)."""
    depths: dict[str, int] = {}
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        for name in (*settings.TASK_QUEUE_NAMES, settings.DEAD_LETTER_QUEUE):
            channel = conn.channel()
            try:
                depths[name] = channel.queue_declare(queue=name, passive=True).message_count
            except Exception as exc:
                # A queue nothing was ever sent to does not exist yet (AMQP 404, Redis NOT_FOUND).
                if getattr(exc, "code", None) != 404 and "NOT_FOUND" not in str(exc):
                    raise
                depths[name] = 0
            finally:
                with contextlib.suppress(Exception):  # the broker may have closed it already
                    channel.close()
    return depths


def replica_lag() -> tuple[float, float] | None:
    """How far the replica is behind the primary: (seconds, bytes of WAL); None without one.

    Seconds: since the last transaction the replica replayed, when it has not replayed all the
    primary wrote so far; 0 when it has (an idle primary is not lag).
    """
    if not replica_configured():
        return None
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()")
        primary_lsn = cursor.fetchone()[0]
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(
            "SELECT GREATEST(pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn()), 0),"
            " CASE WHEN pg_last_wal_replay_lsn() >= %s::pg_lsn THEN 0"
            " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END",
            [primary_lsn, primary_lsn],
        )
        behind_bytes, behind_seconds = cursor.fetchone()
    return float(behind_seconds or 0), float(behind_bytes or 0)


class ClusterCollector:
    """Metrics that belong to the whole deployment rather than to this process."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "emporium_metrics_source_up",
            "1 when the source of a group of metrics answered this scrape.",
            labels=["source"],
        )
        for source, collect in (
            ("tasks", self._tasks),
            ("broker", self._queues),
            ("database", self._database),
            ("replica", self._replica),
        ):
            try:
                yield from collect()
                up.add_metric([source], 1)
            except Exception as exc:
                logger.warning(
                    "metrics source down", extra={"source": source, "error": repr(exc)[:300]}
                )
                up.add_metric([source], 0)
        yield up

    def _tasks(self) -> Iterator[Metric]:
        from django_redis import get_redis_connection

        client = get_redis_connection("default")
        outcomes = CounterMetricFamily(
            "emporium_tasks",
            "Task runs by task name and outcome (succeeded, retried, failed).",
            labels=["task", "outcome"],
        )
        for field, value in sorted(client.hgetall(TASKS_KEY).items()):
            task, _, outcome = field.decode().rpartition("|")
            outcomes.add_metric([task, outcome], int(value))
        yield outcomes
        runtimes = SummaryMetricFamily(
            "emporium_task_runtime_seconds",
            "Time spent running tasks, by task name.",
            labels=["task"],
        )
        raw = {key.decode(): value for key, value in client.hgetall(TASK_RUNTIME_KEY).items()}
        for field in sorted(raw):
            task, _, kind = field.rpartition("|")
            if kind == "count":
                runtimes.add_metric(
                    [task], count_value=int(raw[field]), sum_value=float(raw.get(f"{task}|sum", 0))
                )
        yield runtimes

    def _queues(self) -> Iterator[Metric]:
        depths = queue_depths()
        queued = GaugeMetricFamily(
            "emporium_queue_messages", "Messages waiting in each task queue.", labels=["queue"]
        )
        for name in settings.TASK_QUEUE_NAMES:
            queued.add_metric([name], depths[name])
        yield queued
        yield GaugeMetricFamily(
            "emporium_dead_letter_messages",
            "Messages in the RabbitMQ dead-letter queue (always 0 on the Redis broker).",
            value=depths[settings.DEAD_LETTER_QUEUE],
        )

    def _database(self) -> Iterator[Metric]:
        unsent, oldest_age = outbox_backlog()
        yield GaugeMetricFamily(
            "emporium_outbox_unsent",
            "Outbox task messages not published yet (the broker was down, or they wait now).",
            value=unsent,
        )
        yield GaugeMetricFamily(
            "emporium_outbox_oldest_unsent_age_seconds",
            "How long the oldest unpublished outbox message has waited (0: none waits).",
            value=oldest_age,
        )
        counts = dict.fromkeys(FailedTask.Status.values, 0)
        for row in FailedTask.objects.values("status").annotate(n=Count("id")):
            counts[row["status"]] = row["n"]
        family = GaugeMetricFamily(
            "emporium_failed_tasks",
            "FailedTask rows (the dead-letter store) by status; 'failed' ones need a look.",
            labels=["status"],
        )
        for status, count in counts.items():
            family.add_metric([status], count)
        yield family

    def _replica(self) -> Iterator[Metric]:
        lag = replica_lag()
        if lag is not None:
            yield GaugeMetricFamily(
                "emporium_db_replica_lag_seconds",
                "How long ago the read replica replayed what the primary has (0: caught up).",
                value=lag[0],
            )
            yield GaugeMetricFamily(
                "emporium_db_replica_lag_bytes",
                "WAL the primary wrote that the read replica has not replayed yet.",
                value=lag[1],
            )


# -- the view -------------------------------------------------------------------------------------
def metrics_token_presented(request: HttpRequest) -> bool:
    """Whether the request carries `Authorization: Bearer $METRICS_TOKEN` (never without one set);
    /api/health/ready shows its details for it too."""
    token = settings.METRICS_TOKEN
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(credentials.strip().encode(), token.encode())
    )


def _authorized(request: HttpRequest) -> bool:
    if not settings.METRICS_TOKEN:
        return settings.DEBUG
    return metrics_token_presented(request)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _authorized(request):
        return error_response(
            401,
            "not_authenticated",
            "Metrics need a bearer token (METRICS_TOKEN).",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    cluster = CollectorRegistry()
    cluster.register(ClusterCollector())
    # The classic text format: every Prometheus version reads it (our names need no escaping).
    return HttpResponse(body + generate_latest(cluster), content_type=CONTENT_TYPE_PLAIN_0_0_4)
