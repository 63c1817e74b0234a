"""The search backend chosen by SEARCH_BACKEND: `postgres` (default) or `elasticsearch`.

Each backend implements search.base.SearchBackend: search.pg for PostgreSQL, search.es for
Elasticsearch.
"""

from __future__ import annotations

from django.conf import settings

from search.base import SearchBackend


def get_backend() -> SearchBackend:
    if settings.SEARCH_BACKEND == "elasticsearch":
        from search.es.backend import ElasticsearchBackend

        return ElasticsearchBackend(settings.ELASTICSEARCH_URL)
    from search.pg.backend import PostgresBackend

    return PostgresBackend()
