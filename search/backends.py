"""Search backends, chosen by SEARCH_BACKEND. The search issue grows the query side."""

from __future__ import annotations

from django.conf import settings
from django.db import connection


class PostgresBackend:
    name = "postgres"

    def ping(self) -> None:
        """Raise unless the database answers and has the extensions full-text search uses."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_extension WHERE extname IN ('pg_trgm', 'unaccent')"
            )
            (count,) = cursor.fetchone()
        if count != 2:
            raise RuntimeError("the pg_trgm and unaccent extensions are missing; run migrate")


class ElasticsearchBackend:
    name = "elasticsearch"

    def __init__(self, url: str) -> None:
        from elasticsearch import Elasticsearch

        self.client = Elasticsearch(url, request_timeout=2, max_retries=0)

    def ping(self) -> None:
        self.client.info()


def get_backend() -> PostgresBackend | ElasticsearchBackend:
    if settings.SEARCH_BACKEND == "elasticsearch":
        return ElasticsearchBackend(settings.ELASTICSEARCH_URL)
    return PostgresBackend()
