"""The search backend chosen by SEARCH_BACKEND: `postgres` (default) or `elasticsearch`.

Each backend implements search.base.SearchBackend: search.pg for PostgreSQL, search.es for
Elasticsearch. They are named by dotted path, as Django names its cache and storage backends:
the Elasticsearch client takes about a second to import, and a shop on PostgreSQL never loads it.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from search.base import SearchBackend

BACKENDS = {
    "postgres": "search.pg.backend.PostgresBackend",
    "elasticsearch": "search.es.backend.ElasticsearchBackend",
}


def get_backend() -> SearchBackend:
    backend_class = import_string(BACKENDS[settings.SEARCH_BACKEND])
    return backend_class.from_settings()
