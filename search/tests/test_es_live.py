"""The Elasticsearch backend against a real server (8.10 or later: synonyms sets).

Runs where ELASTICSEARCH_URL is set (e.g. `docker compose up elasticsearch` and
ELASTICSEARCH_URL=http://127.0.0.1:9200); skipped otherwise, in CI too, since no server can be
installed on the build machines. Each run uses its own alias and synonyms set and removes them.
"""

from __future__ import annotations

import os
import threading
import uuid
from decimal import Decimal

import pytest

from search.base import SearchQuery
from search.es.backend import ElasticsearchBackend, get_client
from search.models import Synonym
from search.tests.es_support import Catalog, product, variant

URL = os.environ.get("ELASTICSEARCH_URL", "")

pytestmark = [
    pytest.mark.skipif(
        not URL, reason="ELASTICSEARCH_URL is not set: no Elasticsearch server to test against"
    ),
    pytest.mark.django_db,
]


@pytest.fixture
def catalog(monkeypatch):
    catalog = Catalog()
    catalog.add(
        product(
            1,
            "Trail Runner",
            variant(11, price="59.90", color="red", size="42"),
            variant(12, price="64.90", color="blue", size="43"),
            is_featured=True,
        ),
        product(2, "Road Racer", variant(21, price="120.00", color="red", size="42")),
        product(
            3,
            "Wool Sweater",
            variant(31, price="45.00", in_stock=False, color="grey"),
            brand_id=2,
            brand_name="Nordic",
            brand_slug="nordic",
            category_id=3,
            category_name="Knitwear",
            category_slug="knitwear",
            category_path_slugs=("clothing", "knitwear"),
            category_path_names=("Clothing", "Knitwear"),
            attributes={"material": "wool"},
        ),
        product(4, "Canvas Trainers", variant(41, price="35.00", color="white")),
    )
    return catalog.install(monkeypatch)


@pytest.fixture
def backend(settings, catalog):
    from products.models import AttributeDefinition, Category

    run = uuid.uuid4().hex[:8]
    settings.ELASTICSEARCH_URL = URL
    settings.ELASTICSEARCH_INDEX_ALIAS = f"emporium-test-{run}"
    settings.ELASTICSEARCH_SYNONYMS_SET = f"emporium-test-{run}"
    clothing = Category.objects.create(name="Clothing", slug="clothing")
    Category.objects.create(name="Shoes", slug="shoes", parent=clothing)
    Category.objects.create(name="Knitwear", slug="knitwear", parent=clothing)
    AttributeDefinition.objects.create(code="color", name="Colour", type="text")
    AttributeDefinition.objects.create(code="size", name="Size", type="text")
    Synonym.objects.create(terms="sneakers, trainers")
    backend = ElasticsearchBackend(URL)
    backend.setup()
    backend.index_products(list(catalog.products))
    backend.client.indices.refresh(index=backend.alias)
    yield backend
    client = backend.client
    # One name at a time: ES 8 refuses wildcard deletes (action.destructive_requires_name).
    for name in client.options(ignore_status=404).indices.get(index=f"{backend.alias}-*"):
        client.options(ignore_status=404).indices.delete(index=name)
    client.options(ignore_status=404).synonyms.delete_synonym(
        id=settings.ELASTICSEARCH_SYNONYMS_SET
    )
    get_client.cache_clear()


def _ids(result) -> list[int]:
    return [hit.id for hit in result.hits]


def test_text_search_finds_products_with_their_matching_variants(backend):
    result = backend.search(SearchQuery(q="trail runner"))
    assert _ids(result) == [1]
    assert result.total == 1
    assert {v.sku for v in result.hits[0].variants} == {"SKU-11", "SKU-12"}


def test_misspelled_words_still_match_and_suggest(backend):
    result = backend.search(SearchQuery(q="trial runer"))
    assert 1 in _ids(result)
    assert result.suggestion is None or "trail" in result.suggestion


def test_synonyms_match_and_follow_edits_without_reindex(backend):
    assert _ids(backend.search(SearchQuery(q="sneakers"))) == [4]
    assert _ids(backend.search(SearchQuery(q="jumper"))) == []
    Synonym.objects.create(terms="jumper, sweater")
    backend.synonyms_changed()
    assert _ids(backend.search(SearchQuery(q="jumper"))) == [3]


def test_filters_and_facets_count_products(backend):
    query = SearchQuery(category="shoes", attributes={"color": ("red", "blue")}, sort="price_asc")
    result = backend.search(query)
    assert _ids(result) == [1, 2]
    assert result.hits[0].price_min == Decimal("59.90")
    color = next(a for a in result.facets.attributes if a.code == "color")
    counts = {v.value: v.count for v in color.values}
    # Own filter excluded: white (product 4) still counted, red counts products 1 and 2 once.
    assert counts == {"red": 2, "blue": 1, "white": 1}
    brands = {b.value: b.count for b in result.facets.brands}
    assert brands == {"acme": 2}  # colour filter applies; category filter applies
    categories = {c.value: c.count for c in result.facets.categories}
    # Category filter excluded, colour still applies: the grey sweater and white trainers drop.
    assert categories == {"clothing": 2, "shoes": 2}


def test_price_and_stock_filter_variants(backend):
    result = backend.search(SearchQuery(price_min=Decimal("60"), price_max=Decimal("100")))
    assert _ids(result) == [1]
    assert [v.sku for v in result.hits[0].variants] == ["SKU-12"]
    assert 3 not in _ids(backend.search(SearchQuery(in_stock=True)))


def test_autocomplete_suggests_products_brands_and_categories(backend):
    found = backend.autocomplete("trai")
    assert ("product", "trail-runner") in [(s.kind, s.slug) for s in found]
    assert ("brand", "nordic") in [(s.kind, s.slug) for s in backend.autocomplete("nordc")]
    assert ("category", "knitwear") in [(s.kind, s.slug) for s in backend.autocomplete("knit")]


def test_reindex_swaps_the_alias_while_searches_keep_answering(backend):
    errors: list[Exception] = []
    done = threading.Event()

    def search_forever():
        while not done.is_set():
            try:
                backend.search(SearchQuery(q="runner", facets=False))
            except Exception as exc:
                errors.append(exc)

    before = backend.alias_targets()
    thread = threading.Thread(target=search_forever)
    thread.start()
    try:
        report = backend.reindex(batch_size=1)
    finally:
        done.set()
        thread.join()
    assert errors == []
    assert report.indexed == 4
    after = backend.alias_targets()
    assert after != before
    assert len(after) == 1
    assert backend.check_consistency(sample=10, repair=False).consistent
