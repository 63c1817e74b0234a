"""Search: which backend, its rate-limit group and index check, and its tuning. The PostgreSQL part
and the Elasticsearch part each keep their settings in their own block below."""

from .env import env

# `postgres` (default, works on the embedded database) or `elasticsearch`.
SEARCH_BACKEND = env("SEARCH_BACKEND", default="postgres")

# GET /api/search and /api/search/autocomplete: autocomplete fires on every keystroke, so the
# limit is looser than the default group's; RATE_LIMITS in the environment still overrides it.
SEARCH_RATE_LIMITS = {"search": {"ip": "600/min", "user": "1200/min"}}

# Record every search (normalised query, zero-result count) for the admin report.
SEARCH_QUERY_STATS_ENABLED = env.bool("SEARCH_QUERY_STATS_ENABLED", default=True)

SEARCH_BEAT_SCHEDULES = {
    "search index consistency": {
        "task": "search.index_product.consistency",
        "crontab": {"minute": "23"},
        "kwargs": {"sample": 50},
        "description": "Compare the search index with the catalog (counts, ids, sampled "
        "documents) and repair drift.",
    },
}

# --- PostgreSQL backend ---
# Nothing to configure: the tables, indexes and the `emporium_search` text search configuration
# come with the migrations (search/migrations/0002_pg_storage.py).

# --- Elasticsearch backend ---
ELASTICSEARCH_URL = env("ELASTICSEARCH_URL", default="")
# Searches and writes go through this alias; a reindex builds "<alias>-<timestamp>" and swaps.
ELASTICSEARCH_INDEX_ALIAS = env("ELASTICSEARCH_INDEX_ALIAS", default="emporium-products")
# The synonyms set (Synonyms API, ES >= 8.10) the search analyzer reads, fed from search.Synonym.
ELASTICSEARCH_SYNONYMS_SET = env("ELASTICSEARCH_SYNONYMS_SET", default="emporium-synonyms")
ELASTICSEARCH_SHARDS = env.int("ELASTICSEARCH_SHARDS", default=1)
ELASTICSEARCH_REPLICAS = env.int("ELASTICSEARCH_REPLICAS", default=0)
# Elasticsearch 9 with the 9.x client is the supported pair; 8 (asked of an 8.x or 9.x server
# alike) only while a cluster is upgraded from 8 (docs/search.md).
ELASTICSEARCH_COMPATIBILITY = env.int("ELASTICSEARCH_COMPATIBILITY", default=9)
ELASTICSEARCH_TIMEOUT = env.float("ELASTICSEARCH_TIMEOUT", default=5.0)  # searches, seconds
ELASTICSEARCH_PING_TIMEOUT = env.float("ELASTICSEARCH_PING_TIMEOUT", default=1.0)  # readiness
ELASTICSEARCH_BULK_TIMEOUT = env.float("ELASTICSEARCH_BULK_TIMEOUT", default=60.0)  # indexing
# Price facet buckets: the boundaries between ranges (first open below, last open above); the
# PostgreSQL backend's edges (search.pg.query.PRICE_EDGES), so both answer alike.
ELASTICSEARCH_PRICE_RANGES = env.list(
    "ELASTICSEARCH_PRICE_RANGES", default=["25", "50", "100", "200", "500", "1000"]
)
# "Did you mean" is offered when fewer products than this match the words as typed (typo-tolerant
# matches aside); 1: only when none does.
ELASTICSEARCH_SUGGEST_BELOW = env.int("ELASTICSEARCH_SUGGEST_BELOW", default=1)
