"""Liveness and readiness: ready checks each dependency and answers 503 when one is down.

1. `/api/health/live` answers 200 while the process answers: no check, no limit, no gate.
2. `/api/health/ready` runs every check (database, its migrations, cache, broker, search) and
   answers 200 `ok` or 503 `down`: all a probe needs.
3. Who sees why: anyone gets `{"status": ...}` only. The metrics token
   (`Authorization: Bearer $METRICS_TOKEN`) or a staff access token adds each check with its
   latency and, when it is down, a short reason (the exception's type and first line; the log has
   it whole). Without METRICS_TOKEN and with DEBUG on, as for /metrics, everyone sees them.
4. Anonymous callers are limited per address (HEALTH_READY_RATE, 429 beyond), except from
   HEALTH_PROBE_NETWORKS (the host's own healthcheck, container networks, orchestrator nodes):
   a probe is never refused. The general limit is off for the health group (RATE_LIMITS).
5. The broker check's answer is kept HEALTH_BROKER_CHECK_SECONDS per process, so a flood of calls
   opens one broker connection per interval, not one per call.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connections
from django.http import HttpRequest
from django_redis import get_redis_connection
from ninja import Schema, Status
from ninja_extra import api_controller, route
from redis.exceptions import RedisError

from api import ratelimit, startup
from api.auth import JWTAuth
from api.celery import app as celery_app
from api.controllers import ApiController, error_responses
from api.errors import NotAuthenticated, RateLimited
from api.metrics import metrics_token_presented
from search.backends import get_backend

logger = logging.getLogger("api.health")

REASON_MAX_LENGTH = 200


class LiveOut(Schema):
    status: str


class CheckOut(Schema):
    status: str
    latency_ms: float
    error: str | None = None


class ReadyOut(Schema):
    """What anyone sees: ok or down."""

    status: str


class ReadyDetailsOut(Schema):
    """What the metrics token or a staff token sees: each check, and why one is down."""

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


def broker_connect() -> None:
    """Open a connection to the broker and close it: the broker answers."""
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)


class BrokerCheck:
    """broker_connect's answer, asked at most every HEALTH_BROKER_CHECK_SECONDS per process;
    callers during a check wait for it rather than open their own connection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._error: Exception | None = None

    def __call__(self) -> None:
        with self._lock:
            if time.monotonic() - self._checked_at >= settings.HEALTH_BROKER_CHECK_SECONDS:
                try:
                    broker_connect()
                    self._error = None
                except Exception as exc:  # whatever the transport raises, the broker is down
                    self._error = exc
                self._checked_at = time.monotonic()
            error = self._error
        if error is not None:
            raise error.with_traceback(None)

    def reset(self) -> None:
        """Forget the answer (tests that take the broker away)."""
        with self._lock:
            self._checked_at, self._error = float("-inf"), None


check_broker = BrokerCheck()


def check_search() -> None:
    get_backend().ping()


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "migrations": check_migrations,
    "cache": check_cache,
    "broker": check_broker,
    "search": check_search,
}


def reason(exc: Exception) -> str:
    """For operators: the exception's type and the first line of its message, cut short."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text[:REASON_MAX_LENGTH]


def run_checks() -> dict[str, CheckOut]:
    results = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        error = None
        try:
            check()
        except Exception as exc:  # a readiness probe reports every failure, whatever its kind
            error = reason(exc)
            logger.warning(
                "readiness check failed",
                extra={"check": name, "error": f"{type(exc).__name__}: {exc}"[:2000]},
            )
        results[name] = CheckOut(
            status="down" if error else "ok",
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            error=error,
        )
    return results


# -- who is asking ---------------------------------------------------------------------------------
def details_allowed(request: HttpRequest) -> bool:
    """The metrics token, or an active staff user's access token (or DEBUG without a token)."""
    if settings.DEBUG and not settings.METRICS_TOKEN:
        return True
    if metrics_token_presented(request):
        return True
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    try:
        user = JWTAuth().authenticate(request, token.strip())
    except NotAuthenticated:  # a bad token is only a stranger here: probes must not get a 401
        return False
    return user.is_active and user.is_staff


@functools.cache
def _networks(
    texts: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(text.strip(), strict=False) for text in texts)


def from_probe_network(request: HttpRequest) -> bool:
    address = ratelimit.client_address(request)
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in _networks(tuple(settings.HEALTH_PROBE_NETWORKS)))


def stranger_limit(request: HttpRequest) -> None:
    """Count an anonymous call from outside the probe networks; RateLimited when exhausted.
    Fails open without Redis (the cache check then says why)."""
    if not settings.HEALTH_READY_RATE or from_probe_network(request):
        return
    # An action's key, not the health group's: RATE_LIMITS may limit that group on its own.
    key = ratelimit.key_for("a", "health_ready", "ip", ratelimit.client_ip(request))
    try:
        result = ratelimit.hit([(key, ratelimit.Rate.parse(settings.HEALTH_READY_RATE))])
    except RedisError:
        return
    if not result.allowed:
        raise RateLimited(result.retry_after)


@api_controller("/health", tags=["health"], auth=None)
class HealthController(ApiController):
    @route.get("/live", response={200: LiveOut}, summary="The process answers")
    def live(self):
        return Status(200, {"status": "ok"})

    @route.get(
        "/ready",
        response={
            200: ReadyDetailsOut | ReadyOut,
            503: ReadyDetailsOut | ReadyOut,
            **error_responses(429),
        },
        summary="Database (and its migrations), cache, broker and search backend, one by one",
        description="Anyone gets the status; the metrics token or a staff access token gets each "
        "check too. Anonymous callers are rate limited, probes from HEALTH_PROBE_NETWORKS not.",
    )
    def ready(self):
        request = self.context.request
        details = details_allowed(request)
        if not details:
            stranger_limit(request)
        checks = run_checks()
        down = any(check.status != "ok" for check in checks.values())
        status, code = ("down", 503) if down else ("ok", 200)
        if details:
            return Status(code, ReadyDetailsOut(status=status, checks=checks))
        return Status(code, ReadyOut(status=status))
