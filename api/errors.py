"""One JSON error shape for every error: {"code": ..., "message": ..., "details": {...}}.

Domain code raises ApiError subclasses (or Django/Ninja exceptions); the handlers installed on the
NinjaExtraAPI, the JSON error views and api.middleware.JsonErrorMiddleware render them all alike.
"""

from __future__ import annotations

import logging
import traceback
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja_extra import exceptions as extra_exceptions

logger = logging.getLogger("api.errors")


class ApiError(Exception):
    """A failure the client can act on, with a stable code and an HTTP status."""

    status: int = 400
    code: str = "bad_request"
    message: str = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(ApiError):
    pass


class NotAuthenticated(ApiError):
    status, code, message = 401, "not_authenticated", "Authentication credentials were not valid."


class TokenNotValid(NotAuthenticated):
    """Every refused token shares the code of any 401 (sign in again); details.reason says why."""

    message = "Token is invalid or expired."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("details", {"reason": "token_not_valid"})
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        super().__init__(message, **kwargs)


class PermissionDenied(ApiError):
    status, code, message = 403, "permission_denied", "You may not perform this action."


class NotFound(ApiError):
    status, code, message = 404, "not_found", "Not found."


class Conflict(ApiError):
    status, code, message = 409, "conflict", "The request conflicts with the current state."


class PayloadTooLarge(ApiError):
    status, code, message = 413, "payload_too_large", "The request body is too large."


class InvalidInput(ApiError):
    status, code, message = 422, "validation_error", "The request is not valid."

    @classmethod
    def for_field(
        cls,
        field: str,
        message: str,
        *,
        kind: str = "invalid",
        code: str | None = None,
        source: str = "body",
        details: dict[str, Any] | None = None,
    ) -> InvalidInput:
        """One field is wrong: the message says so, details.errors names it (field_error)."""
        errors = [field_error(field, message, kind, source=source)]
        return cls(message, code=code, details={**(details or {}), "errors": errors})


def field_error(field: str, message: str, kind: str = "invalid", *, source: str = "body"):
    """One entry of an error's details.errors, in the shape request validation gives them:
    where (`body`, `query`, `file`...) and the field's dotted path, its name, why, and a type."""
    return _error_entry([source, *filter(None, field.split("."))], field, message, kind)


def _error_entry(loc: list[str], field: str, message: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "field": field, "message": message, "type": kind}


class RateLimited(ApiError):
    status, code, message = 429, "rate_limited", "Too many requests; retry later."

    def __init__(self, retry_after: int, **kwargs: Any) -> None:
        retry_after = max(1, int(retry_after))
        kwargs.setdefault("details", {"retry_after": retry_after})
        kwargs.setdefault("headers", {"Retry-After": str(retry_after)})
        super().__init__(**kwargs)


class RateLimitUnavailable(ApiError):
    """The rate-limit store (Redis) cannot count: the action is refused rather than unlimited."""

    status, code, message = 503, "service_unavailable", "Please try again in a moment."


class PageNotFound(NotFound):
    code, message = "page_not_found", "No such page."

    def __init__(self, page: int, pages: int) -> None:
        super().__init__(
            f"Page {page} does not exist; there are {pages}.", details={"pages": pages}
        )


class IdempotencyKeyRequired(BadRequest):
    code, message = "idempotency_key_required", "The Idempotency-Key header is required."


class IdempotencyKeyInvalid(BadRequest):
    code = "idempotency_key_invalid"
    message = "The Idempotency-Key header must be 1 to 255 printable ASCII characters."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was already used with a different request."


_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def code_for_status(status: int) -> str:
    return _STATUS_CODES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_"))


def error_response(
    status: int,
    code: str | None = None,
    message: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    body = {
        "code": code or code_for_status(status),
        "message": message or HTTPStatus(status).phrase + ".",
        "details": details or {},
    }
    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _validation_details(errors: list[dict[str, Any]]) -> dict[str, Any]:
    cleaned = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        # ["body", "payload", "quantity"] names the field "quantity"; ["query", "page"] "page".
        field = loc[1:]
        if loc[:1] == ["body"] and len(field) > 1:
            field = field[1:]
        message, kind = str(error.get("msg", "")), str(error.get("type", ""))
        cleaned.append(_error_entry(loc, ".".join(field), message, kind))
    return {"errors": cleaned}


def unhandled_response(request: HttpRequest, exc: BaseException) -> JsonResponse:
    logger.error("unhandled exception", exc_info=exc)
    details = {}
    if settings.DEBUG:
        details = {
            "exception": repr(exc),
            "traceback": traceback.format_exception(type(exc), exc, exc.__traceback__),
        }
    return error_response(500, "internal_error", "Internal server error.", details)


def exception_response(request: HttpRequest, exc: Exception) -> JsonResponse:
    """Render any exception in the one error shape."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)
    if isinstance(exc, ValidationError):
        return error_response(
            422, "validation_error", "The request is not valid.", _validation_details(exc.errors)
        )
    if isinstance(exc, extra_exceptions.Throttled):
        return exception_response(request, RateLimited(int(exc.wait or 1)))
    if isinstance(exc, extra_exceptions.APIException):
        detail = exc.detail
        message = str(detail) if not isinstance(detail, (list, dict)) else None
        details = {"errors": detail} if isinstance(detail, (list, dict)) else {}
        code = getattr(detail, "code", None) or exc.default_code
        if exc.status_code == 401:
            code = "not_authenticated"
        return error_response(exc.status_code, str(code), message, details)
    if isinstance(exc, AuthenticationError):
        return error_response(
            401, "not_authenticated", "Authentication credentials were not valid."
        )
    if isinstance(exc, AuthorizationError):
        return error_response(403, "permission_denied", "You may not perform this action.")
    if isinstance(exc, HttpError):
        return error_response(exc.status_code, None, str(exc))
    if isinstance(exc, Http404):
        return error_response(404, "not_found", "Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        return error_response(403, "permission_denied", "You may not perform this action.")
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, "payload_too_large", "The request body is too large.")
    if isinstance(exc, SuspiciousOperation):
        return error_response(400, "bad_request", "The request was refused as unsafe.")
    if isinstance(exc, MultiPartParserError):
        # Raised when a route first reads request.FILES: no boundary, a broken part...
        return error_response(400, "bad_request", f"The multipart body cannot be read: {exc}.")
    return unhandled_response(request, exc)


def install_exception_handlers(api: Any) -> None:
    for exc_class in (
        Exception,
        ApiError,
        ValidationError,
        HttpError,
        Http404,
        DjangoPermissionDenied,
        SuspiciousOperation,
        extra_exceptions.APIException,
    ):
        api.add_exception_handler(exc_class, exception_response)
