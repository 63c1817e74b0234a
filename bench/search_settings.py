"""bench/search.py's settings: the benchmark settings with their own embedded services under
.data/bench-search/, so the catalog benchmark's seeded database is left alone."""

from api import runtime
from api.settings.env import DATA_DIR, env
from api.settings.services import caches, databases

from .settings import *  # noqa: F403

SERVICES = runtime.resolve(env.ENVIRON, data_dir=DATA_DIR / "bench-search")
DATABASES = databases(SERVICES, conn_max_age=600)
CACHES = caches(SERVICES)
CELERY_BROKER_URL = SERVICES.broker_url
CELERY_RESULT_BACKEND = SERVICES.result_backend_url
SEARCH_QUERY_STATS_ENABLED = False
