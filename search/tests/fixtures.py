"""The search tests' fixtures (registered in the root conftest.py): the relevance catalog committed
once per module (it is read-only for the tests that use it), and the backends to run it against."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from search.tests.catalog import RelevanceCatalog


def _wipe() -> None:
    from products.seed import catalog_reset

    catalog_reset()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE search_pg_entry, search_pg_card, search_pg_product, search_pg_word,"
            " search_pg_variant_word,"
            " search_pg_suggestion, search_synonym, search_searchquerystat,"
            " search_reindexcheckpoint"
        )


def make_backend(name: str):
    if name == "elasticsearch":
        if not settings.ELASTICSEARCH_URL:
            pytest.skip("ELASTICSEARCH_URL is not set: no Elasticsearch server to test against")
        from search.es.backend import ElasticsearchBackend

        return ElasticsearchBackend(settings.ELASTICSEARCH_URL)
    from search.pg.backend import PostgresBackend

    return PostgresBackend()


@pytest.fixture(scope="module")
def relevance_catalog(django_db_setup, django_db_blocker):
    """Committed (not rolled back) so every backend, and a real Elasticsearch, reads it; wiped
    when the module ends."""
    with django_db_blocker.unblock():
        _wipe()
        catalog = RelevanceCatalog()
        yield catalog
        _wipe()


@pytest.fixture(scope="module", params=["postgres", "elasticsearch"])
def indexed_backend(request, relevance_catalog, django_db_blocker):
    with django_db_blocker.unblock():
        backend = make_backend(request.param)
        backend.setup()
        backend.reindex()
        yield backend


@pytest.fixture(scope="module")
def pg_indexed(relevance_catalog, django_db_blocker):
    """The relevance catalog indexed by the PostgreSQL backend (the API tests' default)."""
    with django_db_blocker.unblock():
        backend = make_backend("postgres")
        backend.setup()
        backend.reindex()
        yield relevance_catalog
