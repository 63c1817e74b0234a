"""Liveness and readiness: ready names each dependency and answers 503 when one is down."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import connections
from django_redis import get_redis_connection
from ninja import Schema, Status
from ninja_extra import api_controller, route

from api import startup
from api.celery import app as celery_app
from api.controllers import ApiController
from search.backends import get_backend

logger = logging.getLogger("api.health")


class LiveOut(Schema):
    status: str


class CheckOut(Schema):
    status: str
    latency_ms: float
    error: str | None = None


class ReadyOut(Schema):
    status: str
    checks: dict[str, CheckOut]


def check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


class NotMigrated(Exception):
    pass


def check_migrations() -> None:
    reason = startup.state.pending_reason()
    if reason:
        raise NotMigrated(reason)


def check_cache() -> None:
    get_redis_connection("default").ping()


def check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)


def check_search() -> None:
    get_backend().ping()


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "migrations": check_migrations,
    "cache": check_cache,
    "broker": check_broker,
    "search": check_search,
}


def run_checks() -> dict[str, CheckOut]:
    results = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        error = None
        try:
            check()
        except Exception as exc:  # a readiness probe reports every failure, whatever its kind
            error = f"{type(exc).__name__}: {exc}"[:300]
            logger.warning("readiness check failed", extra={"check": name, "error": error})
        results[name] = CheckOut(
            status="down" if error else "ok",
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            error=error,
        )
    return results


@api_controller("/health", tags=["health"], auth=None)
class HealthController(ApiController):
    @route.get("/live", response={200: LiveOut}, summary="The process answers")
    def live(self):
        return Status(200, {"status": "ok"})

    @route.get(
        "/ready",
        response={200: ReadyOut, 503: ReadyOut},
        summary="Database (and its migrations), cache, broker and search backend, one by one",
    )
    def ready(self):
        checks = run_checks()
        down = any(check.status != "ok" for check in checks.values())
        return Status(503 if down else 200, {"status": "down" if down else "ok", "checks": checks})
