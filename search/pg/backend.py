"""PostgreSQL full-text search backend (the default). The search issue fills in the query side."""

from __future__ import annotations

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
