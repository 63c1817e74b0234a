"""The Elasticsearch backend end to end against a local fake server (search.tests.es_support):
the real client sends real requests (setup, synonyms, bulk, alias swap, search) and parses the
answers; the fake records what arrived."""

from __future__ import annotations

import time

import pytest

from search.backends import get_backend
from search.base import SearchQuery
from search.es.backend import ElasticsearchBackend, get_client
from search.models import ReindexCheckpoint, Synonym
from search.tests.es_support import Catalog, FakeElasticsearch, product, variant
from search.tests.test_es_queries import recorded_response

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings):
    with FakeElasticsearch() as server:
        settings.SEARCH_BACKEND = "elasticsearch"
        settings.ELASTICSEARCH_URL = server.url
        settings.ELASTICSEARCH_INDEX_ALIAS = "shop"
        settings.ELASTICSEARCH_SYNONYMS_SET = "shop-synonyms"
        yield server
    get_client.cache_clear()


@pytest.fixture
def catalog(monkeypatch):
    catalog = Catalog()
    catalog.add(
        product(1, "Trail Runner", variant(11, color="red"), variant(12, color="blue")),
        product(2, "Road Racer", variant(21, price="99.00")),
        product(3, "Court Classic", variant(31, in_stock=False)),
    )
    return catalog.install(monkeypatch)


@pytest.fixture
def backend(fake) -> ElasticsearchBackend:
    backend = get_backend()
    assert isinstance(backend, ElasticsearchBackend)
    return backend


def test_setup_puts_the_synonyms_and_creates_an_index_behind_the_alias(fake, backend):
    Synonym.objects.create(terms="sneakers, trainers")
    backend.setup()
    assert fake.synonym_sets["shop-synonyms"] == [
        {"id": "rule-1", "synonyms": "sneakers, trainers"}
    ]
    (index,) = fake.indexes
    assert index.startswith("shop-")
    assert fake.aliases["shop"] == {index}
    created = fake.calls("PUT", f"/{index}")[0].body
    assert created["aliases"] == {"shop": {}}
    assert created["mappings"]["properties"]["product_id"]["type"] == "long"

    backend.setup()  # again: nothing new
    assert len(fake.indexes) == 1
    assert not backend.warn_if_outdated([index])


def test_setup_warns_when_the_live_mapping_is_outdated(fake, backend, caplog):
    backend.setup()
    (index,) = fake.indexes
    fake.indexes[index]["body"]["mappings"]["_meta"] = {"mapping_version": 0}
    backend.setup()
    assert "run manage.py search_reindex" in caplog.text


def test_requests_ask_for_rest_compatibility_with_9_the_supported_server(fake, backend):
    backend.ping()
    backend.setup()
    for request in fake.requests:
        assert "compatible-with=8" not in request.headers.get("accept", "")
    put = fake.calls("PUT", r"/_synonyms/.*")[0]
    assert put.headers["content-type"] == "application/vnd.elasticsearch+json; compatible-with=9"


def test_an_8x_cluster_being_upgraded_is_asked_for_compatibility_with_8(fake, backend, settings):
    settings.ELASTICSEARCH_COMPATIBILITY = 8
    backend.ping()
    backend.setup()
    for request in fake.requests:
        assert "compatible-with=9" not in request.headers.get("accept", "")
    put = fake.calls("PUT", r"/_synonyms/.*")[0]
    assert put.headers["content-type"] == "application/vnd.elasticsearch+json; compatible-with=8"


def test_ping_fails_fast_when_nothing_answers(settings):
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:1"
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 - the client's connection error
        ElasticsearchBackend(settings.ELASTICSEARCH_URL).ping()
    assert time.monotonic() - started < 2
    get_client.cache_clear()


def test_ping_without_a_url_says_so(settings):
    settings.ELASTICSEARCH_URL = ""
    with pytest.raises(RuntimeError, match="ELASTICSEARCH_URL"):
        ElasticsearchBackend("").ping()


def test_index_products_writes_one_document_per_variant(fake, backend, catalog):
    backend.setup()
    report = backend.index_products([1, 2])
    assert (report.indexed, report.removed) == (2, 0)
    docs = fake.docs("shop")
    assert set(docs) == {"11", "12", "21"}
    assert docs["12"]["attributes"] == {"material": "leather", "color": "blue"}
    call = fake.calls("PUT|POST", "/_bulk")[-1]
    assert call.body[0] == {"index": {"_index": "shop", "_id": "11"}}
    assert call.params["require_alias"] == "true"  # never auto-creates an index named "shop"


def test_index_products_deletes_variants_and_products_that_left(fake, backend, catalog):
    backend.setup()
    backend.index_products([1, 2, 3])
    catalog.add(product(1, "Trail Runner", variant(11, color="red")))  # variant 12 deactivated
    del catalog.products[3]  # product deactivated
    report = backend.index_products([1, 3])
    assert (report.indexed, report.removed) == (1, 1)
    assert set(fake.docs("shop")) == {"11", "21"}
    bulk = fake.calls("PUT|POST", "/_bulk")[-1].body
    assert {"delete": {"_index": "shop", "_id": "12"}} in bulk
    assert {"delete": {"_index": "shop", "_id": "31"}} in bulk


def test_search_round_trip_parses_the_answer(fake, backend, catalog):
    from products.models import AttributeDefinition, Category

    parent = Category.objects.create(name="Clothing", slug="clothing")
    Category.objects.create(name="Shoes", slug="shoes", parent=parent)
    AttributeDefinition.objects.create(code="color", name="Colour", type="text")
    AttributeDefinition.objects.create(code="size", name="Size", type="text")
    AttributeDefinition.objects.create(
        code="internal", name="Internal", type="text", is_filterable=False
    )
    backend.setup()
    fake.search_answer = recorded_response()
    query = SearchQuery(q="trial runer", brands=("acme",), attributes={"color": ("red",)})
    result = backend.search(query)

    sent = fake.calls("POST", "/shop/_search")[-1].body
    assert sent["collapse"]["field"] == "product_id"
    assert sent["post_filter"]["bool"]["filter"][0] == {"terms": {"brand.slug": ["acme"]}}
    assert result.total == 1
    assert [v.sku for v in result.hits[0].variants] == ["SKU-71", "SKU-72"]
    assert [c.label for c in result.facets.categories] == ["Clothing", "Shoes"]
    assert [a.code for a in result.facets.attributes] == ["color", "size"]
    assert result.suggestion == "trail runner"


def test_autocomplete_round_trip(fake, backend):
    backend.setup()
    product_hit = {"_source": {"product_id": 1, "name": "Trail Runner", "slug": "trail-runner"}}
    brand = {"key": "trailco", "label": {"buckets": [{"key": "TrailCo"}]}}
    fake.search_answer = {
        "hits": {"hits": [product_hit]},
        "aggregations": {
            "brands": {"values": {"buckets": [brand]}},
            "categories": {"values": {"buckets": []}},
        },
    }
    found = backend.autocomplete("trai")
    assert [(s.kind, s.slug) for s in found] == [("brand", "trailco"), ("product", "trail-runner")]
    assert backend.autocomplete("  ") == []


def test_reindex_builds_a_new_index_and_swaps_the_alias(fake, backend, catalog):
    backend.setup()
    (old,) = fake.indexes
    seen = []
    report = backend.reindex(batch_size=2, progress=seen.append)
    assert report.indexed == 3
    assert seen == [2, 1]
    (new,) = fake.indexes  # the old index is gone
    assert new != old
    assert fake.aliases["shop"] == {new}
    assert set(fake.docs("shop")) == {"11", "12", "21", "31"}
    swap = fake.calls("POST", "/_aliases")[-1].body["actions"]
    assert swap == [
        {"remove": {"index": old, "alias": "shop"}},
        {"add": {"index": new, "alias": "shop"}},
    ]
    created = fake.calls("PUT", f"/{new}")[0].body
    assert created["settings"]["refresh_interval"] == "-1"  # live settings come back at the end
    assert fake.calls("PUT", f"/{new}/_settings")[0].body == {
        "number_of_replicas": 0,
        "refresh_interval": "1s",
    }
    checkpoint = ReindexCheckpoint.objects.get(backend="elasticsearch")
    assert (checkpoint.status, checkpoint.processed, checkpoint.total) == ("done", 3, 3)
    assert checkpoint.target == new


def test_reindex_resumes_after_the_checkpoint(fake, backend, catalog):
    backend.setup()
    fake.indexes["shop-partial"] = {"body": {}, "docs": {}}
    ReindexCheckpoint.objects.create(
        backend="elasticsearch", target="shop-partial", last_product_id=1, processed=1, total=3
    )
    backend.reindex(batch_size=10, resume=True)
    assert fake.aliases["shop"] == {"shop-partial"}
    assert set(fake.docs("shop")) == {"21", "31"}  # product 1 was done before the interruption
    checkpoint = ReindexCheckpoint.objects.get(backend="elasticsearch")
    assert (checkpoint.status, checkpoint.processed) == ("done", 3)


def test_reindex_without_resume_drops_an_abandoned_build(fake, backend, catalog):
    backend.setup()
    fake.indexes["shop-abandoned"] = {"body": {}, "docs": {}}
    ReindexCheckpoint.objects.create(backend="elasticsearch", target="shop-abandoned")
    backend.reindex()
    assert "shop-abandoned" not in fake.indexes
    assert set(fake.docs("shop")) == {"11", "12", "21", "31"}


def test_changes_during_a_reindex_reach_the_index_being_built(fake, backend, catalog):
    backend.setup()
    fake.indexes["shop-building"] = {"body": {}, "docs": {}}
    ReindexCheckpoint.objects.create(backend="elasticsearch", target="shop-building")
    backend.index_products([2])
    assert set(fake.docs("shop")) == {"21"}
    assert set(fake.indexes["shop-building"]["docs"]) == {"21"}
    assert fake.calls("POST", "/shop-building/_refresh")  # its stale documents become visible


def test_consistency_finds_and_repairs_drift(fake, backend, catalog):
    backend.setup()
    backend.index_products([1, 2, 3])
    docs = fake.docs("shop")
    del docs["21"]  # product 2 missing
    docs["99"] = {**docs["11"], "product_id": 9}  # product 9 no longer searchable
    docs["31"] = {**docs["31"], "name": "Old name"}  # product 3 stale
    report = backend.check_consistency(sample=10, repair=True)
    assert (report.indexed, report.expected) == (3, 3)
    assert report.missing == (2,)
    assert report.extra == (9,)
    assert report.stale == (3,)
    assert report.repaired
    assert not report.consistent
    again = backend.check_consistency(sample=10, repair=False)
    assert again.consistent
    assert not again.repaired


def test_synonyms_changed_updates_the_set(fake, backend):
    backend.setup()
    Synonym.objects.create(terms="tv, television")
    backend.synonyms_changed()
    assert fake.synonym_sets["shop-synonyms"] == [{"id": "rule-1", "synonyms": "tv, television"}]
    assert not fake.calls("POST", r"/.*/_close")  # no index goes dark


def test_health_reports_the_search_backend_up(fake, api_client, settings):
    settings.METRICS_TOKEN = "metrics-t0ken"
    response = api_client.get("/api/health/ready", HTTP_AUTHORIZATION="Bearer metrics-t0ken")
    assert response.json()["checks"]["search"]["status"] == "ok"


def test_catalog_rows_reach_the_index_through_the_command_and_the_task(fake):
    """The real search.documents over real rows, through init_search and the indexing task."""
    from django.core.management import call_command

    from search.tasks import search_index_product_task
    from testing.factories import Catalog as ProductsCatalog

    rows = ProductsCatalog()
    call_command("init_search", stdout=None)
    assert fake.aliases["shop"]
    assert search_index_product_task([rows.runner.pk]) == {"indexed": 1, "removed": 0}
    docs = fake.docs("shop")
    skus = sorted(source["sku"] for source in docs.values())
    assert skus == ["RR-BLUE-42", "RR-RED-43"]
    blue = next(s for s in docs.values() if s["sku"] == "RR-BLUE-42")
    assert blue["category_path"] == ["apparel", "shoes", "running"]
    assert blue["attribute_pairs"] == ["color=blue", "material=mesh", "size=42"]

    rows.runner.is_active = False
    rows.runner.save(update_fields=["is_active"])
    assert search_index_product_task([rows.runner.pk]) == {"indexed": 0, "removed": 1}
    assert fake.docs("shop") == {}


def test_search_reindex_command_resumes_an_interrupted_build(fake, catalog):
    from io import StringIO

    from django.core.management import call_command

    call_command("init_search", stdout=StringIO())
    (live,) = fake.indexes
    fake.indexes["shop-interrupted"] = {"body": {}, "docs": {}}
    ReindexCheckpoint.objects.create(
        backend="elasticsearch", target="shop-interrupted", last_product_id=2, processed=2, total=3
    )
    out = StringIO()
    call_command("search_reindex", "--resume", "--no-progress", stdout=out)
    assert "resuming after product 2" in out.getvalue()
    assert fake.aliases["shop"] == {"shop-interrupted"}
    assert live not in fake.indexes
    assert set(fake.docs("shop")) == {"31"}  # only what came after the checkpoint was written


def test_an_unavailable_cluster_is_a_503_in_the_error_shape(fake, backend, api_client):
    from search.es.errors import SearchUnavailable

    backend.setup()
    fake.fail_searches = True
    with pytest.raises(SearchUnavailable):
        backend.search(SearchQuery(q="runner"))
    response = api_client.get("/api/search", {"q": "runner"})
    assert response.status_code == 503
    assert response.json()["code"] == "search_unavailable"
    assert response["Retry-After"] == "5"


def test_a_missing_index_is_a_503_too(fake, backend, api_client):
    response = api_client.get("/api/search/autocomplete", {"q": "run"})
    assert response.status_code == 503
    assert response.json()["code"] == "search_unavailable"
