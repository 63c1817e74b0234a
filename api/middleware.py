"""Request id, trace id and the access log line; JSON bodies for errors Django renders itself;
the admin's own middleware run for the admin only."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

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
        # META, not request.headers: that mapping of every header is built on first use.
        meta = request.META
        request_id = context.sane_id(meta.get("HTTP_X_REQUEST_ID")) or context.new_id()
        trace_id = (
            context.trace_id_from_headers(meta.get("HTTP_TRACEPARENT"), meta.get("HTTP_X_TRACE_ID"))
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


ADMIN_PREFIX = "/admin/"


def is_admin(request: HttpRequest) -> bool:
    return request.path.startswith(ADMIN_PREFIX)


def wants_json(request: HttpRequest) -> bool:
    # The admin keeps Django's HTML pages; everything else is an API client.
    return not is_admin(request)


class AdminMiddleware:
    """Runs settings.ADMIN_MIDDLEWARE (sessions, CSRF, authentication, messages, clickjacking)
    around the admin's pages only, in their order, as if they were listed in MIDDLEWARE.

    API routes authenticate with bearer tokens, set no cookie and render no page, so these would
    only cost them time (about 50 us of a worker's CPU per request, docs/benchmarks.md); the
    request id, the access log line, metrics, CORS and the rate limiter stay in MIDDLEWARE for
    every route. Code that reads request.user on an API route finds an anonymous user until a
    bearer token names one, as a request without a session cookie did.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.view_hooks: list[Callable] = []
        self.exception_hooks: list[Callable] = []
        self.template_response_hooks: list[Callable] = []
        handler = get_response
        for path in reversed(settings.ADMIN_MIDDLEWARE):
            try:
                middleware = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            # Django's handler orders these hooks the same way (BaseHandler.load_middleware).
            if hasattr(middleware, "process_view"):
                self.view_hooks.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self.template_response_hooks.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self.exception_hooks.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self.admin_handler = handler

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_admin(request):
            return self.admin_handler(request)
        request.user = AnonymousUser()
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs) -> HttpResponse | None:
        if is_admin(request):
            for hook in self.view_hooks:
                response = hook(request, view_func, view_args, view_kwargs)
                if response is not None:
                    return response
        return None

    def process_template_response(self, request, response):
        if is_admin(request):
            for hook in self.template_response_hooks:
                response = hook(request, response)
        return response

    def process_exception(self, request, exception) -> HttpResponse | None:
        if is_admin(request):
            for hook in self.exception_hooks:
                response = hook(request, exception)
                if response is not None:
                    return response
        return None


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
