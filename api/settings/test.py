"""Tests: their own embedded cluster (no fsync: test data is thrown away), fast hashing."""

from api import runtime

from .base import *  # noqa: F403
from .env import DATA_DIR, env
from .services import caches, databases

SERVICES = runtime.resolve(
    env.ENVIRON,
    data_dir=DATA_DIR / "test",
    postgres_options={"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"},
)
DATABASES = databases(SERVICES, conn_max_age=0)
CACHES = caches(SERVICES)
CELERY_BROKER_URL = SERVICES.broker_url
CELERY_RESULT_BACKEND = SERVICES.result_backend_url

# pytest-django migrates the test database before any request; the gate's own tests (and the
# server processes that tests start) turn it on.
STARTUP_GATE = env.bool("STARTUP_GATE", default=False)
# Server processes started by tests serve static files and media as in development.
DEBUG = env.bool("DEBUG", default=False)

# Tests place many orders from one email and one address (127.0.0.1); the limit's own tests set
# it (orders/tests/test_checkout_limits.py), as RATE_LIMITS are off for the load tests.
ORDER_MAX_UNPAID = env.int("ORDER_MAX_UNPAID", default=10_000)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
