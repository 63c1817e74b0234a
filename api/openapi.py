"""The error answers that follow from an operation's shape, declared once for the whole schema.

A controller declares the answers particular to its route (`error_responses(403, 409)`: a staff
permission, a conflict of its domain). What any operation of a given shape can answer is added
here to every operation of /api/openapi.json, so the document lists every status a route gives
without ~100 routes repeating it (docs/api.md, "Errors"; docs/architecture.md §8):

    status  declared on                                  because
    400     operations with a body                       not JSON, or multipart without a boundary
    401     operations that read a token                 a missing, refused or revoked token
    404     operations with a path parameter, and lists  the object named; a page past the last
    413     operations with a body                       over DATA_UPLOAD_MAX_MEMORY_SIZE
    414     operations with parameters in the URL        the request line passes the server's
                                                         limit (gunicorn: 4 KB); the server's
                                                         own answer, not the JSON error shape
    422     operations with any parameter or a body      validation (details.errors)
    429     operations of a rate-limited route group     RATE_LIMITS (api/ratelimit.py)
    503     every operation the startup gate holds       `starting` (api/startup.py), or a
                                                         store a limit needs is down

A status a route declares itself keeps its own entry (description, content).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from ninja_extra import NinjaExtraAPI

from api.ratelimit import route_group
from api.schemas import ErrorOut
from api.startup import UNGATED_PREFIXES

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}

DESCRIPTIONS = {
    400: "Bad Request: the body cannot be read (not JSON; multipart without a boundary).",
    401: "Unauthorized: the token is missing, refused or revoked.",
    404: "Not Found: no such object (or not yours), or a page past the last.",
    413: "Payload Too Large: the request body passes the size limit.",
    414: "URI Too Long: the request line passes the server's limit (answered by the server).",
    422: "Unprocessable Entity: a parameter or the body is not valid; details.errors names each.",
    429: "Too Many Requests: retry after Retry-After seconds.",
    503: "Service Unavailable: starting, or a service it needs is down; retry shortly.",
}


def _rate_limited(path: str) -> bool:
    group = route_group(path)
    return bool(settings.RATE_LIMITS.get(group, settings.RATE_LIMITS.get("default")))


def common_error_statuses(path: str, operation: dict[str, Any]) -> set[int]:
    """The statuses `operation` (an OpenAPI operation object at `path`) can answer by its shape."""
    parameters = operation.get("parameters", [])
    where = {parameter["in"] for parameter in parameters}
    statuses = set()
    if "requestBody" in operation:
        statuses |= {400, 413, 422}
    if operation.get("security"):
        statuses.add(401)
    paginated = any(p["in"] == "query" and p["name"] == "page" for p in parameters)
    if "path" in where or paginated:
        statuses.add(404)
    if where:
        statuses.add(422)
    if where & {"path", "query"}:
        statuses.add(414)
    if _rate_limited(path):
        statuses.add(429)
    if not path.startswith(UNGATED_PREFIXES):
        statuses.add(503)
    return statuses


def _status_key(key: Any) -> tuple[int, str]:
    return (int(key), "") if str(key).isdigit() else (10**6, str(key))


def declare_common_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Add the common error answers to every operation of an OpenAPI document, in place."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorOut" not in schemas:
        schemas["ErrorOut"] = ErrorOut.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            declared = {str(key) for key in responses}
            for status in common_error_statuses(path, operation):
                if str(status) in declared:
                    continue
                answer: dict[str, Any] = {"description": DESCRIPTIONS[status]}
                if status != 414:
                    answer["content"] = {"application/json": {"schema": ERROR_REF}}
                responses[status] = answer
            operation["responses"] = dict(
                sorted(responses.items(), key=lambda i: _status_key(i[0]))
            )
    return document


class EmporiumAPI(NinjaExtraAPI):
    """The NinjaExtraAPI whose schema declares the common error answers of every operation."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        return declare_common_errors(super().get_openapi_schema(**kwargs))
