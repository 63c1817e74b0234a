"""Warm catalog reads answered before URL resolution (api/cached_reads.py): the same answer as
the view's, no view run, one Redis round trip on a miss, the metrics' route label, the rate limit
and every fall-through to the view."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_redis import get_redis_connection
from prometheus_client import REGISTRY

from api import cache
from api.cached_reads import CachedReadMiddleware
from products import catalog_pages, services
from products.controllers import public

pytestmark = pytest.mark.django_db

PATHS = [
    "/api/catalog/products?page_size=2&sort=price",
    "/api/catalog/products/{slug}",
    "/api/catalog/categories",
    "/api/catalog/categories/running",
]
# What each path's view builds on a miss; a front hit never calls it.
BUILDERS = [
    "product_list_json",
    "product_detail_json",
    "category_tree_json",
    "category_detail_json",
]


def url_for(path, catalog):
    return path.format(slug=catalog.runner.slug)


def requests_counted(route):
    labels = {"method": "GET", "route": route, "status": "200"}
    return REGISTRY.get_sample_value("emporium_http_requests_total", labels) or 0


@pytest.mark.parametrize(("path", "builder"), list(zip(PATHS, BUILDERS, strict=True)))
def test_a_warm_read_is_the_views_answer_without_the_view(
    client, catalog, monkeypatch, path, builder
):
    url = url_for(path, catalog)
    built = client.get(url)
    assert built.status_code == 200, built.content

    def view_ran(*args, **kwargs):
        raise AssertionError("the view answered a warm read")

    monkeypatch.setattr(catalog_pages, builder, view_ran)
    with CaptureQueriesContext(connection) as queries:
        served = client.get(url)
    assert served.status_code == 200
    assert served.content == built.content
    assert served["Content-Type"] == built["Content-Type"] == "application/json"
    assert len(queries) == 0
    # Everything around it still ran: request id, rate limit headers.
    assert served["X-Request-ID"]
    assert served["X-RateLimit-Remaining"]


def test_a_warm_read_is_counted_under_the_views_route(client, catalog):
    url = f"/api/catalog/products/{catalog.runner.slug}"
    client.get(url)
    route = "api/catalog/products/<slug>"
    before = requests_counted(route)
    assert client.get(url).status_code == 200
    assert requests_counted(route) == before + 1
    assert public.CACHED_READS[1].route == route


def test_every_cached_read_names_the_route_its_view_answers(client, catalog):
    for path, read in zip(PATHS, public.CACHED_READS, strict=True):
        url = url_for(path, catalog).partition("?")[0]
        assert read.pattern.match(url), url
        assert read.route_of(url) == read.route


def redis_calls():
    stats = get_redis_connection("default").info("commandstats")
    return {name: stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "mget")}


def test_a_miss_reads_the_cache_once_before_building(client, catalog):
    assert client.get("/api/catalog/products?page_size=3").status_code == 200  # tokens exist
    before = redis_calls()
    assert client.get("/api/catalog/products?page_size=2").status_code == 200
    after = redis_calls()
    # One round trip: the front's script (the limit and an MGET inside it), which the view's
    # read then reuses instead of a second MGET.
    assert (after["evalsha"] - before["evalsha"], after["mget"] - before["mget"]) == (1, 1)


def test_a_stale_entry_falls_through_to_a_fresh_answer(
    client, catalog, django_capture_on_commit_callbacks
):
    url = f"/api/catalog/products/{catalog.runner.slug}"
    assert client.get(url).json()["name"] == catalog.runner.name
    assert client.get(url).json()["name"] == catalog.runner.name  # from the front
    with django_capture_on_commit_callbacks(execute=True):
        services.product_update(product_id=catalog.runner.pk, name="Renamed shoe")
    assert client.get(url).json()["name"] == "Renamed shoe"


def test_parameters_no_view_accepted_reach_the_view(client, catalog):
    response = client.get("/api/catalog/products?page=zero")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_an_exhausted_limit_is_refused_by_the_front(client, catalog, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "catalog": {"ip": "2/min"}}
    url = "/api/catalog/categories"
    assert [client.get(url).status_code for _ in range(2)] == [200, 200]
    refused = client.get(url)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1
    assert refused["X-RateLimit-Remaining"] == "0"


def test_a_cache_outage_leaves_the_answer_to_the_view(client, catalog, monkeypatch, caplog):
    url = "/api/catalog/categories"
    expected = client.get(url).content

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(catalog_pages, "category_tree_hit", down)
    response = client.get(url)
    assert response.status_code == 200
    assert response.content == expected
    assert any(r.message == "cached read failed" for r in caplog.records)


def test_only_gets_are_answered(catalog, rf):
    answered = []
    middleware = CachedReadMiddleware(lambda request: answered.append(request) or "view")
    for method in ("head", "post", "options"):
        assert getattr(rf, method)("/api/catalog/categories") is not None
        assert middleware(getattr(rf, method)("/api/catalog/categories")) == "view"
    assert len(answered) == 3


def test_with_the_cache_off_the_front_stays_out(client, catalog, settings, monkeypatch):
    settings.CATALOG_CACHE_ENABLED = False
    monkeypatch.setattr(
        cache, "entry_fresh", lambda *a, **k: pytest.fail("read the cache while it is off")
    )
    assert client.get("/api/catalog/categories").status_code == 200
    body = client.get(f"/api/catalog/products/{catalog.runner.slug}").content
    assert json.loads(body)["slug"] == catalog.runner.slug
