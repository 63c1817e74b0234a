"""Public catalog reads: tree, brands, product list filters and sorts, product page."""

from decimal import Decimal

import pytest

from products.models import Category, ReviewStatus
from products.services.products import product_prices_refresh
from products.services.reviews import product_rating_refresh
from products.tests.fixtures import ReviewFactory
from testing.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def get(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def slugs(body):
    return [item["slug"] for item in body["results"]]


# -- categories and brands -----------------------------------------------------------------------


def test_category_tree_nests_and_counts_products_of_the_subtree(client, catalog):
    tree = get(client, "/api/catalog/categories")
    assert [node["slug"] for node in tree] == ["apparel", "electronics"]
    apparel = tree[0]
    assert apparel["product_count"] == 2  # runner (Running) and slipper (Shoes)
    shoes = apparel["children"][0]
    assert (shoes["slug"], shoes["product_count"]) == ("shoes", 2)
    assert shoes["children"][0]["slug"] == "running"
    assert shoes["children"][0]["product_count"] == 1


def test_inactive_category_hides_its_subtree_and_its_products(client, catalog):
    Category.objects.filter(pk=catalog.shoes.pk).update(is_active=False)
    tree = get(client, "/api/catalog/categories")
    assert tree[0]["children"] == []
    assert tree[0]["product_count"] == 0
    assert "road-runner" not in slugs(get(client, "/api/catalog/products"))
    assert client.get("/api/catalog/products/road-runner").status_code == 404


def test_category_detail_has_breadcrumbs_and_children(client, catalog):
    body = get(client, "/api/catalog/categories/shoes")
    assert [c["slug"] for c in body["breadcrumbs"]] == ["apparel", "shoes"]
    assert body["children"] == [
        {"id": catalog.running.pk, "name": "Running", "slug": "running", "product_count": 1}
    ]
    missing = client.get("/api/catalog/categories/nope")
    assert (missing.status_code, missing.json()["code"]) == (404, "category_not_found")


def test_brands_are_paginated_with_counts(client, catalog):
    body = get(client, "/api/catalog/brands", page_size=1)
    assert body["count"] == 2 and body["pages"] == 2
    assert body["results"][0]["slug"] == "acme"
    assert body["results"][0]["product_count"] == 1
    assert body["next"].endswith("page_size=1&page=2")


# -- product list ---------------------------------------------------------------------------------


def test_list_item_carries_what_a_product_card_needs(client, catalog):
    body = get(client, "/api/catalog/products", category="running")
    assert body["count"] == 1
    (item,) = body["results"]
    assert item["name"] == "Road Runner"
    assert item["brand"] == {"id": catalog.acme.pk, "name": "Acme", "slug": "acme"}
    assert item["category"]["slug"] == "running"
    assert (item["price_min"], item["price_max"]) == ("89.00", "99.00")
    assert item["compare_at_price"] == "120.00"
    assert item["currency"] == "USD"
    assert item["in_stock"] is True
    assert item["image"] is None
    assert item["rating"] == {"average": "0.00", "count": 0}
    assert item["variants"] == [
        {
            "id": catalog.runner_blue.pk,
            "sku": "RR-BLUE-42",
            "name": "",
            "price": "89.00",
            "compare_at_price": "120.00",
            "in_stock": True,
            "attributes": {"color": "Blue", "size": "42"},
        },
        {
            "id": catalog.runner_red.pk,
            "sku": "RR-RED-43",
            "name": "",
            "price": "99.00",
            "compare_at_price": None,
            "in_stock": False,
            "attributes": {"color": "Red", "size": "43"},
        },
    ]


def test_category_filter_includes_the_subtree(client, catalog):
    assert sorted(slugs(get(client, "/api/catalog/products", category="apparel"))) == [
        "road-runner",
        "soft-slipper",
    ]
    missing = client.get("/api/catalog/products", {"category": "nope"})
    assert (missing.status_code, missing.json()["code"]) == (404, "category_not_found")


def test_brand_featured_and_stock_filters(client, catalog):
    assert sorted(slugs(get(client, "/api/catalog/products?brand=zenith"))) == [
        "soft-slipper",
        "zen-book",
    ]
    assert sorted(slugs(get(client, "/api/catalog/products?brand=zenith&brand=acme"))) == [
        "road-runner",
        "soft-slipper",
        "zen-book",
    ]
    assert slugs(get(client, "/api/catalog/products", featured="true")) == ["soft-slipper"]
    for variant in catalog.laptop.variants.all():
        variant.stock_quantity = 0
        variant.save()
    assert "zen-book" not in slugs(get(client, "/api/catalog/products", in_stock="true"))
    assert slugs(get(client, "/api/catalog/products", in_stock="false")) == ["zen-book"]


def test_price_filter_uses_the_effective_variant_price(client, catalog):
    # The runner's red variant costs 99.00 (its own price), blue 89.00 (the base price).
    assert slugs(get(client, "/api/catalog/products", price_min="95", price_max="100")) == [
        "road-runner"
    ]
    assert slugs(get(client, "/api/catalog/products", price_min="1000")) == ["zen-book"]
    assert slugs(get(client, "/api/catalog/products", price_max="25.50")) == ["soft-slipper"]
    assert get(client, "/api/catalog/products", price_min="90", price_max="95")["count"] == 0


def test_attribute_filters_match_on_one_variant(client, catalog):
    products = "/api/catalog/products"
    assert slugs(get(client, f"{products}?color=blue&size=42")) == ["road-runner"]
    assert slugs(get(client, f"{products}?color=BLUE")) == ["road-runner"]
    # Blue comes in 42 and red in 43: no single variant is blue in 43.
    assert get(client, f"{products}?color=blue&size=43")["count"] == 0
    assert slugs(get(client, f"{products}?size=41,43")) == ["road-runner"]
    assert slugs(get(client, f"{products}?attr=ram:32")) == ["zen-book"]
    assert slugs(get(client, f"{products}?ram=32.0")) == ["zen-book"]
    assert slugs(get(client, f"{products}?material=mesh")) == ["road-runner"]
    # Unknown plain parameters are ignored; unknown attr= codes are an error.
    assert get(client, f"{products}?utm_source=mail")["count"] == 3
    bad = client.get(f"{products}?attr=weight:3")
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_filter")
    assert client.get(f"{products}?attr=nocolon").status_code == 422


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price", ["soft-slipper", "road-runner", "zen-book"]),
        ("-price", ["zen-book", "road-runner", "soft-slipper"]),
        ("name", ["road-runner", "soft-slipper", "zen-book"]),
        ("-name", ["zen-book", "soft-slipper", "road-runner"]),
        ("newest", ["zen-book", "soft-slipper", "road-runner"]),
    ],
)
def test_sorts(client, catalog, sort, expected):
    assert slugs(get(client, "/api/catalog/products", sort=sort)) == expected


def test_rating_and_popularity_sorts(client, catalog):
    ReviewFactory(product=catalog.slipper, rating=5, status=ReviewStatus.PUBLISHED)
    ReviewFactory(product=catalog.runner, rating=3, status=ReviewStatus.PUBLISHED)
    product_rating_refresh()
    type(catalog.laptop).objects.filter(pk=catalog.laptop.pk).update(sales_count=50)
    assert slugs(get(client, "/api/catalog/products", sort="rating"))[:2] == [
        "soft-slipper",
        "road-runner",
    ]
    assert slugs(get(client, "/api/catalog/products", sort="popularity"))[0] == "zen-book"
    assert client.get("/api/catalog/products", {"sort": "cheapest"}).status_code == 422


def test_pages_are_capped_and_linked(client, catalog):
    body = get(client, "/api/catalog/products", page_size=2, sort="name")
    assert (body["count"], body["pages"], body["page_size"]) == (3, 2, 2)
    assert body["next"] == "http://testserver/api/catalog/products?page_size=2&sort=name&page=2"
    second = get(client, "/api/catalog/products", page_size=2, sort="name", page=2)
    assert slugs(second) == ["zen-book"]
    assert second["previous"] == "http://testserver/api/catalog/products?page_size=2&sort=name"
    assert get(client, "/api/catalog/products", page_size=5000)["page_size"] == 100
    beyond = client.get("/api/catalog/products", {"page": 9})
    assert (beyond.status_code, beyond.json()["code"]) == (404, "page_not_found")


def test_inactive_products_and_variants_are_not_listed(client, catalog):
    catalog.runner_red.is_active = False
    catalog.runner_red.save()
    product_prices_refresh([catalog.runner.pk])
    catalog.slipper.is_active = False
    catalog.slipper.save()
    body = get(client, "/api/catalog/products", sort="name")
    assert slugs(body) == ["road-runner", "zen-book"]
    runner = body["results"][0]
    assert [v["sku"] for v in runner["variants"]] == ["RR-BLUE-42"]
    assert (runner["price_min"], runner["price_max"]) == ("89.00", "89.00")


# -- product page ---------------------------------------------------------------------------------


def test_product_page_has_everything(client, catalog, customer):
    ReviewFactory(product=catalog.runner, user=customer, rating=5, status="published")
    ReviewFactory(product=catalog.runner, rating=4, status="published")
    ReviewFactory(product=catalog.runner, rating=1, status="pending")
    product_rating_refresh([catalog.runner.pk])
    body = get(client, "/api/catalog/products/road-runner")
    assert body["name"] == "Road Runner"
    assert [c["slug"] for c in body["breadcrumbs"]] == ["apparel", "shoes", "running"]
    assert body["attributes"] == [
        {"code": "material", "name": "Material", "type": "text", "value": "Mesh", "unit": ""}
    ]
    assert body["options"] == [
        {"code": "color", "name": "Color", "values": ["Blue", "Red"]},
        {"code": "size", "name": "Size", "values": ["42", "43"]},
    ]
    blue, red = body["variants"]
    assert (blue["stock_status"], blue["is_default"], blue["price"]) == ("low_stock", True, "89.00")
    assert (red["stock_status"], red["in_stock"], red["price"]) == ("out_of_stock", False, "99.00")
    assert body["rating"] == {
        "average": "4.50",
        "count": 2,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1},
    }
    assert body["images"] == []
    laptop = get(client, "/api/catalog/products/zen-book")
    assert laptop["variants"][1]["attributes"] == [
        {"code": "ram", "name": "RAM", "type": "number", "value": "32", "unit": "GB"}
    ]


def test_unknown_or_inactive_product_is_404(client, catalog):
    assert client.get("/api/catalog/products/nope").json()["code"] == "product_not_found"
    catalog.laptop.is_active = False
    catalog.laptop.save()
    assert client.get("/api/catalog/products/zen-book").status_code == 404


def test_product_without_options_has_its_default_variant(client, db):
    product = ProductFactory(slug="plain-mug", base_price=Decimal("7.00"))
    body = get(client, "/api/catalog/products/plain-mug")
    assert len(body["variants"]) == 1
    assert body["variants"][0]["is_default"] is True
    assert body["price_min"] == "7.00"
    assert product.variants.get().is_default


def test_a_variant_is_in_stock_only_with_stock(client, db):
    product = ProductFactory(slug="mug", default_variant=False)
    VariantFactory(product=product, stock_quantity=0, is_default=True)
    assert get(client, "/api/catalog/products/mug")["in_stock"] is False


def test_answers_match_their_documented_schemas(client, catalog):
    """The cached bytes are built without the response models: check them against the models."""
    from pydantic import TypeAdapter

    from api.pagination import Page
    from products.schemas import (
        BrandOut,
        CategoryDetailOut,
        CategoryNodeOut,
        ProductDetailOut,
        ProductListItemOut,
    )

    TypeAdapter(list[CategoryNodeOut]).validate_python(get(client, "/api/catalog/categories"))
    CategoryDetailOut.model_validate(get(client, "/api/catalog/categories/shoes"))
    Page[BrandOut].model_validate(get(client, "/api/catalog/brands"))
    listing = get(client, "/api/catalog/products")
    Page[ProductListItemOut].model_validate(listing)
    for item in listing["results"]:
        assert set(item) == set(ProductListItemOut.model_fields)
        detail = get(client, f"/api/catalog/products/{item['slug']}")
        ProductDetailOut.model_validate(detail)
        assert set(detail) == set(ProductDetailOut.model_fields)


def test_low_stock_variants_for_the_alert(catalog):
    from products.selectors import low_stock_variants

    # Blue runner 5 (threshold 5), red runner 0: both low; laptops and slipper have 10.
    assert [v.sku for v in low_stock_variants()] == ["RR-RED-43", "RR-BLUE-42"]
