"""Until its database is migrated, the process answers 503 `starting` instead of failing.

A process that starts beside `migrate` (scripts/dev.sh runs the API while it migrates and seeds;
a rolling deploy may start new code before its migration ran) would otherwise serve 500s about
missing columns and call itself ready. The flow:

1. The first request asks the database which of the process's own migrations are not applied
   (one query on django_migrations, compared with the migration files the process was given).
2. While any is missing (or the database does not answer), every route but the health probes,
   static files and media answers 503 with `Retry-After`: `{"code": "starting", ...}` for API
   clients, a short page that reloads itself in the admin. The question is asked again at most
   every CHECK_INTERVAL seconds, however many requests arrive.
3. Once everything is applied the answer is kept for the life of the process: no cost per
   request after that. /api/health/ready reports the pending migrations as its `migrations` check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, ProgrammingError, connections
from django.db.migrations.loader import MigrationLoader
from django.http import HttpRequest, HttpResponse

from api.errors import error_response

CHECK_INTERVAL = 0.5
RETRY_AFTER_SECONDS = 2
# Routes that work (or say why they do not) without a migrated database.
UNGATED_PREFIXES = ("/api/health/", "/static/", "/media/")
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="{wait}">
<title>Emporium is starting</title></head>
<body style="font-family: sans-serif; margin: 4rem auto; max-width: 36rem">
<h1>Emporium is starting</h1><p>{reason} This page reloads in {wait} seconds.</p></body></html>
"""


class MigrationState:
    """Whether this process's migrations are all applied: asked rarely, remembered once true."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._migrated = False
        self._checked_at = float("-inf")
        self._reason = "The database has not been checked yet."

    @property
    def migrated(self) -> bool:
        return self._migrated

    def pending_reason(self) -> str | None:
        """None once migrated; otherwise why the process is not ready (re-checked if stale)."""
        if self._migrated:
            return None
        with self._lock:
            if not self._migrated and time.monotonic() - self._checked_at >= CHECK_INTERVAL:
                self._reason = self._check()
                self._migrated = self._reason is None
                self._checked_at = time.monotonic()
            return self._reason

    def reset(self) -> None:
        """Forget the answer (tests that migrate a database while a process runs)."""
        with self._lock:
            self._migrated, self._checked_at = False, float("-inf")

    @staticmethod
    def _check() -> str | None:
        pending = pending_migrations()
        if pending is None:
            return "The database does not answer yet."
        if not pending:
            return None
        return (
            f"{len(pending)} database migration(s) not applied yet "
            f"(next: {pending[0][0]}.{pending[0][1]})."
        )


def pending_migrations() -> list[tuple[str, str]] | None:
    """This code's migrations the database has not applied, in order; None if it does not answer.

    Read on a connection of its own, closed at once, with one raw query: the request's connection,
    its transaction and its query count stay as they were (the ORM would use the request's).
    """
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    connection = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT app, name FROM django_migrations")
            applied = set(cursor.fetchall())
    except ProgrammingError:  # no django_migrations table: nothing applied yet
        applied = set()
    except DatabaseError:
        return None
    finally:
        connection.close()
    ordered = dict.fromkeys(key for leaf in graph.leaf_nodes() for key in graph.forwards_plan(leaf))
    pending = []
    for key in ordered:
        replaces = graph.nodes[key].replaces  # a squashed migration counts once its parts are in
        if key not in applied and not (replaces and set(replaces) <= applied):
            pending.append(key)
    return pending


state = MigrationState()


class StartupGateMiddleware:
    """503 `starting` for every gated route until `state` says the database is migrated."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not settings.STARTUP_GATE:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if state.migrated or request.path.startswith(UNGATED_PREFIXES):
            return self.get_response(request)
        reason = state.pending_reason()
        if reason is None:
            return self.get_response(request)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if request.path.startswith("/admin/"):
            page = PAGE.format(wait=RETRY_AFTER_SECONDS, reason=reason)
            return HttpResponse(page, status=503, headers=headers)
        return error_response(
            503,
            "starting",
            f"The service is starting: {reason} Retry shortly.",
            details={"retry_after": RETRY_AFTER_SECONDS},
            headers=headers,
        )
