"""Search: which backend, and its tuning. The PostgreSQL part and the Elasticsearch part each keep
their settings in their own block below."""

from .auth import RATE_LIMITS
from .base import DEFAULT_BEAT_SCHEDULES, env

# `postgres` (default, works on the embedded database) or `elasticsearch`.
SEARCH_BACKEND = env("SEARCH_BACKEND", default="postgres")

# GET /api/search and /api/search/autocomplete: autocomplete fires on every keystroke, so the
# limit is looser than the default group's; RATE_LIMITS in the environment still overrides it.
RATE_LIMITS.setdefault("search", {"ip": "600/min", "user": "1200/min"})

# Record every search (normalised query, zero-result count) for the admin report.
SEARCH_QUERY_STATS_ENABLED = env.bool("SEARCH_QUERY_STATS_ENABLED", default=True)

DEFAULT_BEAT_SCHEDULES["search index consistency"] = {
    "task": "search.index_product.consistency",
    "crontab": {"minute": "23"},
    "kwargs": {"sample": 50},
    "description": "Compare the search index with the catalog (counts, ids, sampled documents) "
    "and repair drift.",
}

# --- PostgreSQL backend ---
# Nothing to configure: the tables, indexes and the `emporium_search` text search configuration
# come with the migrations (search/migrations/0002_pg_storage.py).

# --- Elasticsearch backend ---
ELASTICSEARCH_URL = env("ELASTICSEARCH_URL", default="")
