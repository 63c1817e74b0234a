"""The test settings for a gunicorn started by api/tests/test_gunicorn.py: its URLconf adds
/_whoami, and database connections are kept between requests as production keeps them (with
CONN_MAX_AGE=0 every request would open its own and hide an inherited one)."""

from api.settings.test import *  # noqa: F403
from api.settings.test import DATABASES

ROOT_URLCONF = "api.tests.preload_urls"
DATABASES = {alias: {**db, "CONN_MAX_AGE": 60} for alias, db in DATABASES.items()}
