"""Liveness and readiness: a dependency that is down, who sees why, the anonymous limit, and the
broker connections a flood of readiness calls opens."""

from collections import Counter

import pytest
import redis
from kombu.transport import pyamqp

from api import health
from api.celery import app as celery_app
from testing.factories import UserFactory, bearer, staff_user

pytestmark = pytest.mark.django_db

TOKEN = "metrics-t0ken"
CHECKS = {"database", "migrations", "cache", "broker", "search"}
STRANGER = "203.0.113.9"


@pytest.fixture(autouse=True)
def fresh_broker_check():
    health.check_broker.reset()
    yield
    health.check_broker.reset()


@pytest.fixture
def operator(settings):
    """The metrics token, as Prometheus and scripts/check_health.sh send it."""
    settings.METRICS_TOKEN = TOKEN
    return {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def test_live(api_client):
    response = api_client.get("/api/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_anyone_gets_the_status_only(api_client, settings):
    settings.METRICS_TOKEN = TOKEN
    response = api_client.get("/api/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_the_metrics_token_gets_each_check(api_client, operator):
    response = api_client.get("/api/health/ready", **operator)
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == CHECKS
    assert all(check["status"] == "ok" for check in body["checks"].values())
    assert all(check["latency_ms"] >= 0 for check in body["checks"].values())


def test_a_staff_token_gets_each_check_a_customer_token_or_a_bad_one_only_the_status(
    api_client, settings
):
    settings.METRICS_TOKEN = TOKEN
    staff = api_client.get("/api/health/ready", **bearer(staff_user()))
    assert set(staff.json()["checks"]) == CHECKS
    for headers in (
        bearer(UserFactory()),
        bearer(UserFactory(is_staff=True, is_active=False)),
        {"HTTP_AUTHORIZATION": "Bearer not-a-token"},
        {"HTTP_AUTHORIZATION": "Bearer metrics-t0ken-but-longer"},
        {"HTTP_AUTHORIZATION": f"Basic {TOKEN}"},
    ):
        response = api_client.get("/api/health/ready", **headers)
        assert (response.status_code, response.json()) == (200, {"status": "ok"}), headers


def test_without_a_metrics_token_debug_shows_the_checks_as_for_metrics(api_client, settings):
    settings.METRICS_TOKEN = ""
    settings.DEBUG = True
    assert set(api_client.get("/api/health/ready").json()["checks"]) == CHECKS
    settings.DEBUG = False
    assert api_client.get("/api/health/ready").json() == {"status": "ok"}


@pytest.fixture
def cache_down(settings, tmp_path):
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"unix://{tmp_path}/no-redis.sock",
        }
    }


def test_ready_is_503_when_the_cache_is_down(api_client, operator, cache_down):
    response = api_client.get("/api/health/ready", **operator)
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["checks"]["cache"]["status"] == "down"
    error = body["checks"]["cache"]["error"]
    assert error.startswith("ConnectionError: ") and "\n" not in error
    assert len(error) <= health.REASON_MAX_LENGTH
    assert body["checks"]["database"]["status"] == "ok"


def test_a_stranger_learns_that_it_is_down_but_not_why(api_client, settings, cache_down):
    settings.METRICS_TOKEN = TOKEN
    response = api_client.get("/api/health/ready", REMOTE_ADDR=STRANGER)
    assert response.status_code == 503
    assert response.json() == {"status": "down"}


def test_ready_is_503_when_the_broker_is_down(api_client, operator, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "amqp://guest:guest@127.0.0.1:1//")
    response = api_client.get("/api/health/ready", **operator)
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["broker"]["status"] == "down"
    assert body["checks"]["broker"]["error"]
    assert body["checks"]["cache"]["status"] == "ok"


def test_ready_is_503_when_the_search_backend_is_down(api_client, operator, settings):
    settings.SEARCH_BACKEND = "elasticsearch"
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:1"
    response = api_client.get("/api/health/ready", **operator)
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["search"]["status"] == "down"
    assert body["checks"]["database"]["status"] == "ok"


def test_ready_is_503_when_the_database_is_down(api_client, operator):
    from django.db import connections

    connections["default"].close()
    original = dict(connections["default"].settings_dict)
    connections["default"].settings_dict.update(HOST="127.0.0.1", PORT=1, CONN_HEALTH_CHECKS=False)
    connections["default"].settings_dict["OPTIONS"] = {"connect_timeout": 1}
    try:
        response = api_client.get("/api/health/ready", **operator)
    finally:
        connections["default"].close()
        connections["default"].settings_dict.clear()
        connections["default"].settings_dict.update(original)
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["database"]["status"] == "down"


# -- the anonymous limit ---------------------------------------------------------------------------
def test_strangers_are_limited_per_address(api_client, settings):
    settings.HEALTH_READY_RATE = "3/min"
    answers = [
        api_client.get("/api/health/ready", REMOTE_ADDR=STRANGER).status_code for _ in range(3)
    ]
    assert answers == [200, 200, 200]
    refused = api_client.get("/api/health/ready", REMOTE_ADDR=STRANGER)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1
    # Another address has its own count; liveness is never limited.
    assert api_client.get("/api/health/ready", REMOTE_ADDR="198.51.100.4").status_code == 200
    assert api_client.get("/api/health/live", REMOTE_ADDR=STRANGER).status_code == 200


def test_probes_and_operators_are_never_limited(api_client, settings, operator):
    settings.HEALTH_READY_RATE = "1/min"
    staff = bearer(staff_user())
    for _ in range(3):
        # Docker's healthcheck (the host itself), an orchestrator node, the metrics token and a
        # staff token from a public address.
        assert api_client.get("/api/health/ready").status_code == 200
        assert api_client.get("/api/health/ready", REMOTE_ADDR="10.1.2.3").status_code == 200
        assert api_client.get("/api/health/ready", REMOTE_ADDR="::1").status_code == 200
        assert (
            api_client.get("/api/health/ready", REMOTE_ADDR=STRANGER, **operator).status_code == 200
        )
        assert api_client.get("/api/health/ready", REMOTE_ADDR=STRANGER, **staff).status_code == 200


def test_behind_nginx_the_client_address_decides(api_client, settings):
    settings.HEALTH_READY_RATE = "1/min"
    settings.RATE_LIMIT_TRUSTED_PROXIES = 1
    nginx = {"REMOTE_ADDR": "172.18.0.5"}
    balancer = {**nginx, "HTTP_X_FORWARDED_FOR": "10.0.4.2"}
    stranger = {**nginx, "HTTP_X_FORWARDED_FOR": STRANGER}
    assert [api_client.get("/api/health/ready", **balancer).status_code for _ in range(2)] == [
        200,
        200,
    ]
    assert [api_client.get("/api/health/ready", **stranger).status_code for _ in range(2)] == [
        200,
        429,
    ]


def test_the_general_limits_do_not_count_health(api_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "default": {"ip": "1/min", "user": "1/min"}}
    for _ in range(3):
        assert api_client.get("/api/health/live", REMOTE_ADDR=STRANGER).status_code == 200


# -- broker connections ----------------------------------------------------------------------------
def ready_calls(client, calls: int) -> Counter:
    return Counter(client.get("/api/health/ready").status_code for _ in range(calls))


def test_a_flood_of_calls_opens_one_rabbitmq_connection(api_client, rabbitmq_url, monkeypatch):
    """Before the broker check kept its answer: 100 calls, 100 AMQP connections."""
    monkeypatch.setattr(celery_app.conf, "broker_url", rabbitmq_url)
    opened = []
    real = pyamqp.Transport.establish_connection

    def counting(self):
        opened.append(1)
        return real(self)

    monkeypatch.setattr(pyamqp.Transport, "establish_connection", counting)
    assert ready_calls(api_client, 100) == {200: 100}
    assert len(opened) == 1


def test_a_flood_of_calls_opens_one_redis_broker_connection(api_client, settings, monkeypatch):
    """The embedded Redis broker (database 1): 100 calls, 100 new sockets before."""
    connects = Counter()
    real = redis.connection.AbstractConnection.connect

    def counting(self, *args, **kwargs):
        if self._sock is None:
            connects[self.db] += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "connect", counting)
    assert ready_calls(api_client, 100) == {200: 100}
    assert connects[1] == 1
    # The kept answer is what saves them: asked every time, every call connects.
    settings.HEALTH_BROKER_CHECK_SECONDS = 0
    connects.clear()
    assert ready_calls(api_client, 10) == {200: 10}
    assert connects[1] == 10
