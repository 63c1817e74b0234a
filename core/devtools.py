"""Development aid: print every SQL query of a request with its time (runserver_dev --print-sql)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import connections
from django.http import HttpRequest, HttpResponse


class PrintSqlMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not getattr(settings, "PRINT_SQL", False):
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        queries: list[tuple[str, str, float]] = []

        def record(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                elapsed = (time.perf_counter() - started) * 1000
                conn = context["connection"]
                try:
                    text = conn.ops.last_executed_query(context["cursor"], sql, params)
                except Exception:  # a dev aid never breaks the request it describes
                    text = sql
                queries.append((conn.alias, str(text), elapsed))

        wrappers = [conn.execute_wrapper(record) for conn in connections.all()]
        started = time.perf_counter()
        for wrapper in wrappers:
            wrapper.__enter__()
        try:
            response = self.get_response(request)
        finally:
            for wrapper in reversed(wrappers):
                wrapper.__exit__(None, None, None)
        total = (time.perf_counter() - started) * 1000
        sql_ms = sum(q[2] for q in queries)
        lines = [
            f"\n-- {request.method} {request.get_full_path()} -> {response.status_code}: "
            f"{len(queries)} queries, {sql_ms:.1f} ms SQL of {total:.1f} ms"
        ]
        for number, (alias, sql, elapsed) in enumerate(queries, 1):
            lines.append(f"  [{number}] {elapsed:7.2f} ms {alias}: {sql}")
        sys.stderr.write("\n".join(lines) + "\n")
        return response
