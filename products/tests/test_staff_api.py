"""Staff catalog API: permissions, CRUD with validation, variants, stock with the ledger."""

import pytest

from products.models import (
    AttributeDefinition,
    Brand,
    Category,
    Product,
    StockMovement,
    Variant,
)
from testing.factories import ProductFactory, bearer, staff_user

pytestmark = pytest.mark.django_db
JSON = "application/json"


def post(client, url, data, headers, **extra):
    return client.post(url, data, content_type=JSON, **headers, **extra)


def patch(client, url, data, headers):
    return client.patch(url, data, content_type=JSON, **headers)


# -- permissions ----------------------------------------------------------------------------------


def test_no_token_is_401_customer_403_staff_without_the_permission_403(
    client, catalog, customer_headers
):
    url = "/api/staff/catalog/categories"
    body = {"name": "Toys"}
    assert post(client, url, body, {}).status_code == 401
    assert post(client, url, body, customer_headers).json()["code"] == "permission_denied"
    viewer = staff_user("products.view_category", email="viewer@example.com")
    assert post(client, url, body, bearer(viewer)).status_code == 403
    assert client.get(url, **bearer(viewer)).status_code == 200
    assert not Category.objects.filter(name="Toys").exists()


# -- structure ------------------------------------------------------------------------------------


def test_category_crud_keeps_the_tree(client, catalog, staff_headers):
    created = post(
        client,
        "/api/staff/catalog/categories",
        {"name": "Trail Shoes", "parent_id": catalog.shoes.pk},
        staff_headers,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["slug"], body["depth"]) == ("trail-shoes", 2)
    # Move Shoes (with Running and Trail below) to the root: the subtree follows.
    moved = patch(
        client,
        f"/api/staff/catalog/categories/{catalog.shoes.pk}",
        {"parent_id": None},
        staff_headers,
    )
    assert moved.status_code == 200, moved.content
    running = Category.objects.get(pk=catalog.running.pk)
    assert running.path == f"/{catalog.shoes.pk}/{running.pk}/" and running.depth == 1
    cycle = patch(
        client,
        f"/api/staff/catalog/categories/{catalog.shoes.pk}",
        {"parent_id": running.pk},
        staff_headers,
    )
    assert cycle.status_code == 422
    taken = post(
        client, "/api/staff/catalog/categories", {"name": "X", "slug": "shoes"}, staff_headers
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "slug_taken")
    in_use = client.delete(f"/api/staff/catalog/categories/{catalog.running.pk}", **staff_headers)
    assert (in_use.status_code, in_use.json()["code"]) == (409, "category_has_products")
    gone = client.delete(f"/api/staff/catalog/categories/{body['id']}", **staff_headers)
    assert gone.status_code == 204


def test_brand_crud(client, catalog, staff_headers):
    created = post(client, "/api/staff/catalog/brands", {"name": "Nova"}, staff_headers)
    assert created.status_code == 201 and created.json()["slug"] == "nova"
    renamed = patch(
        client,
        f"/api/staff/catalog/brands/{created.json()['id']}",
        {"name": "Nova Labs"},
        staff_headers,
    )
    assert renamed.json()["name"] == "Nova Labs"
    in_use = client.delete(f"/api/staff/catalog/brands/{catalog.acme.pk}", **staff_headers)
    assert in_use.json()["code"] == "brand_in_use"
    assert (
        client.delete(
            f"/api/staff/catalog/brands/{created.json()['id']}", **staff_headers
        ).status_code
        == 204
    )
    assert not Brand.objects.filter(slug="nova").exists()


def test_attribute_definitions_are_checked(client, catalog, staff_headers):
    url = "/api/staff/catalog/attributes"
    ok = post(
        client,
        url,
        {
            "code": "width",
            "name": "Width",
            "type": "choice",
            "choices": ["Narrow", "Wide"],
            "is_variant_attribute": True,
            "category_id": catalog.running.pk,
        },
        staff_headers,
    )
    assert ok.status_code == 201, ok.content
    no_choices = post(client, url, {"code": "fit", "name": "Fit", "type": "choice"}, staff_headers)
    assert no_choices.status_code == 422
    # "color" exists on Apparel: Running (below it) may not define it again.
    clash = post(
        client,
        url,
        {"code": "color", "name": "Colour", "type": "text", "category_id": catalog.running.pk},
        staff_headers,
    )
    assert clash.status_code == 422
    assert (
        post(
            client, url, {"code": "Bad Code", "name": "x", "type": "text"}, staff_headers
        ).status_code
        == 422
    )
    # Values exist for color: its type is frozen, its choices must keep the values in use.
    frozen = patch(client, f"{url}/{catalog.color.pk}", {"type": "text"}, staff_headers)
    assert (frozen.status_code, frozen.json()["code"]) == (409, "attribute_in_use")
    dropped = patch(client, f"{url}/{catalog.color.pk}", {"choices": ["Blue"]}, staff_headers)
    assert dropped.status_code == 422
    recased = patch(
        client,
        f"{url}/{catalog.color.pk}",
        {"choices": ["BLUE", "RED", "Black", "Green"]},
        staff_headers,
    )
    assert recased.status_code == 200
    assert set(catalog.runner_blue.attribute_values.values_list("value_text", flat=True)) == {
        "BLUE",
        "42",
    }
    assert client.delete(f"{url}/{catalog.color.pk}", **staff_headers).status_code == 409
    assert AttributeDefinition.objects.filter(code="width").exists()


# -- products and variants ------------------------------------------------------------------------


def product_body(catalog, **extra):
    return {
        "name": "Trail Blazer",
        "category_id": catalog.running.pk,
        "brand_id": catalog.acme.pk,
        "base_price": "110.00",
        "attributes": {"material": "Gore-Tex"},
        "variants": [
            {
                "sku": "tb-blue-42",
                "stock_quantity": 4,
                "attributes": {"color": "blue", "size": "42"},
            },
            {
                "sku": "TB-RED-43",
                "price": "120.00",
                "stock_quantity": 0,
                "attributes": {"color": "Red", "size": 43},
            },
        ],
        **extra,
    }


def test_create_a_product_with_variants(client, catalog, staff, staff_headers):
    response = post(client, "/api/staff/catalog/products", product_body(catalog), staff_headers)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "trail-blazer"
    assert (body["price_min"], body["price_max"]) == ("110.00", "120.00")
    assert body["attributes"] == {"material": "Gore-Tex"}
    blue, red = body["variants"]
    assert (blue["sku"], blue["is_default"], blue["stock_quantity"]) == ("TB-BLUE-42", True, 4)
    assert blue["attributes"] == {"color": "Blue", "size": "42"}
    assert red["effective_price"] == "120.00" and red["attributes"]["size"] == "43"
    movement = StockMovement.objects.get(sku="TB-BLUE-42")
    assert (movement.quantity_delta, movement.reason, movement.actor) == (4, "adjustment", staff)
    page = client.get("/api/catalog/products/trail-blazer").json()
    assert page["options"][0] == {"code": "color", "name": "Color", "values": ["Blue", "Red"]}


def test_a_product_without_variants_gets_its_default_variant(client, catalog, staff_headers):
    body = {
        "name": "Shoe Horn",
        "category_id": catalog.shoes.pk,
        "base_price": "4.99",
        "sku": "horn-1",
        "stock_quantity": 12,
    }
    response = post(client, "/api/staff/catalog/products", body, staff_headers)
    assert response.status_code == 201, response.content
    (variant,) = response.json()["variants"]
    assert (variant["sku"], variant["is_default"], variant["stock_quantity"]) == (
        "HORN-1",
        True,
        12,
    )
    generated = post(
        client,
        "/api/staff/catalog/products",
        {**body, "sku": None, "stock_quantity": 0},
        staff_headers,
    )
    assert generated.json()["variants"][0]["sku"].startswith("SHOE-HORN-2-")


@pytest.mark.parametrize(
    ("change", "status", "where"),
    [
        ({"attributes": {"material": "x", "ram": 16}}, 422, "attributes.ram"),  # not in Apparel
        ({"attributes": {"color": "Blue"}}, 422, "attributes.color"),  # variant-level
        (
            {"variants": [{"sku": "A1", "attributes": {"color": "Purple"}}]},
            422,
            "variants.0.attributes.color",
        ),
        (
            {
                "variants": [
                    {"sku": "A1", "attributes": {"size": "42"}},
                    {"sku": "A2", "attributes": {"size": "42"}},
                ]
            },
            422,
            "variants.1.attributes",
        ),
        ({"base_price": "-1"}, 422, "base_price"),
        ({"category_id": 999999}, 422, "category_id"),
        ({"unknown_field": 1}, 422, "unknown_field"),
        ({"name": "bad\x00name"}, 422, "name"),
    ],
)
def test_invalid_products_are_refused_whole(client, catalog, staff_headers, change, status, where):
    before = (Product.objects.count(), Variant.objects.count(), StockMovement.objects.count())
    response = post(
        client, "/api/staff/catalog/products", product_body(catalog, **change), staff_headers
    )
    assert response.status_code == status, response.content
    fields = [error["field"] for error in response.json()["details"].get("errors", [])]
    assert where in fields
    after = (Product.objects.count(), Variant.objects.count(), StockMovement.objects.count())
    assert after == before


def test_required_attributes_and_taken_skus(client, catalog, staff_headers):
    catalog.material.is_required = True
    catalog.material.save()
    missing = post(
        client, "/api/staff/catalog/products", product_body(catalog, attributes={}), staff_headers
    )
    assert missing.status_code == 422
    assert missing.json()["details"]["errors"][0]["type"] == "required"
    taken = product_body(catalog)
    taken["variants"][0]["sku"] = "RR-BLUE-42"
    response = post(client, "/api/staff/catalog/products", taken, staff_headers)
    assert (response.status_code, response.json()["code"]) == (409, "sku_taken")


def test_create_is_idempotent_with_a_key(client, catalog, staff_headers):
    key = {"HTTP_IDEMPOTENCY_KEY": "create-tb-1"}
    first = post(client, "/api/staff/catalog/products", product_body(catalog), staff_headers, **key)
    again = post(client, "/api/staff/catalog/products", product_body(catalog), staff_headers, **key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Product.objects.filter(name="Trail Blazer").count() == 1
    other = post(
        client,
        "/api/staff/catalog/products",
        product_body(catalog, name="Other"),
        staff_headers,
        **key,
    )
    assert other.status_code == 409


def test_update_and_delete_a_product(client, catalog, staff_headers):
    url = f"/api/staff/catalog/products/{catalog.runner.pk}"
    response = patch(
        client, url, {"is_featured": True, "attributes": {"material": "Knit"}}, staff_headers
    )
    assert response.status_code == 200
    assert response.json()["attributes"] == {"material": "Knit"}
    assert response.json()["name"] == "Road Runner"  # untouched fields stay
    # Moving it where color/size do not exist would orphan its variant values.
    moved = patch(client, url, {"category_id": catalog.laptops.pk}, staff_headers)
    assert (moved.status_code, moved.json()["code"]) == (422, "attributes_not_applicable")
    assert client.delete(url, **staff_headers).status_code == 204
    assert client.get(url, **staff_headers).status_code == 404
    assert not Variant.objects.filter(sku="RR-BLUE-42").exists()


def test_variant_lifecycle(client, catalog, staff_headers):
    url = f"/api/staff/catalog/products/{catalog.runner.pk}/variants"
    created = post(
        client,
        url,
        {"sku": "rr-black-41", "stock_quantity": 2, "attributes": {"color": "Black", "size": "41"}},
        staff_headers,
    )
    assert created.status_code == 201, created.content
    variant_id = created.json()["id"]
    duplicate = post(
        client, url, {"sku": "rr-dup", "attributes": {"color": "Blue", "size": "42"}}, staff_headers
    )
    assert duplicate.status_code == 422
    updated = patch(
        client,
        f"/api/staff/catalog/variants/{variant_id}",
        {"price": "79.00", "is_default": True},
        staff_headers,
    )
    assert updated.status_code == 200
    assert updated.json()["is_default"] is True
    assert Variant.objects.filter(product=catalog.runner, is_default=True).count() == 1
    runner = Product.objects.get(pk=catalog.runner.pk)
    assert (str(runner.price_min), str(runner.price_max)) == ("79.00", "99.00")
    stock_field = patch(
        client, f"/api/staff/catalog/variants/{variant_id}", {"stock_quantity": 50}, staff_headers
    )
    assert stock_field.status_code == 422  # stock moves only through adjustments
    assert (
        client.delete(f"/api/staff/catalog/variants/{variant_id}", **staff_headers).status_code
        == 204
    )
    assert Variant.objects.get(pk=catalog.runner_blue.pk).is_default  # promoted back
    slipper_variant = catalog.slipper.variants.get()
    last = client.delete(f"/api/staff/catalog/variants/{slipper_variant.pk}", **staff_headers)
    assert (last.status_code, last.json()["code"]) == (409, "last_variant")


def test_staff_product_list_and_search(client, catalog, staff_headers):
    ProductFactory(name="Hidden", slug="hidden", is_active=False)
    body = client.get("/api/staff/catalog/products?is_active=false", **staff_headers).json()
    assert [p["slug"] for p in body["results"]] == ["hidden"]
    by_sku = client.get("/api/staff/catalog/products?q=rr-red-43", **staff_headers).json()
    assert [p["slug"] for p in by_sku["results"]] == ["road-runner"]
    assert by_sku["results"][0]["stock_total"] == 5
    assert by_sku["results"][0]["variant_count"] == 2


# -- stock ----------------------------------------------------------------------------------------


def adjust(client, variant, body, headers, key="k-1"):
    return post(
        client,
        f"/api/staff/catalog/variants/{variant.pk}/stock-adjustments",
        body,
        headers,
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_stock_adjustment_writes_the_ledger_once_per_key(client, catalog, staff, staff_headers):
    variant = catalog.runner_blue
    first = adjust(client, variant, {"delta": 7, "reference": "PO-1"}, staff_headers)
    assert first.status_code == 201, first.content
    assert first.json()["stock_quantity"] == 12
    movement = first.json()["movement"]
    assert (movement["quantity_delta"], movement["quantity_after"]) == (7, 12)
    assert (movement["reason"], movement["reference"], movement["actor_id"]) == (
        "adjustment",
        "PO-1",
        staff.pk,
    )
    again = adjust(client, variant, {"delta": 7, "reference": "PO-1"}, staff_headers)
    assert again.json() == first.json()
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 12
    counted = adjust(
        client, variant, {"quantity": 3, "reason": "adjustment"}, staff_headers, key="count-1"
    )
    assert counted.json()["movement"]["quantity_delta"] == -9
    unchanged = adjust(client, variant, {"quantity": 3}, staff_headers, key="count-2")
    assert (unchanged.status_code, unchanged.json()["movement"]) == (200, None)
    ledger = client.get(
        f"/api/staff/catalog/variants/{variant.pk}/stock-movements", **staff_headers
    ).json()
    assert [m["quantity_delta"] for m in ledger["results"]] == [-9, 7]


def test_stock_cannot_go_negative_and_needs_a_key(client, catalog, staff_headers):
    variant = catalog.runner_blue  # 5 in stock
    short = adjust(client, variant, {"delta": -6}, staff_headers)
    assert (short.status_code, short.json()["code"]) == (409, "insufficient_stock")
    assert short.json()["details"]["available"] == 5
    no_key = post(
        client,
        f"/api/staff/catalog/variants/{variant.pk}/stock-adjustments",
        {"delta": 1},
        staff_headers,
    )
    assert (no_key.status_code, no_key.json()["code"]) == (400, "idempotency_key_required")
    both = adjust(client, variant, {"delta": 1, "quantity": 3}, staff_headers, key="both")
    assert both.status_code == 422
    sale = adjust(client, variant, {"delta": -1, "reason": "sale"}, staff_headers, key="sale")
    assert sale.status_code == 422  # sales come from checkout only
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 5
    assert not StockMovement.objects.filter(variant=variant).exists()


def test_bulk_stock_adjustment_is_all_or_nothing(client, catalog, staff_headers):
    url = "/api/staff/catalog/stock-adjustments"
    blue, red = catalog.runner_blue, catalog.runner_red  # 5 and 0
    bad = post(
        client,
        url,
        {"items": [{"variant_id": blue.pk, "delta": 10}, {"variant_id": red.pk, "delta": -1}]},
        staff_headers,
        HTTP_IDEMPOTENCY_KEY="bulk-1",
    )
    assert bad.status_code == 409
    assert Variant.objects.get(pk=blue.pk).stock_quantity == 5
    ok = post(
        client,
        url,
        {
            "items": [{"variant_id": blue.pk, "delta": 10}, {"variant_id": red.pk, "quantity": 8}],
            "reason": "return",
            "reference": "RMA-9",
        },
        staff_headers,
        HTTP_IDEMPOTENCY_KEY="bulk-2",
    )
    assert ok.status_code == 201, ok.content
    assert [row["stock_quantity"] for row in ok.json()] == [15, 8]
    assert StockMovement.objects.filter(reference="RMA-9", reason="return").count() == 2
    missing = post(
        client,
        url,
        {"items": [{"variant_id": 999999, "delta": 1}]},
        staff_headers,
        HTTP_IDEMPOTENCY_KEY="bulk-3",
    )
    assert missing.status_code == 404
