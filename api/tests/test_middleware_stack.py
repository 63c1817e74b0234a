"""Which middleware runs where: every route gets the request id, the access log line, metrics and
JSON errors; sessions, CSRF, authentication by session, messages and X-Frame-Options run for the
admin's pages only (api.middleware.AdminMiddleware, settings.ADMIN_MIDDLEWARE)."""

import logging

import pytest
from django.conf import settings
from django.core import checks
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        "stack@example.com", "pw-Long-enough-1", is_staff=True, is_superuser=True
    )


def test_an_api_answer_sets_no_cookie_and_keeps_its_request_id_and_log_line(client, caplog):
    caplog.set_level(logging.INFO, logger="api.access")
    response = client.get("/api/catalog/categories", HTTP_X_REQUEST_ID="stack-1")
    assert response.status_code == 200
    assert response.cookies == {}
    assert "Cookie" not in response.get("Vary", "")
    assert "X-Frame-Options" not in response
    assert response["X-Request-ID"] == "stack-1"
    (line,) = [r for r in caplog.records if r.name == "api.access"]
    assert (line.request_id, line.path, line.status_code) == (
        "stack-1",
        "/api/catalog/categories",
        200,
    )


def test_the_admin_session_is_not_read_on_api_routes(client, staff):
    client.force_login(staff)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/health/live")
    assert response.status_code == 200
    # Before, the access log line's user lookup loaded the session and the user: two queries.
    assert not [
        q["sql"] for q in queries if "django_session" in q["sql"] or "core_user" in q["sql"]
    ]
    # Nor does the session sign anyone in to the API: it wants a bearer token.
    assert client.get("/api/me").status_code == 401


def test_the_admin_keeps_its_session_csrf_and_frame_protection(staff):
    browser = Client(enforce_csrf_checks=True)
    login = browser.get("/admin/login/")
    assert login.status_code == 200
    assert login["X-Frame-Options"] == "DENY"
    token = login.cookies[settings.CSRF_COOKIE_NAME].value

    credentials = {"username": staff.email, "password": "pw-Long-enough-1"}
    assert browser.post("/admin/login/", credentials).status_code == 403  # no CSRF token

    signed_in = browser.post(
        "/admin/login/?next=/admin/", {**credentials, "csrfmiddlewaretoken": token}
    )
    assert signed_in.status_code == 302
    assert settings.SESSION_COOKIE_NAME in signed_in.cookies
    index = browser.get("/admin/")
    assert index.status_code == 200
    assert index.context["request"].user == staff


def test_every_admin_middleware_is_installed_once():
    assert "api.middleware.AdminMiddleware" in settings.MIDDLEWARE
    assert not set(settings.ADMIN_MIDDLEWARE) & set(settings.MIDDLEWARE)


def test_the_silenced_admin_checks_are_met_by_the_admin_middleware():
    # admin.E408-E410 want these in MIDDLEWARE; they run in ADMIN_MIDDLEWARE, in this order.
    assert set(settings.SILENCED_SYSTEM_CHECKS) >= {"admin.E408", "admin.E409", "admin.E410"}
    wanted = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ]
    assert [path for path in settings.ADMIN_MIDDLEWARE if path in wanted] == wanted
    with override_settings(SILENCED_SYSTEM_CHECKS=[]):
        found = {message.id for message in checks.run_checks(tags=[checks.Tags.admin])}
    assert found <= {"admin.E408", "admin.E409", "admin.E410"}
