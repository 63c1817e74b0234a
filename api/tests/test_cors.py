"""Cross-origin calls from a storefront on another origin (api/settings/cors.py): preflights
from an allowed and a refused origin, what a real answer exposes, and where the middleware sits
(a preflight is never gated, rate limited or counted)."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from api import startup

pytestmark = pytest.mark.django_db

STOREFRONT = "https://shop.example.com"
ELSEWHERE = "https://evil.example"


@pytest.fixture(autouse=True)
def storefront(settings):
    settings.CORS_ALLOWED_ORIGINS = [STOREFRONT]


def preflight(client, path: str, origin: str, method: str = "POST", headers: str = ""):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


def listed(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",") if part.strip()}


def test_a_preflight_from_the_storefront_is_allowed_with_the_headers_the_api_reads(api_client):
    asked = "authorization, content-type, idempotency-key, x-cart-token, x-request-id"
    response = preflight(api_client, "/api/checkout", STOREFRONT, headers=asked)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == STOREFRONT
    assert listed(asked) | {"x-order-token", "traceparent"} <= listed(
        response["Access-Control-Allow-Headers"]
    )
    assert {"get", "post", "patch", "delete"} <= listed(response["Access-Control-Allow-Methods"])
    assert int(response["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in response
    assert "origin" in listed(response["Vary"])


def test_a_preflight_from_another_origin_gets_no_cors_headers(api_client):
    response = preflight(api_client, "/api/checkout", ELSEWHERE, headers="idempotency-key")
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


def test_a_real_answer_to_the_storefront_exposes_the_headers_it_reads(api_client):
    response = api_client.post("/api/cart", HTTP_ORIGIN=STOREFRONT)
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == STOREFRONT
    exposed = listed(response["Access-Control-Expose-Headers"])
    assert {
        "x-cart-token",
        "x-order-token",
        "idempotency-key",
        "idempotent-replayed",
        "x-request-id",
        "retry-after",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
    } <= exposed
    assert response["X-Request-ID"]
    assert "Access-Control-Allow-Credentials" not in response
    elsewhere = api_client.post("/api/cart", HTTP_ORIGIN=ELSEWHERE)
    assert "Access-Control-Allow-Origin" not in elsewhere


def test_preflights_are_not_rate_limited_nor_counted_and_a_429_is_readable(api_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "cart": {"ip": "1/min", "user": "1/min"}}
    for _ in range(5):
        assert preflight(api_client, "/api/cart", STOREFRONT).status_code == 200
    assert api_client.post("/api/cart", HTTP_ORIGIN=STOREFRONT).status_code == 201
    refused = api_client.post("/api/cart", HTTP_ORIGIN=STOREFRONT)
    assert refused.status_code == 429
    # The storefront can read why and how long to wait.
    assert refused["Access-Control-Allow-Origin"] == STOREFRONT
    assert "retry-after" in listed(refused["Access-Control-Expose-Headers"])


def test_preflights_are_answered_while_the_process_starts(api_client, settings, monkeypatch):
    settings.STARTUP_GATE = True
    startup.state.reset()
    monkeypatch.setattr(startup, "pending_migrations", lambda: [("core", "0099_not_yet")])
    try:
        assert preflight(api_client, "/api/cart", STOREFRONT).status_code == 200
        starting = api_client.post("/api/cart", HTTP_ORIGIN=STOREFRONT)
        assert starting.status_code == 503
        assert starting["Access-Control-Allow-Origin"] == STOREFRONT
    finally:
        startup.state.reset()


def test_the_admin_is_not_cross_origin(api_client):
    response = preflight(api_client, "/admin/login/", STOREFRONT)
    assert "Access-Control-Allow-Origin" not in response


def test_cors_answers_before_the_gate_and_the_limiter():
    middleware = django_settings.MIDDLEWARE
    cors = middleware.index("corsheaders.middleware.CorsMiddleware")
    assert cors < middleware.index("api.startup.StartupGateMiddleware")
    assert cors < middleware.index("api.ratelimit.RateLimitMiddleware")
    assert cors < middleware.index("django.middleware.common.CommonMiddleware")
    # After the request id and the metrics: a preflight is logged and counted like any request.
    assert cors > middleware.index("api.middleware.RequestContextMiddleware")


ORIGINS = (
    "import json\n"
    "from django.conf import settings\n"
    "print(json.dumps(settings.CORS_ALLOWED_ORIGINS))\n"
)


def origins(module: str, **environ: str) -> list[str]:
    """CORS_ALLOWED_ORIGINS of a settings module, in a fresh interpreter with `environ` set (and
    services named, so nothing embedded starts)."""
    result = subprocess.run(
        [sys.executable, "-c", ORIGINS],
        cwd=django_settings.BASE_DIR,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": module,
            "DATABASE_URL": "postgres://u:p@127.0.0.1:1/emporium",
            "REDIS_URL": "redis://127.0.0.1:1/0",
            **environ,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_development_allows_the_storefront_origin_by_default():
    assert origins("api.settings.dev") == ["http://localhost:3000"]
    assert origins("api.settings.dev", STOREFRONT_URL="http://127.0.0.1:5173/shop/") == [
        "http://127.0.0.1:5173"
    ]
    assert origins("api.settings.dev", CORS_ALLOWED_ORIGINS="https://a.test,https://b.test") == [
        "https://a.test",
        "https://b.test",
    ]


def test_production_allows_no_origin_unless_told():
    prod = {
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "shop.example.com",
        "DEFAULT_FROM_EMAIL": "a@b.c",
    }
    assert origins("api.settings.prod", **prod) == []
    assert origins("api.settings.prod", **prod, CORS_ALLOWED_ORIGINS=STOREFRONT) == [STOREFRONT]
