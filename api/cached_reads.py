"""Warm reads answered before URL resolution and the view (docs/architecture.md §7).

A warm catalog answer is bytes in Redis: the view's own work is one round trip. Yet reaching the
view costs more than that: URL resolution, Ninja's parameter validation and its response. So for
the routes listed in settings.CACHED_READS this middleware, the innermost one, tries the cache
first:

1. a CachedRead whose `pattern` matches the path (GET only) parses the request and asks its
   `answer` for the stored bytes (for the catalog: products/catalog_pages.py, the same key and
   version tokens the view uses; the request's deferred rate limit counted in that round trip);
2. fresh bytes are the answer, as the view would have returned them (same body, same type),
   labelled with the route's URL pattern for the metrics;
3. anything else (a miss, a stale entry, no entry for these parameters, a cache error) falls
   through to the view unchanged. The miss's read is kept for the request (api.cache.probe_scope),
   so the view does not repeat the round trip.

It is exact, not a second cache: an entry exists only once the view validated those parameters
and built it, and it is served only while its version tokens are current. Every other middleware
(request id, access log, metrics, CORS, the startup gate, the rate limiter, security headers) has
already run around it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import resolve
from django.utils.module_loading import import_string

from api import cache
from api.errors import RateLimited, exception_response

logger = logging.getLogger("api.cached_reads")


@dataclass
class CachedRead:
    """One route the middleware may answer: `answer(request, match)` returns the stored bytes of
    a fresh entry, or None to let the view answer."""

    pattern: re.Pattern[str]
    answer: Callable[[HttpRequest, re.Match[str]], bytes | None]
    content_type: str = "application/json"
    # The URL pattern the resolver names this route by, read once (the metrics' label).
    route: str | None = field(default=None, init=False)

    def route_of(self, path: str) -> str:
        if self.route is None:
            self.route = resolve(path).route
        return self.route


def cached_reads() -> list[CachedRead]:
    reads: list[CachedRead] = []
    for path in settings.CACHED_READS:
        reads.extend(import_string(path))
    return reads


class CachedReadMiddleware:
    """Answers a fresh cached read of settings.CACHED_READS without the view (module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.reads = cached_reads()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "GET":
            return self.get_response(request)
        path = request.path_info
        for read in self.reads:
            match = read.pattern.match(path)
            if match is not None:
                return self._answer(request, read, match)
        return self.get_response(request)

    def _answer(self, request: HttpRequest, read: CachedRead, match: re.Match) -> HttpResponse:
        with cache.probe_scope():
            try:
                body = read.answer(request, match)
            except RateLimited as error:  # counted in the read
                return exception_response(request, error)
            except Exception:
                logger.exception("cached read failed", extra={"path": request.path_info})
                body = None
            if body is None:
                return self.get_response(request)
        request.cached_read_route = read.route_of(request.path_info)
        return HttpResponse(body, content_type=read.content_type)
