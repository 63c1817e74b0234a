"""Request id, trace id and the access log line; JSON bodies for errors Django renders itself."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from api import context
from api.errors import error_response

access_logger = logging.getLogger("api.access")


def _user_id(request: HttpRequest) -> int | None:
    for attribute in ("auth", "user"):
        user = getattr(request, attribute, None)
        if getattr(user, "is_authenticated", False):
            return user.pk
    return context.user_id_var.get()


class RequestContextMiddleware:
    """Gives every request an X-Request-ID and a trace id, and logs one JSON line for it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = context.sane_id(request.headers.get("X-Request-ID")) or context.new_id()
        trace_id = (
            context.trace_id_from_headers(
                request.headers.get("traceparent"), request.headers.get("X-Trace-ID")
            )
            or request_id
        )
        request.request_id = request_id
        tokens = (
            context.request_id_var.set(request_id),
            context.trace_id_var.set(trace_id),
            context.user_id_var.set(None),
        )
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            response["X-Trace-ID"] = trace_id
            status = response.status_code
            access_logger.log(
                logging.ERROR if status >= 500 else logging.INFO,
                "request",
                extra={
                    "user_id": _user_id(request),
                    "method": request.method,
                    "path": request.path,
                    "status_code": status,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response
        finally:
            for var, token in zip(
                (context.request_id_var, context.trace_id_var, context.user_id_var),
                tokens,
                strict=True,
            ):
                var.reset(token)


def wants_json(request: HttpRequest) -> bool:
    # The admin keeps Django's HTML pages; everything else is an API client.
    return not request.path.startswith("/admin/")


class JsonErrorMiddleware:
    """Re-renders error responses that are not already JSON (405 from Ninja, 400 from Django)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or not wants_json(request):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        details = {}
        if response.status_code == 405 and response.has_header("Allow"):
            details["allowed_methods"] = [m.strip() for m in response["Allow"].split(",")]
        rendered = error_response(response.status_code, details=details)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if response.has_header(header):
                rendered[header] = response[header]
        return rendered
