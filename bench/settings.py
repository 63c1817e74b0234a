"""The benchmark process's own settings (seeding, preparing carts, counting queries): DEBUG off,
its own embedded services under .data/bench/. The servers it loads run the production settings
(bench/server_settings.py) on these same services."""

from api import runtime
from api.settings.base import *  # noqa: F403
from api.settings.env import DATA_DIR, env
from api.settings.services import caches, databases

DEBUG = False
ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

SERVICES = runtime.resolve(env.ENVIRON, data_dir=DATA_DIR / "bench")
DATABASES = databases(SERVICES, conn_max_age=600)
CACHES = caches(SERVICES)
CELERY_BROKER_URL = SERVICES.broker_url
CELERY_RESULT_BACKEND = SERVICES.result_backend_url
