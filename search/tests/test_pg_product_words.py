"""Word queries on the product cards (search.pg.query.product_words): when no word of the query is
a variant's own word (SKU, name, option value), every variant of a product matches or none does,
and run_cards must answer exactly as run_variants does: hits, scores, variants, total, facets."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from products.models import Brand, Category
from search.base import SearchQuery
from search.pg import query as query_module
from search.pg import terms
from search.pg.backend import PostgresBackend

pytestmark = pytest.mark.django_db

PRODUCT_WORDS = [
    "laptop",
    "espresso",
    "adidas",
    "running shoes",
    "headphones",
    "cafe creme",
    "sneakers",  # a synonym set: trainers
    "runing",  # corrected to running
    "electronics",
    "shoes",
]
VARIANT_WORDS = [
    "blue running shoes",  # a colour of the variants
    "ADI-UB22-BLU-42",  # a SKU
    "macbook 256",  # a storage option
    "size 42",
]


@pytest.mark.parametrize("q", PRODUCT_WORDS)
def test_product_words_run_on_the_cards_and_answer_as_the_variant_rows(pg_indexed, q):
    analysis = terms.analyse(q)
    brands = list(Brand.objects.order_by("slug").values_list("slug", flat=True))
    categories = [None, *Category.objects.order_by("slug").values_list("slug", flat=True)]
    cases = [
        SearchQuery(q=q, in_stock=in_stock, sort=sort, category=category, brands=chosen)
        for in_stock in (None, True)
        for sort in ("relevance", "price_desc", "newest")
        for category in categories[:6]
        for chosen in [(), tuple(brands[:2])]
    ]
    cases.append(SearchQuery(q=q, page=2, page_size=2))
    cases.append(SearchQuery(q=q, facets=False))
    for query in cases:
        assert query_module.product_words(query, analysis), query
        cards = query_module.run_cards(query, analysis)
        assert cards.total > 0 or query.brands or query.category, query
        assert cards == query_module.run_variants(query, analysis), query


@pytest.mark.parametrize("q", VARIANT_WORDS)
def test_a_variant_word_or_a_sku_keeps_the_variant_rows(pg_indexed, q):
    assert not query_module.product_words(SearchQuery(q=q), terms.analyse(q))


def test_variant_filters_keep_the_variant_rows_whatever_the_words(pg_indexed):
    analysis = terms.analyse("laptop")
    for query in [
        SearchQuery(q="laptop", in_stock=False),
        SearchQuery(q="laptop", price_max=Decimal(1000)),
        SearchQuery(q="laptop", attributes={"storage": ("512",)}),
    ]:
        assert not query_module.product_words(query, analysis)


def test_a_card_search_reads_no_variant_row_but_the_page_s(pg_indexed, settings):
    settings.SEARCH_CACHE_TTL = 0
    with CaptureQueriesContext(connection) as captured:
        result = PostgresBackend().search(SearchQuery(q="shoes"))
    statement = next(q["sql"] for q in captured.captured_queries if "search_pg_card" in q["sql"])
    assert "c.tsv @@ tq.query" in statement
    assert "WITH m AS" not in statement  # not the per-variant statement
    assert result.total >= 10 and result.facets.brands


def test_the_migration_fills_what_the_indexer_writes(pg_indexed):
    """Migration 0006 rebuilds vtsv and the cards' tsv in SQL for rows indexed before it: the
    same vectors as the indexer's (vtsv's word positions may differ: only whether it matches is
    read)."""
    migration = importlib.import_module("search.migrations.0006_card_text_match")
    updates = [s for s in migration.FILL.split(";") if s.strip().startswith("UPDATE")]
    read = (
        "SELECT array_agg(strip(vtsv)::text ORDER BY variant_id) FROM search_pg_entry",
        "SELECT array_agg(tsv::text ORDER BY product_id) FROM search_pg_card",
    )
    with transaction.atomic(), connection.cursor() as cursor:
        written = []
        for statement in read:
            cursor.execute(statement)
            written.append(cursor.fetchone()[0])
        cursor.execute("UPDATE search_pg_entry SET vtsv = NULL")
        cursor.execute("UPDATE search_pg_card SET tsv = NULL")
        for statement in updates:
            cursor.execute(statement)
        filled = []
        for statement in read:
            cursor.execute(statement)
            filled.append(cursor.fetchone()[0])
        transaction.set_rollback(True)
    assert all(written[0]) and all(written[1])
    assert filled == written
    insert = next(s for s in migration.FILL.split(";") if "search_pg_variant_word" in s)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT array_agg(lexeme ORDER BY lexeme) FROM search_pg_variant_word")
        written = cursor.fetchone()[0]
        cursor.execute("TRUNCATE search_pg_variant_word")
        cursor.execute(insert)
        cursor.execute("SELECT array_agg(lexeme ORDER BY lexeme) FROM search_pg_variant_word")
        assert cursor.fetchone()[0] == written
        transaction.set_rollback(True)
    assert {"blue", "42", "ub22"} <= set(written)


def test_variant_words_join_at_once_and_leave_with_the_vocabulary_rebuild(pg_indexed):
    from products.models import Variant
    from search.models import SearchVariantWord
    from search.pg import indexer

    query, word = SearchQuery(q="turquoise"), "turquois"
    assert not SearchVariantWord.objects.filter(lexeme=word).exists()
    assert query_module.product_words(query, terms.analyse(query.q))
    variant = Variant.objects.get(sku="ADI-UB22-BLU-42")
    Variant.objects.filter(pk=variant.pk).update(name="Turquoise / 42")
    indexer.index_products([variant.product_id])
    assert SearchVariantWord.objects.filter(lexeme=word).exists()  # the write added it
    assert not query_module.product_words(query, terms.analyse(query.q))
    Variant.objects.filter(pk=variant.pk).update(name="Blue / 42")
    indexer.index_products([variant.product_id])
    assert SearchVariantWord.objects.filter(lexeme=word).exists()  # kept until the rebuild
    indexer.rebuild_vocabulary()
    assert not SearchVariantWord.objects.filter(lexeme=word).exists()
    assert SearchVariantWord.objects.filter(lexeme="blue").exists()
