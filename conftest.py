"""Session-wide test setup.

The test settings start the embedded PostgreSQL and Redis (under .data/test/) unless DATABASE_URL /
REDIS_URL name real ones; they are stopped when the session ends, whatever its outcome.

Fixtures are registered here, once, for every test: testing/fixtures.py (the shared ones) and each
app's tests/fixtures.py, which another app's tests ask for by name (orders' `place`, payments'
`flaky_provider`). Factories are imported: testing/factories.py for the rows several apps build, an
app's own tests/fixtures.py for the rest; no app's tests import another app's tests package. An
app's tests/conftest.py holds only the autouse fixtures meant for that app's tests alone.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

pytest_plugins = [
    "testing.fixtures",
    "api.tests.fixtures",
    "core.tests.fixtures",
    "products.tests.fixtures",
    "orders.tests.fixtures",
    "payments.tests.fixtures",
    "search.tests.fixtures",
    "cms.tests.fixtures",
    "webhooks.tests.fixtures",
]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_unconfigure(config: pytest.Config) -> None:
    from api import runtime

    runtime.stop_owned()


def service_available(url: str, timeout: float = 1.0) -> bool:
    """Whether something accepts connections at a URL's host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str, url: str) -> None:
    """Skip locally when a configured service is missing; in CI that is a failure, not a skip."""
    if service_available(url):
        return
    message = f"{name} is not reachable at {url}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: services are required)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def rabbitmq_url() -> str:
    url = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
    require_service("RabbitMQ", url)
    return url


@pytest.fixture
def postgres_server_url() -> str:
    url = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    require_service("PostgreSQL", url)
    return url


@pytest.fixture
def redis_server_url() -> str:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    require_service("Redis", url)
    return url


@pytest.fixture
def api_client():
    """Django's test client for JSON APIs (no CSRF: the API is token-authenticated)."""
    from django.test import Client

    return Client(raise_request_exception=False)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Every test starts with no rate-limit counts: all of them call from the same address."""
    from api import ratelimit

    ratelimit.reset()
