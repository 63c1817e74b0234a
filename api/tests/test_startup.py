"""api/startup.py: until the database is migrated, 503 `starting` instead of 500s.

Here the pending migration is simulated on a migrated test database (the executor is asked about
one more migration than exists); core/tests/test_dev_command.py drives a real first start.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api import startup

pytestmark = pytest.mark.django_db


@pytest.fixture
def gate(settings):
    settings.STARTUP_GATE = True
    startup.state.reset()
    yield startup.state
    startup.state.reset()


@pytest.fixture
def one_migration_pending(monkeypatch):
    real = startup.pending_migrations

    def with_one_more():
        return [("core", "0099_not_yet"), *(real() or [])]

    monkeypatch.setattr(startup, "pending_migrations", with_one_more)


def test_api_routes_answer_503_starting_with_retry_after(api_client, gate, one_migration_pending):
    for method, path in [
        ("get", "/api/catalog/products"),
        ("post", "/api/auth/register"),
        ("get", "/api/docs"),
        ("get", "/metrics"),
    ]:
        response = getattr(api_client, method)(path)
        assert response.status_code == 503, path
        assert response["Retry-After"] == "2"
        body = response.json()
        assert body["code"] == "starting"
        assert "core.0099_not_yet" in body["message"]
        assert response["X-Request-ID"]


def test_the_admin_gets_a_page_that_reloads_itself(api_client, gate, one_migration_pending):
    response = api_client.get("/admin/login/")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert b'http-equiv="refresh"' in response.content


def test_health_answers_and_ready_names_the_pending_migration(
    api_client, gate, one_migration_pending, settings
):
    settings.METRICS_TOKEN = "metrics-t0ken"
    assert api_client.get("/api/health/live").status_code == 200
    assert api_client.get("/api/health/ready").json() == {"status": "down"}
    response = api_client.get("/api/health/ready", HTTP_AUTHORIZATION="Bearer metrics-t0ken")
    assert response.status_code == 503
    check = response.json()["checks"]["migrations"]
    assert check["status"] == "down"
    assert "1 database migration(s) not applied" in check["error"]


def test_once_migrated_the_process_never_asks_again(api_client, gate, monkeypatch):
    assert api_client.get("/api/health/live").status_code == 200
    assert api_client.get("/api/catalog/categories").status_code == 200
    assert gate.migrated

    def fail(*args, **kwargs):
        raise AssertionError("asked again")

    monkeypatch.setattr(startup, "pending_migrations", fail)
    assert api_client.get("/api/catalog/categories").status_code == 200


def test_the_check_runs_on_its_own_connection_so_query_counts_are_unchanged(api_client, gate):
    def queries_of_one_request() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api_client.get("/api/catalog/categories").status_code == 200
        return len(captured)

    queries_of_one_request()  # warm the caches (the tree, then its version token)
    queries_of_one_request()
    gate.reset()
    checked = queries_of_one_request()
    assert gate.migrated
    assert checked == queries_of_one_request()


def test_a_database_that_does_not_answer_is_starting_too(api_client, gate, settings):
    from django.db import connections

    original = dict(connections.settings["default"])
    connections.settings["default"].update(HOST="127.0.0.1", PORT=1)
    connections.settings["default"]["OPTIONS"] = {"connect_timeout": 1}
    try:
        response = api_client.get("/api/catalog/products")
    finally:
        connections.settings["default"].clear()
        connections.settings["default"].update(original)
    assert response.status_code == 503
    assert "does not answer" in response.json()["message"]
    assert not gate.migrated
