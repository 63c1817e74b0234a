"""X-Request-ID round trip, trace ids, and the fields of the JSON access log line."""

import json
import logging

import pytest

from api.auth import tokens_for
from api.logging import ContextFilter, JsonFormatter

pytestmark = pytest.mark.django_db


def access_records(caplog):
    return [r for r in caplog.records if r.name == "api.access"]


def test_sane_request_id_is_echoed(api_client):
    response = api_client.get("/api/health/live", HTTP_X_REQUEST_ID="client-abc.123")
    assert response["X-Request-ID"] == "client-abc.123"


@pytest.mark.parametrize("sent", ["has space", "x" * 200, "semi;colon", "new\nline"])
def test_insane_request_id_is_replaced(api_client, sent):
    response = api_client.get("/api/health/live", HTTP_X_REQUEST_ID=sent)
    assert response["X-Request-ID"] != sent
    assert len(response["X-Request-ID"]) == 32


def test_request_id_is_generated_and_differs_per_request(api_client):
    first = api_client.get("/api/health/live")["X-Request-ID"]
    second = api_client.get("/api/health/live")["X-Request-ID"]
    assert first != second


def test_error_responses_carry_the_request_id(api_client):
    response = api_client.get("/api/nowhere", HTTP_X_REQUEST_ID="trace-me")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "trace-me"


def test_traceparent_sets_the_trace_id(api_client, caplog):
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    caplog.set_level(logging.INFO, logger="api.access")
    response = api_client.get(
        "/api/health/live", HTTP_TRACEPARENT=f"00-{trace}-00f067aa0ba902b7-01"
    )
    assert response["X-Trace-ID"] == trace
    assert access_records(caplog)[-1].trace_id == trace


def test_access_log_line_has_every_field(api_client, caplog):
    caplog.set_level(logging.INFO, logger="api.access")
    api_client.get("/api/health/live?x=1", HTTP_X_REQUEST_ID="req-1")
    record = access_records(caplog)[-1]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-1"
    assert line["trace_id"] == "req-1"  # no trace header: the request starts the trace
    assert line["user_id"] is None
    assert line["method"] == "GET"
    assert line["path"] == "/api/health/live"
    assert line["status_code"] == 200
    assert isinstance(line["latency_ms"], float)
    assert line["level"] == "info"


def test_log_line_of_a_signed_in_user_names_them(client, django_user_model, caplog):
    # The API knows its callers by bearer token, the admin by its session.
    user = django_user_model.objects.create_user(
        "log@example.com", "pw-Long-enough-1", is_staff=True
    )
    caplog.set_level(logging.INFO, logger="api.access")
    client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {tokens_for(user)['access']}")
    assert access_records(caplog)[-1].user_id == user.pk
    client.force_login(user)
    client.get("/admin/")
    assert access_records(caplog)[-1].user_id == user.pk


def test_other_log_lines_inside_a_request_get_the_context(api_client, caplog):
    from api import context

    token = context.request_id_var.set("inside")
    try:
        record = logging.makeLogRecord({"msg": "hello %s", "args": ("world",), "name": "x"})
        ContextFilter().filter(record)
        line = json.loads(JsonFormatter().format(record))
    finally:
        context.request_id_var.reset(token)
    assert line["message"] == "hello world"
    assert line["request_id"] == "inside"
