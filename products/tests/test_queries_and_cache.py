"""Bounded queries on the uncached path, none on a hit, and no stale answer after a write."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from products import services
from products.attribute_values import fill_typed_value
from products.models import Product, ProductImage, Variant, VariantAttributeValue
from products.services.products import product_prices_refresh
from products.tests.fixtures import ReviewFactory
from testing.factories import AttributeDefinitionFactory, Catalog

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_products(catalog):
    """120 products with 3 variants each, variant attributes and an image each (in bulk)."""
    products = Product.objects.bulk_create(
        Product(
            name=f"Shoe {n:03d}",
            slug=f"shoe-{n:03d}",
            category=catalog.running,
            brand=catalog.acme,
            base_price=Decimal("50.00"),
        )
        for n in range(120)
    )
    combos = [("Blue", "41"), ("Red", "42"), ("Black", "43")]
    variants = Variant.objects.bulk_create(
        Variant(
            product=p,
            sku=f"S{p.pk}-{i}",
            position=i,
            is_default=i == 0,
            price=Decimal(f"{50 + i}.00"),
            stock_quantity=5,
        )
        for p in products
        for i in range(3)
    )
    values = []
    for variant in variants:
        color, size = combos[variant.position]
        for definition, raw in ((catalog.color, color), (catalog.size, size)):
            value = VariantAttributeValue(variant=variant, definition=definition)
            fill_typed_value(value, definition, raw)
            values.append(value)
    VariantAttributeValue.objects.bulk_create(values)
    ProductImage.objects.bulk_create(
        ProductImage(product=p, image=f"seed/{p.pk}.png", alt=p.name, width=64, height=64)
        for p in products
    )
    product_prices_refresh()
    return catalog


def count_queries(client, url, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content
    return len(queries), response


@pytest.mark.parametrize("page_size", [1, 20, 100])
def test_product_list_runs_at_most_6_queries_whatever_the_page_size(
    client, many_products, settings, page_size
):
    settings.CATALOG_CACHE_ENABLED = False
    n, response = count_queries(client, "/api/catalog/products", {"page_size": page_size})
    assert len(response.json()["results"]) == page_size
    assert all(len(item["variants"]) == 3 for item in response.json()["results"][:3])
    assert n <= 6, n
    # The busiest form: category, brand, price, stock and two attribute filters.
    params = {
        "page_size": page_size,
        "category": "apparel",
        "brand": "acme",
        "price_min": "1",
        "in_stock": "true",
        "color": "blue",
        "size": "41",
        "sort": "price",
    }
    n, response = count_queries(client, "/api/catalog/products", params)
    assert response.json()["count"] == 120
    assert n <= 6


def test_product_detail_runs_at_most_6_queries(client, many_products, settings):
    settings.CATALOG_CACHE_ENABLED = False
    n, response = count_queries(client, "/api/catalog/products/shoe-007")
    assert len(response.json()["variants"]) == 3
    assert n <= 6


def test_category_tree_runs_at_most_2_queries(client, many_products, settings):
    settings.CATALOG_CACHE_ENABLED = False
    assert count_queries(client, "/api/catalog/categories")[0] <= 2
    assert count_queries(client, "/api/catalog/categories/shoes")[0] <= 2


@pytest.mark.parametrize(
    "url",
    [
        "/api/catalog/products?page_size=50&color=red",
        "/api/catalog/products/shoe-001",
        "/api/catalog/categories",
        "/api/catalog/categories/running",
        "/api/catalog/brands",
    ],
)
def test_a_cache_hit_touches_no_database(client, many_products, url):
    first = client.get(url)
    n, second = count_queries(client, url)
    assert n == 0
    assert second.content == first.content
    assert second["Content-Type"] == "application/json"


def test_the_cache_key_follows_every_parameter(client, catalog):
    blue = client.get("/api/catalog/products?color=blue").json()
    red = client.get("/api/catalog/products?color=red").json()
    assert blue["count"] == red["count"] == 1
    assert client.get("/api/catalog/products?color=black").json()["count"] == 0


# -- invalidation: the next read after a committed write sees it -----------------------------------


def test_staff_edit_is_visible_at_once(
    client, catalog, staff_headers, django_capture_on_commit_callbacks
):
    assert (
        client.get("/api/catalog/products?category=running").json()["results"][0]["name"]
        == "Road Runner"
    )
    assert client.get("/api/catalog/products/road-runner").json()["price_min"] == "89.00"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(
            f"/api/staff/catalog/products/{catalog.runner.pk}",
            {"name": "Road Racer", "base_price": "79.00"},
            content_type="application/json",
            **staff_headers,
        )
    assert response.status_code == 200, response.content
    item = client.get("/api/catalog/products?category=running").json()["results"][0]
    assert (item["name"], item["price_min"]) == ("Road Racer", "79.00")
    detail = client.get("/api/catalog/products/road-runner").json()
    assert (detail["name"], detail["price_min"]) == ("Road Racer", "79.00")


def test_a_rename_of_the_slug_retires_the_old_page(
    client, catalog, django_capture_on_commit_callbacks
):
    assert client.get("/api/catalog/products/road-runner").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.product_update(product_id=catalog.runner.pk, slug="road-racer")
    assert client.get("/api/catalog/products/road-runner").status_code == 404
    assert client.get("/api/catalog/products/road-racer").status_code == 200


def test_stock_change_review_and_category_edits_invalidate(
    client, catalog, customer, django_capture_on_commit_callbacks
):
    url = "/api/catalog/products/soft-slipper"
    assert client.get(url).json()["in_stock"] is True
    client.get("/api/catalog/categories")
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_adjust(variant_id=catalog.slipper.variants.get().pk, quantity=0)
    assert client.get(url).json()["in_stock"] is False
    assert client.get("/api/catalog/products?in_stock=false").json()["count"] == 1

    review = ReviewFactory(product=catalog.slipper, user=customer, rating=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.review_moderate(review_id=review.pk, status="published")
    assert client.get(url).json()["rating"]["count"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        services.category_update(category_id=catalog.shoes.pk, name="Footwear")
    assert client.get(url).json()["breadcrumbs"][1]["name"] == "Footwear"
    assert client.get("/api/catalog/categories").json()[0]["children"][0]["name"] == "Footwear"


def test_a_rolled_back_write_invalidates_nothing(client, catalog):
    from api.cache import versions_get
    from products.services.events import LISTS_VERSION

    before = versions_get([LISTS_VERSION])
    with pytest.raises(Exception):  # noqa: B017 - the write fails: unknown attribute
        services.product_update(product_id=catalog.runner.pk, attributes={"nope": 1})
    assert versions_get([LISTS_VERSION]) == before


@pytest.mark.django_db(transaction=True)
def test_no_stale_read_after_a_write_returned_without_test_help(client, staff_headers):
    """Real commits (no captured callbacks): warm both caches, write, read again."""
    catalog = Catalog()
    detail = "/api/catalog/products/zen-book"
    listing = "/api/catalog/products?category=laptops"
    assert client.get(detail).json()["price_max"] == "1299.00"
    assert client.get(listing).json()["results"][0]["price_max"] == "1299.00"
    response = client.patch(
        f"/api/staff/catalog/variants/{catalog.laptop_32.pk}",
        {"price": "1199.00"},
        content_type="application/json",
        **staff_headers,
    )
    assert response.status_code == 200
    assert client.get(detail).json()["price_max"] == "1199.00"
    assert client.get(listing).json()["results"][0]["price_max"] == "1199.00"


def test_a_reader_racing_a_write_cannot_store_the_old_answer(catalog):
    """The fill reads the tokens before the rows: a commit in between makes its entry stale."""
    from api.cache import cached_bytes, versions_bump

    calls = []

    def build_racing_a_write():
        calls.append(1)
        body = b"old" if len(calls) == 1 else b"new"
        if len(calls) == 1:
            versions_bump("race")  # a write commits while this reader builds
        return body

    assert cached_bytes("k", versions=["race"], ttl=60, build=build_racing_a_write) == b"old"
    assert cached_bytes("k", versions=["race"], ttl=60, build=build_racing_a_write) == b"new"
    assert cached_bytes("k", versions=["race"], ttl=60, build=build_racing_a_write) == b"new"
    assert len(calls) == 2


def test_unused_attribute_definitions_do_not_break_filters(client, catalog):
    AttributeDefinitionFactory(code="weight", type="number", category=catalog.laptops)
    assert client.get("/api/catalog/products?weight=3").json()["count"] == 0
