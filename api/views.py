"""Views outside the Ninja API: JSON error handlers for Django's own errors, and ReDoc."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import defaults
from ninja.openapi.docs import Redoc

from api.api import api
from api.errors import error_response, unhandled_response
from api.middleware import wants_json


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not wants_json(request):
        return defaults.page_not_found(request, exception)
    return error_response(404, "not_found", f"No route matches {request.path}.")


def server_error(request: HttpRequest) -> HttpResponse:
    if not wants_json(request):
        return defaults.server_error(request)
    return unhandled_response(request, RuntimeError("unhandled error in a Django view"))


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not wants_json(request):
        return defaults.bad_request(request, exception)
    return error_response(400, "bad_request", "The request could not be processed.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not wants_json(request):
        return defaults.permission_denied(request, exception)
    return error_response(403, "permission_denied", "You may not perform this action.")


def redoc(request: HttpRequest) -> HttpResponse:
    return Redoc().render_page(request, api)
