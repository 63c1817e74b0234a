"""The PostgreSQL backend's answer cache (a repeated search is served without the search
statement; an index write makes the next search read the index again) and its product-level
browse path (the same answers as the per-variant rows)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from products import services
from products.models import Brand, Category
from search.base import SearchQuery
from search.models import SearchCard, SearchEntry
from search.pg import indexer, terms
from search.pg import query as query_module
from search.pg.backend import PostgresBackend

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(catalog):
    """The small catalog (testing/fixtures.py), indexed."""
    PostgresBackend().reindex()
    return catalog


def search_statements(query: SearchQuery) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as captured:
        result = PostgresBackend().search(query)
    return result, sum("search_pg_entry" in q["sql"] for q in captured.captured_queries)


def test_a_repeated_search_is_served_from_the_cache(catalog):
    query = SearchQuery(q="", in_stock=True)
    first, statements = search_statements(query)
    assert statements == 1
    again, statements = search_statements(query)
    assert statements == 0
    assert again == first
    assert first.total > 0 and first.facets is not None


def test_an_index_write_invalidates_cached_answers(
    catalog, eager_tasks, django_capture_on_commit_callbacks
):
    query = SearchQuery(q="blazer")
    assert PostgresBackend().search(query).total == 0
    with django_capture_on_commit_callbacks(execute=True):
        services.product_update(product_id=catalog.runner.pk, name="Trail Blazer")
    assert [h.name for h in PostgresBackend().search(query).hits] == ["Trail Blazer"]


def test_a_bump_inside_the_writing_transaction_also_counts(catalog):
    """index_changed bumps at once (and again after commit): a reader in the same transaction
    does not get the answer cached before the write."""
    query = SearchQuery(q="", facets=False)
    before = PostgresBackend().search(query).total
    indexer.write_documents([catalog.runner.pk], [])
    assert PostgresBackend().search(query).total == before - 1


def test_the_cache_can_be_turned_off(catalog, settings):
    settings.SEARCH_CACHE_TTL = 0
    query = SearchQuery(q="", facets=False)
    search_statements(query)
    _, statements = search_statements(query)
    assert statements == 1


@pytest.mark.parametrize("in_stock", [True, False, None])
def test_attribute_facets_count_only_variants_the_stock_filter_keeps(catalog, settings, in_stock):
    """A product some of whose variants are sold out: with in_stock=True its sold-out variants'
    values must not be counted (the precomputed per-product values cover every variant, so they
    only stand in when every variant of the product matched)."""
    settings.SEARCH_CACHE_TTL = 0
    result = PostgresBackend().search(SearchQuery(q="", in_stock=in_stock))
    counted = {
        (facet.code, value.value): value.count
        for facet in result.facets.attributes
        for value in facet.values
    }
    products: dict[tuple[str, str], set[int]] = {}
    entries = SearchEntry.objects.all()
    if in_stock is not None:
        entries = entries.filter(in_stock=in_stock)
    for entry in entries:
        for pair in [*entry.pattrs, *entry.vattrs]:
            code, _, value = pair.partition("=")
            products.setdefault((code, value), set()).add(entry.product_id)
    codes = {code for code, _ in counted}
    assert counted == {key: len(ids) for key, ids in products.items() if key[0] in codes}


@pytest.mark.parametrize("in_stock", [True, None])
@pytest.mark.parametrize("sort", ["relevance", "price_asc", "newest", "rating", "popularity"])
def test_browsing_on_product_cards_answers_as_the_variant_rows_do(catalog, in_stock, sort):
    """query.run_cards (one row per product) against query.run_variants (one per variant)."""
    analysis = terms.analyse("")
    brands = list(Brand.objects.values_list("slug", flat=True))
    categories = [None, *Category.objects.values_list("slug", flat=True)]
    cases = [
        SearchQuery(q="", in_stock=in_stock, sort=sort, category=category, brands=chosen)
        for category in categories
        for chosen in [(), tuple(brands[:1]), tuple(brands[1:3])]
    ]
    cases.append(SearchQuery(q="", in_stock=in_stock, sort=sort, page=2, page_size=2))
    cases.append(SearchQuery(q="", in_stock=in_stock, sort=sort, facets=False))
    for query in cases:
        assert query_module.product_level(query, analysis)
        assert query_module.run_cards(query) == query_module.run_variants(query, analysis), query


def test_variant_conditions_keep_the_variant_rows():
    analysis = terms.analyse("")
    for query in [
        SearchQuery(q="", in_stock=False),
        SearchQuery(q="", price_max=Decimal(50)),
        SearchQuery(q="", attributes={"color": ("red",)}),
    ]:
        assert not query_module.product_level(query, analysis)


def test_cards_follow_index_writes(catalog):
    indexer.write_documents([catalog.runner.pk], [])
    assert not SearchCard.objects.filter(product_id=catalog.runner.pk).exists()
    indexer.index_products([catalog.runner.pk])
    card = SearchCard.objects.get(product_id=catalog.runner.pk)
    entries = SearchEntry.objects.filter(product_id=catalog.runner.pk)
    assert card.variant_ids == sorted(e.variant_id for e in entries)
    assert card.stock_variant_ids == sorted(e.variant_id for e in entries if e.in_stock)
