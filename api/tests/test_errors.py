"""Every error, whoever raises it, answers {"code", "message", "details"} with the right status."""

import json

import pytest
from django.test import override_settings

pytestmark = [pytest.mark.django_db, pytest.mark.urls("api.tests.error_urls")]


def error_body(response):
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert set(body) == {"code", "message", "details"}, body
    assert isinstance(body["details"], dict)
    assert body["message"]
    return body


def test_validation_error_is_422_with_field_details(api_client):
    response = api_client.post(
        "/test-api/probe/validate", {"name": "", "quantity": 0}, content_type="application/json"
    )
    assert response.status_code == 422
    body = error_body(response)
    assert body["code"] == "validation_error"
    fields = {error["field"] for error in body["details"]["errors"]}
    assert fields == {"name", "quantity"}


def test_unknown_field_is_refused(api_client):
    response = api_client.post(
        "/test-api/probe/validate",
        {"name": "a", "quantity": 1, "is_staff": True},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert error_body(response)["details"]["errors"][0]["field"] == "is_staff"


def test_malformed_json_is_4xx(api_client):
    response = api_client.post(
        "/test-api/probe/validate", "{not json", content_type="application/json"
    )
    assert response.status_code in (400, 422)
    error_body(response)


def test_domain_error_keeps_its_code_and_details(api_client):
    response = api_client.get("/test-api/probe/domain")
    assert response.status_code == 409
    body = error_body(response)
    assert body == {
        "code": "insufficient_stock",
        "message": "Only 3 left.",
        "details": {"available": 3},
    }


def test_unauthenticated_is_401(api_client):
    response = api_client.get("/test-api/probe/private")
    assert response.status_code == 401
    assert error_body(response)["code"] == "not_authenticated"


def test_forbidden_is_403(api_client):
    response = api_client.get("/test-api/probe/forbidden")
    assert response.status_code == 403
    assert error_body(response)["code"] == "permission_denied"


def test_throttled_is_429_with_retry_after(api_client):
    response = api_client.get("/test-api/probe/throttled")
    assert response.status_code == 429
    assert response["Retry-After"] == "7"
    assert error_body(response)["details"] == {"retry_after": 7}


def test_body_over_the_limit_is_413(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = api_client.post(
        "/test-api/probe/upload", {"blob": "x" * 5000}, content_type="application/json"
    )
    assert response.status_code == 413
    assert error_body(response)["code"] == "payload_too_large"


@pytest.mark.parametrize("path", ["/api/no-such-route", "/no-such-page", "/test-api/probe/nope"])
def test_unknown_route_is_404(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 404
    assert error_body(response)["code"] == "not_found"


def test_wrong_method_is_405_with_allowed_methods(api_client):
    response = api_client.delete("/api/health/live")
    assert response.status_code == 405
    body = error_body(response)
    assert body["code"] == "method_not_allowed"
    assert body["details"]["allowed_methods"] == ["GET"]


def test_unhandled_exception_is_500_without_traceback(api_client):
    response = api_client.get("/test-api/probe/crash")
    assert response.status_code == 500
    body = error_body(response)
    assert body == {"code": "internal_error", "message": "Internal server error.", "details": {}}
    assert b"secret internals" not in response.content


def test_unhandled_exception_in_debug_shows_the_traceback(api_client):
    with override_settings(DEBUG=True):
        response = api_client.get("/test-api/probe/crash")
    assert response.status_code == 500
    details = error_body(response)["details"]
    assert "secret internals" in details["exception"]
    assert any("RuntimeError" in line for line in details["traceback"])


def test_plain_django_view_crash_is_json_500(api_client):
    response = api_client.get("/django-crash")
    assert response.status_code == 500
    assert error_body(response)["code"] == "internal_error"
    assert b"a plain Django view failed" not in response.content


def test_disallowed_host_is_json_400(api_client):
    response = api_client.get("/api/health/live", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert error_body(response)["code"] == "bad_request"


def test_admin_keeps_html_errors(api_client):
    response = api_client.get("/admin/no-such-admin-page/")
    assert response.status_code in (302, 404)
    assert not response["Content-Type"].startswith("application/json")
