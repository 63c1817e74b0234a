"""/api/staff/promotions: CRUD of catalog and cart promotions, who may, the 422s and 404s, and a
catalog promotion created here priced in the catalog at once."""

from decimal import Decimal

import pytest

from orders.models import Order
from promotions.models import CartPromotion, CatalogPromotion, PromotedPrice
from testing.factories import (
    ADDRESS,
    CategoryFactory,
    UserFactory,
    bearer,
    guest_cart,
    make_variant,
    staff_user,
)
from testing.promotions import cart_promotion, catalog_promotion

pytestmark = pytest.mark.django_db
CATALOG = "/api/staff/promotions/catalog"
CART = "/api/staff/promotions/cart"


@pytest.fixture
def staff(db):
    return staff_user("promotions.*", email="merch@example.com")


def send(client, method, url, user, body=None, **headers):
    return getattr(client, method)(
        url, body, content_type="application/json", **bearer(user), **headers
    )


def test_a_catalog_promotion_created_here_is_priced_in_the_catalog_at_once(client, staff):
    shoes = CategoryFactory(name="Shoes", slug="shoes")
    make_variant(price="80.00", stock=5, category=shoes, name="Boot", slug="boot")
    body = {"name": "Shoe week", "kind": "percent", "value": "25", "categories": [shoes.pk]}
    response = send(client, "post", CATALOG, staff, body, HTTP_IDEMPOTENCY_KEY="promo-1")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["name"], created["value"], created["categories"]) == (
        "Shoe week",
        "25.00",
        [shoes.pk],
    )
    assert created["is_live"] is True and created["brands"] == []
    # the same key answers the same promotion, once
    again = send(client, "post", CATALOG, staff, body, HTTP_IDEMPOTENCY_KEY="promo-1")
    assert again.json()["id"] == created["id"] and CatalogPromotion.objects.count() == 1

    listed = client.get("/api/catalog/products", {"page_size": 100}).json()["results"]
    boot = next(item for item in listed if item["slug"] == "boot")
    assert (boot["price_min"], boot["compare_at_price"]) == ("60.00", "80.00")

    # switched off through the API: the promoted price goes at once
    url = f"{CATALOG}/{created['id']}"
    patched = send(client, "patch", url, staff, {"is_active": False})
    assert patched.status_code == 200 and patched.json()["is_live"] is False
    assert not PromotedPrice.objects.exists()
    patched = send(client, "patch", url, staff, {"is_active": True, "value": "50"})
    assert PromotedPrice.objects.get().price == Decimal("40.00")
    assert send(client, "delete", url, staff).status_code == 204
    assert not PromotedPrice.objects.exists()
    assert client.get(url, **bearer(staff)).status_code == 404


def test_catalog_promotions_are_listed_and_read_with_their_targets(client, staff):
    variant = make_variant(price="10.00")
    first = catalog_promotion(value="10", priority=1, targets={"variants": [variant]})
    second = catalog_promotion(value="5", kind="fixed", priority=5)
    page = client.get(CATALOG, **bearer(staff)).json()
    assert [p["id"] for p in page["results"]] == [second.pk, first.pk]
    assert page["count"] == 2
    one = client.get(f"{CATALOG}/{first.pk}", **bearer(staff)).json()
    assert (one["variants"], one["kind"], one["priority"]) == ([variant.pk], "percent", 1)


def test_cart_promotions_crud(client, staff):
    category = CategoryFactory()
    body = {
        "name": "Buy 2 get 1",
        "kind": "buy_get",
        "reward": "free_items",
        "buy_quantity": 2,
        "free_quantity": 1,
        "usage_limit": 10,
        "budget": "100.00",
        "categories": [category.pk],
        "starts_at": "2030-01-01T00:00:00Z",
        "ends_at": "2030-02-01T00:00:00Z",
    }
    response = send(client, "post", CART, staff, body)
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["kind"], created["budget"], created["times_used"]) == ("buy_get", "100.00", 0)
    assert created["categories"] == [category.pk] and created["is_live"] is False
    url = f"{CART}/{created['id']}"
    patched = send(client, "patch", url, staff, {"usage_limit": None, "categories": []})
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["usage_limit"], patched.json()["categories"]) == (None, [])
    assert client.get(CART, **bearer(staff)).json()["count"] == 1
    assert send(client, "delete", url, staff).status_code == 204
    assert not CartPromotion.objects.exists()


def test_a_customer_or_a_guest_may_not(client):
    customer = UserFactory()
    promotion = catalog_promotion()
    assert client.get(CATALOG).status_code == 401
    assert client.get(CART, **bearer(customer)).status_code == 403
    refused = send(client, "post", CATALOG, customer, {"name": "x", "kind": "fixed", "value": "1"})
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert send(client, "delete", f"{CATALOG}/{promotion.pk}", customer).status_code == 403
    assert CatalogPromotion.objects.count() == 1
    # a staff member without the permission neither
    assert client.get(CATALOG, **bearer(staff_user(email="other@example.com"))).status_code == 403


def _fields(response) -> set[str]:
    assert response.status_code == 422, response.json()
    body = response.json()
    assert body["code"] == "validation_error"
    return {error["field"] for error in body["details"]["errors"]}


def test_bad_input_is_a_422_naming_the_field(client, staff):
    base = {"name": "Sale", "kind": "percent", "value": "20"}
    assert _fields(send(client, "post", CATALOG, staff, {**base, "value": "120"})) == {"value"}
    window = {**base, "starts_at": "2030-02-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}
    assert _fields(send(client, "post", CATALOG, staff, window)) == {"ends_at"}
    unknown = send(client, "post", CATALOG, staff, {**base, "categories": [999999]})
    assert _fields(unknown) == {"categories"}
    assert unknown.json()["details"]["errors"][0]["type"] == "invalid_reference"
    assert _fields(send(client, "post", CATALOG, staff, {**base, "extra": 1})) == {"extra"}
    assert _fields(send(client, "post", CATALOG, staff, {**base, "value": "1.001"})) == {"value"}
    spend = {"name": "Spend", "kind": "spend", "reward": "free_items"}
    assert _fields(send(client, "post", CART, staff, spend)) == {"reward"}
    percent = {"name": "Spend", "kind": "spend", "reward": "percent", "value": "101"}
    assert _fields(send(client, "post", CART, staff, percent)) == {"value"}
    assert not CatalogPromotion.objects.exists() and not CartPromotion.objects.exists()

    promotion = catalog_promotion(value="20")
    url = f"{CATALOG}/{promotion.pk}"
    assert _fields(send(client, "patch", url, staff, {"value": "150"})) == {"value"}
    assert _fields(send(client, "patch", url, staff, {"name": None})) == {"name"}
    promotion.refresh_from_db()
    assert promotion.value == Decimal("20.00")


def test_an_unknown_id_is_a_404(client, staff):
    for url in (f"{CATALOG}/424242", f"{CART}/424242"):
        got = client.get(url, **bearer(staff))
        assert got.status_code == 404 and got.json()["code"].endswith("_promotion_not_found")
        assert send(client, "patch", url, staff, {"name": "x"}).status_code == 404
        assert send(client, "delete", url, staff).status_code == 404


def test_a_cart_promotion_an_order_used_is_not_deleted(client, staff):
    variant = make_variant(price="20.00", stock=5)
    promotion = cart_promotion(reward="fixed", value="5", min_subtotal="10")
    _, token = guest_cart((variant, 1))
    checkout = client.post(
        "/api/checkout",
        {"email": "a@example.com", "shipping_address": ADDRESS, "accept_price_changes": True},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="used-1",
        HTTP_X_CART_TOKEN=token,
    )
    assert checkout.status_code == 201, checkout.json()
    refused = send(client, "delete", f"{CART}/{promotion.pk}", staff)
    assert refused.status_code == 409 and refused.json()["code"] == "cart_promotion_used"
    assert Order.objects.count() == 1 and CartPromotion.objects.count() == 1


@pytest.mark.parametrize("url", [CATALOG, CART])
def test_the_lists_run_the_same_queries_for_2_promotions_or_30(client, staff, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(count: int) -> int:
        CatalogPromotion.objects.all().delete()
        CartPromotion.objects.all().delete()
        category = CategoryFactory()
        for n in range(count):
            if url == CATALOG:
                catalog_promotion(name=f"Sale {n}", targets={"categories": [category]})
            else:
                cart_promotion(
                    name=f"Spend {n}", min_subtotal="10.00", targets={"categories": [category]}
                )
        with CaptureQueriesContext(connection) as queries:
            response = send(client, "get", f"{url}?page_size=50", staff)
        assert response.status_code == 200 and response.json()["count"] == count
        return len(queries)

    # the token's user and permissions, the count, the page and one per kind of target (four)
    assert queries_for(2) == queries_for(30) <= 10
