"""Search: which backend, and its tuning. The PostgreSQL part and the Elasticsearch part each keep
their settings in their own block below."""

from .base import env

# `postgres` (default, works on the embedded database) or `elasticsearch`.
SEARCH_BACKEND = env("SEARCH_BACKEND", default="postgres")

# --- PostgreSQL backend ---

# --- Elasticsearch backend ---
ELASTICSEARCH_URL = env("ELASTICSEARCH_URL", default="")
