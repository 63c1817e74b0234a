"""Staff catalog input that used to end in a 500 (issue 15, item 7): a null where the column
takes none, a category subtree moved past the depth limit, stock past the integer column,
multipart without a boundary. Each is now a 4xx naming the field, and nothing is written."""

import pytest

from products.models import STOCK_MAX, Brand, Category, StockMovement, Variant
from products.schemas import CategoryPatch, VariantPatch
from testing.factories import CategoryFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"


def patch(client, url, data, headers):
    return client.patch(url, data, content_type=JSON, **headers)


def fields_of(response) -> list[str]:
    return [error["field"] for error in response.json()["details"]["errors"]]


# -- PATCH with null ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind,body,field",
    [
        ("brand", {"description": None}, "description"),
        ("category", {"parent_id": "electronics", "description": None}, "description"),
        ("category", {"name": None}, "name"),
        ("product", {"description": None}, "description"),
        ("product", {"category_id": None}, "category_id"),
        ("attribute", {"unit": None}, "unit"),
        ("attribute", {"choices": None}, "choices"),
        ("variant", {"sku": None, "name": "", "attributes": {}}, "sku"),
        ("variant", {"is_active": None}, "is_active"),
    ],
)
def test_a_null_where_the_column_takes_none_is_a_422_naming_the_field(
    client, catalog, staff_headers, kind, body, field
):
    url = {
        "brand": f"/api/staff/catalog/brands/{catalog.acme.pk}",
        "category": f"/api/staff/catalog/categories/{catalog.shoes.pk}",
        "product": f"/api/staff/catalog/products/{catalog.runner.pk}",
        "attribute": f"/api/staff/catalog/attributes/{catalog.material.pk}",
        "variant": f"/api/staff/catalog/variants/{catalog.runner_blue.pk}",
    }[kind]
    if body.get("parent_id") == "electronics":
        body = {**body, "parent_id": catalog.electronics.pk}
    response = patch(client, url, body, staff_headers)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "validation_error"
    assert field in fields_of(response)
    # Before the fix: 500 (NOT NULL violation, or None.strip() for the SKU); nothing changed.
    assert Brand.objects.get(pk=catalog.acme.pk).description == ""
    assert Category.objects.get(pk=catalog.shoes.pk).parent_id == catalog.apparel.pk
    assert Variant.objects.get(pk=catalog.runner_blue.pk).sku == "RR-BLUE-42"


def test_null_still_means_none_where_the_column_takes_it(client, catalog, staff_headers):
    moved = patch(
        client,
        f"/api/staff/catalog/categories/{catalog.shoes.pk}",
        {"parent_id": None},
        staff_headers,
    )
    assert moved.status_code == 200 and moved.json()["parent_id"] is None
    priced = patch(
        client,
        f"/api/staff/catalog/variants/{catalog.laptop_32.pk}",
        {"price": None, "compare_at_price": None, "name": ""},
        staff_headers,
    )
    assert priced.status_code == 200, priced.content
    assert priced.json()["price"] is None and priced.json()["effective_price"] == "999.00"


def test_the_schema_shows_which_patch_fields_take_null():
    def nullable(schema, field: str) -> bool:
        spec = schema.model_json_schema()["properties"][field]
        return any(option.get("type") == "null" for option in spec.get("anyOf", []))

    assert nullable(CategoryPatch, "parent_id") and not nullable(CategoryPatch, "description")
    assert nullable(VariantPatch, "price") and not nullable(VariantPatch, "sku")


# -- the category tree ----------------------------------------------------------------------------


def test_a_move_that_takes_the_subtree_past_ten_levels_is_refused(client, staff_headers):
    chain = [CategoryFactory()]
    for _ in range(8):  # depths 0..8
        chain.append(CategoryFactory(parent=chain[-1]))
    branch = [CategoryFactory()]
    for _ in range(2):  # a root with two levels below it
        branch.append(CategoryFactory(parent=branch[-1]))
    url = f"/api/staff/catalog/categories/{branch[0].pk}"
    # under depth 5: the branch's leaf lands on depth 8, within the limit
    assert patch(client, url, {"parent_id": chain[5].pk}, staff_headers).status_code == 200
    # under depth 7: its leaf would land on depth 10, the 11th level
    refused = patch(client, url, {"parent_id": chain[7].pk}, staff_headers)
    assert refused.status_code == 422
    assert fields_of(refused) == ["parent_id"]
    assert "10 levels" in refused.json()["details"]["errors"][0]["message"]
    leaf = Category.objects.get(pk=branch[-1].pk)
    assert leaf.depth == 8 and leaf.path.startswith(chain[5].path)


# -- stock past the integer column ----------------------------------------------------------------


def adjust(client, variant, body, headers, key):
    return client.post(
        f"/api/staff/catalog/variants/{variant.pk}/stock-adjustments",
        body,
        content_type=JSON,
        HTTP_IDEMPOTENCY_KEY=key,
        **headers,
    )


def test_stock_past_the_integer_range_is_a_422_naming_delta(client, catalog, staff_headers):
    variant = catalog.laptop_16
    assert adjust(client, variant, {"quantity": 1_000_000_000}, staff_headers, "k1").status_code
    assert adjust(client, variant, {"delta": 1_000_000_000}, staff_headers, "k2").status_code == 201
    # Before the fix: 500 (integer out of range) on this third change.
    refused = adjust(client, variant, {"delta": 1_000_000_000}, staff_headers, "k3")
    assert refused.status_code == 422, refused.content
    body = refused.json()
    assert body["code"] == "stock_limit" and fields_of(refused) == ["delta"]
    assert (body["details"]["before"], body["details"]["limit"]) == (2_000_000_000, STOCK_MAX)
    variant.refresh_from_db()
    assert variant.stock_quantity == 2_000_000_000
    assert StockMovement.objects.filter(variant=variant).count() == 2
    # up to the limit itself is fine
    room = STOCK_MAX - 2_000_000_000
    assert adjust(client, variant, {"delta": room}, staff_headers, "k4").status_code == 201


def test_a_bulk_adjustment_names_the_item_past_the_range(client, catalog, staff_headers):
    catalog.laptop_32.stock_quantity = STOCK_MAX - 5
    catalog.laptop_32.save()
    refused = client.post(
        "/api/staff/catalog/stock-adjustments",
        {
            "items": [
                {"variant_id": catalog.laptop_16.pk, "delta": 3},
                {"variant_id": catalog.laptop_32.pk, "delta": 6},
            ]
        },
        content_type=JSON,
        HTTP_IDEMPOTENCY_KEY="bulk-1",
        **staff_headers,
    )
    assert refused.status_code == 422
    assert fields_of(refused) == ["items.1.delta"]
    assert Variant.objects.get(pk=catalog.laptop_16.pk).stock_quantity == 10  # all or nothing


# -- multipart without a boundary -----------------------------------------------------------------


def test_an_image_upload_without_a_multipart_boundary_is_a_400(
    client, catalog, staff_headers, local_media
):
    response = client.generic(
        "POST",
        f"/api/staff/catalog/products/{catalog.runner.pk}/images",
        b"--x\r\n",  # the test client sends no Content-Type with an empty body
        content_type="multipart/form-data",
        **staff_headers,
    )
    # Before the fix: 500 (MultiPartParserError: Invalid boundary in multipart: None).
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "bad_request" and "multipart" in body["message"]
    assert set(body) == {"code", "message", "details"}
