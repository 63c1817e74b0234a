"""Liveness and readiness, including a dependency that is down."""

import pytest

from api.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_live(api_client):
    response = api_client.get("/api/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_reports_each_service(api_client):
    response = api_client.get("/api/health/ready")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "migrations", "cache", "broker", "search"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


def test_ready_is_503_when_the_cache_is_down(api_client, settings, tmp_path):
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"unix://{tmp_path}/no-redis.sock",
        }
    }
    response = api_client.get("/api/health/ready")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["checks"]["cache"]["status"] == "down"
    assert body["checks"]["cache"]["error"]
    assert body["checks"]["database"]["status"] == "ok"


def test_ready_is_503_when_the_broker_is_down(api_client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "amqp://guest:guest@127.0.0.1:1//")
    response = api_client.get("/api/health/ready")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["broker"]["status"] == "down"
    assert body["checks"]["cache"]["status"] == "ok"


def test_ready_is_503_when_the_search_backend_is_down(api_client, settings):
    settings.SEARCH_BACKEND = "elasticsearch"
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:1"
    response = api_client.get("/api/health/ready")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["search"]["status"] == "down"
    assert body["checks"]["database"]["status"] == "ok"


def test_ready_is_503_when_the_database_is_down(api_client, settings):
    from django.db import connections

    connections["default"].close()
    original = dict(connections["default"].settings_dict)
    connections["default"].settings_dict.update(HOST="127.0.0.1", PORT=1, CONN_HEALTH_CHECKS=False)
    connections["default"].settings_dict["OPTIONS"] = {"connect_timeout": 1}
    try:
        response = api_client.get("/api/health/ready")
    finally:
        connections["default"].close()
        connections["default"].settings_dict.clear()
        connections["default"].settings_dict.update(original)
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["database"]["status"] == "down"
