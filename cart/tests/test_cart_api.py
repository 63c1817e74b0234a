"""/api/cart: guest and customer carts, lines, flags, prices from the catalog, bounded queries."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cart.models import Cart, CartLine, CartStatus
from products.models import Product, Variant
from testing.factories import (
    CouponFactory,
    UserFactory,
    bearer,
    guest_cart,
    make_variant,
    user_cart,
)
from testing.promotions import cart_promotion, catalog_promotion

pytestmark = pytest.mark.django_db


def new_guest_cart(client) -> str:
    response = client.post("/api/cart")
    assert response.status_code == 201
    return response.json()["token"]


def add(client, variant_id, quantity=1, *, token=None, headers=None, **extra):
    kwargs = dict(headers or {})
    if token:
        kwargs["HTTP_X_CART_TOKEN"] = token
    return client.post(
        "/api/cart/items",
        {"variant_id": variant_id, "quantity": quantity, **extra},
        content_type="application/json",
        **kwargs,
    )


def get(client, *, token=None, headers=None):
    kwargs = dict(headers or {})
    if token:
        kwargs["HTTP_X_CART_TOKEN"] = token
    return client.get("/api/cart", **kwargs)


def test_a_guest_gets_a_cart_and_its_token(client):
    response = client.post("/api/cart")
    assert response.status_code == 201
    body = response.json()
    assert len(body["token"]) >= 40 and body["lines"] == [] and body["grand_total"] == "0.00"
    assert body["is_purchasable"] is False
    cart = Cart.objects.get()
    assert cart.user is None and cart.token_hash != body["token"]  # only its hash is stored
    assert get(client, token=body["token"]).json()["id"] == cart.pk


def test_no_token_or_an_unknown_one_is_a_404(client):
    assert get(client).status_code == 404
    response = get(client, token="not-a-token")
    assert response.status_code == 404 and response.json()["code"] == "cart_not_found"
    assert add(client, 1).status_code == 404


def test_lines_are_priced_from_the_catalog(client):
    shoe = make_variant(price="30.00", stock=5, sku="SHOE-1")
    token = new_guest_cart(client)
    response = add(client, shoe.pk, 2, token=token)
    assert response.status_code == 201
    body = response.json()
    assert [(x["sku"], x["quantity"], x["unit_price"], x["line_total"]) for x in body["lines"]] == [
        ("SHOE-1", 2, "30.00", "60.00")
    ]
    assert body["subtotal"] == "60.00" and body["shipping_total"] == "0.00"
    assert body["grand_total"] == "60.00" and body["is_purchasable"] is True
    # adding again goes to the same line
    body = add(client, shoe.pk, 1, token=token).json()
    assert [(x["quantity"], x["line_total"]) for x in body["lines"]] == [(3, "90.00")]
    assert CartLine.objects.count() == 1


def test_shipping_is_a_flat_rate_under_the_threshold_and_tax_follows_its_rate(client, settings):
    settings.TAX_RATE = Decimal("0.10")
    token = new_guest_cart(client)
    body = add(client, make_variant(price="12.35", stock=5).pk, 1, token=token).json()
    assert body["subtotal"] == "12.35"
    assert body["shipping_total"] == "5.00"
    assert body["tax_total"] == "1.74"  # 10 % of 17.35, half up
    assert body["grand_total"] == "19.09"


def test_more_than_the_stock_is_a_409_that_says_how_many_there_are(client):
    variant = make_variant(stock=3, sku="RARE-1")
    token = new_guest_cart(client)
    assert add(client, variant.pk, 2, token=token).status_code == 201
    response = add(client, variant.pk, 2, token=token)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    short = {
        "variant_id": variant.pk,
        "sku": "RARE-1",
        "requested": 4,
        "available": 3,
        "in_cart": 2,
    }
    assert body["details"] == {**short, "lines": [short]}
    assert CartLine.objects.get().quantity == 2


def test_an_inactive_or_unknown_variant_cannot_be_added(client):
    variant = make_variant(stock=3)
    Product.objects.filter(pk=variant.product_id).update(is_active=False)
    token = new_guest_cart(client)
    assert add(client, variant.pk, token=token).json()["code"] == "variant_not_found"
    assert add(client, 999_999, token=token).status_code == 404


def test_more_of_a_line_whose_variant_stopped_selling_cannot_be_added(client):
    variant = make_variant(stock=5)
    token = new_guest_cart(client)
    assert add(client, variant.pk, token=token).status_code == 201
    Variant.objects.filter(pk=variant.pk).update(is_active=False)
    response = add(client, variant.pk, token=token)
    assert response.status_code == 404 and response.json()["code"] == "variant_not_found"
    assert CartLine.objects.get().quantity == 1


def test_a_cart_holds_at_most_cart_max_lines_lines(client, settings):
    settings.CART_MAX_LINES = 2
    first, second, third = (make_variant(stock=5) for _ in range(3))
    token = new_guest_cart(client)
    assert add(client, first.pk, token=token).status_code == 201
    assert add(client, second.pk, token=token).status_code == 201
    response = add(client, third.pk, token=token)
    assert response.status_code == 409
    assert response.json()["code"] == "cart_limit_reached"
    assert response.json()["details"] == {"max_lines": 2}
    # more of a line already there is no new line
    assert add(client, first.pk, token=token).status_code == 201
    assert sorted(CartLine.objects.values_list("variant_id", "quantity")) == [
        (first.pk, 2),
        (second.pk, 1),
    ]


def test_a_line_holds_at_most_cart_max_line_quantity(client, settings):
    settings.CART_MAX_LINE_QUANTITY = 3
    variant = make_variant(stock=10)
    token = new_guest_cart(client)
    line_id = add(client, variant.pk, 2, token=token).json()["lines"][0]["id"]
    response = add(client, variant.pk, 2, token=token)
    assert response.status_code == 409 and response.json()["code"] == "quantity_limit"
    assert response.json()["details"] == {
        "variant_id": variant.pk,
        "max_quantity": 3,
        "requested": 4,
    }
    patched = client.patch(
        f"/api/cart/items/{line_id}",
        {"quantity": 4},
        content_type="application/json",
        HTTP_X_CART_TOKEN=token,
    )
    assert patched.status_code == 409 and patched.json()["code"] == "quantity_limit"
    assert CartLine.objects.get().quantity == 2


@pytest.mark.parametrize("field", ["unit_price", "price", "line_total", "discount", "total"])
def test_a_price_in_the_input_is_refused(client, field):
    variant = make_variant(stock=3)
    token = new_guest_cart(client)
    response = add(client, variant.pk, token=token, **{field: "0.01"})
    assert response.status_code == 422
    assert response.json()["details"]["errors"][0]["field"] == field
    assert not CartLine.objects.exists()


def test_change_and_remove_lines(client):
    variant = make_variant(price="10.00", stock=5)
    token = new_guest_cart(client)
    line_id = add(client, variant.pk, token=token).json()["lines"][0]["id"]
    headers = {"HTTP_X_CART_TOKEN": token}
    changed = client.patch(
        f"/api/cart/items/{line_id}", {"quantity": 4}, content_type="application/json", **headers
    )
    assert changed.status_code == 200 and changed.json()["lines"][0]["quantity"] == 4
    too_many = client.patch(
        f"/api/cart/items/{line_id}", {"quantity": 6}, content_type="application/json", **headers
    )
    assert too_many.status_code == 409 and too_many.json()["details"]["available"] == 5
    zero = client.patch(
        f"/api/cart/items/{line_id}", {"quantity": 0}, content_type="application/json", **headers
    )
    assert zero.status_code == 422
    removed = client.delete(f"/api/cart/items/{line_id}", **headers)
    assert removed.status_code == 200 and removed.json()["lines"] == []
    again = client.delete(f"/api/cart/items/{line_id}", **headers)
    assert again.status_code == 404 and again.json()["code"] == "cart_line_not_found"


def test_a_customer_has_one_cart_and_never_sees_another(client):
    ada, grace = UserFactory(), UserFactory()
    variant = make_variant(stock=5)
    graces = user_cart(grace, (variant, 1))
    their_line = graces.lines.get()
    mine = get(client, headers=bearer(ada))
    assert mine.status_code == 200 and mine.json()["lines"] == [] and mine.json()["token"] is None
    assert client.post("/api/cart", **bearer(ada)).status_code == 200  # the same cart
    assert Cart.objects.filter(user=ada).count() == 1
    # Grace's line through Ada's token: as if it did not exist
    for response in (
        client.patch(
            f"/api/cart/items/{their_line.pk}",
            {"quantity": 2},
            content_type="application/json",
            **bearer(ada),
        ),
        client.delete(f"/api/cart/items/{their_line.pk}", **bearer(ada)),
    ):
        assert response.status_code == 404
    # a guest token does not open a customer's cart either
    assert get(client, token="anything").status_code == 404
    their_line.refresh_from_db()
    assert their_line.quantity == 1


def test_flagged_lines_stay_in_the_cart(client):
    gone = make_variant(price="10.00", stock=5, sku="GONE")
    short = make_variant(price="10.00", stock=5, sku="SHORT")
    sold_out = make_variant(price="10.00", stock=5, sku="SOLDOUT")
    dearer = make_variant(price="10.00", stock=5, sku="DEARER")
    token = new_guest_cart(client)
    for variant in (gone, short, sold_out, dearer):
        add(client, variant.pk, 3, token=token)
    Variant.objects.filter(pk=gone.pk).update(is_active=False)
    Variant.objects.filter(pk=short.pk).update(stock_quantity=2)
    Variant.objects.filter(pk=sold_out.pk).update(stock_quantity=0)
    Variant.objects.filter(pk=dearer.pk).update(price=Decimal("12.00"))
    body = get(client, token=token).json()
    lines = {line["sku"]: line for line in body["lines"]}
    assert lines["GONE"]["status"] == "unavailable"
    assert (lines["SHORT"]["status"], lines["SHORT"]["available_quantity"]) == (
        "insufficient_stock",
        2,
    )
    assert lines["SOLDOUT"]["status"] == "out_of_stock"
    assert lines["DEARER"]["status"] == "ok"
    assert lines["DEARER"]["price_changed"] is True
    assert (lines["DEARER"]["previous_unit_price"], lines["DEARER"]["unit_price"]) == (
        "10.00",
        "12.00",
    )
    assert body["is_purchasable"] is False
    assert body["subtotal"] == "126.00"  # 3 x 10 x 3 + 3 x 12
    # choosing the line again clears the flag
    client.patch(
        f"/api/cart/items/{lines['DEARER']['id']}",
        {"quantity": 1},
        content_type="application/json",
        HTTP_X_CART_TOKEN=token,
    )
    dearer_line = next(x for x in get(client, token=token).json()["lines"] if x["sku"] == "DEARER")
    assert dearer_line["price_changed"] is False


def test_a_checked_out_guest_cart_is_closed_to_writes(client):
    variant = make_variant(stock=5)
    token = new_guest_cart(client)
    add(client, variant.pk, token=token)
    Cart.objects.update(status=CartStatus.CHECKED_OUT)
    assert get(client, token=token).status_code == 404
    assert add(client, variant.pk, token=token).status_code == 404


@pytest.mark.parametrize("lines", [1, 30])
def test_reading_a_cart_costs_the_same_queries_whatever_its_size(client, lines):
    user = UserFactory()
    user_cart(user, *((make_variant(stock=5), 1) for _ in range(lines)))
    headers = bearer(user)
    with CaptureQueriesContext(connection) as queries:
        response = get(client, headers=headers)
    assert response.status_code == 200 and len(response.json()["lines"]) == lines
    # auth user, the cart with its coupon, lines + variants + products, attributes, the live
    # promotions that reach the lines (catalog and cart promotions in one statement)
    assert len(queries) <= 5, [q["sql"][:80] for q in queries]


def statements(queries) -> list[str]:
    """What a request ran, without the savepoints of the test's transaction."""
    sql = [q["sql"] for q in queries]
    return [s for s in sql if not s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


@pytest.fixture
def full_cart():
    """A guest cart of 19 lines and its token, a catalog promotion on some of its variants, a
    cart promotion, a coupon, and a 20th variant to add."""
    variants = [make_variant(price="10.00", stock=500) for _ in range(20)]
    catalog_promotion(targets={"variants": variants[::3]})
    cart_promotion(name="5 off 50", min_subtotal="50.00", reward="fixed", value="5.00")
    coupon = CouponFactory(kind="percent", value=Decimal("10"))
    _, token = guest_cart(*((v, 1) for v in variants[:19]), coupon=coupon)
    return token, variants


def test_a_cart_cycle_costs_the_same_statements_whatever_the_cart_holds(client, full_cart):
    token, variants = full_cart
    with CaptureQueriesContext(connection) as new_line:
        assert add(client, variants[19].pk, token=token).status_code == 201
    with CaptureQueriesContext(connection) as more:
        assert add(client, variants[5].pk, token=token).status_code == 201
    with CaptureQueriesContext(connection) as read:
        response = get(client, token=token)
    assert response.status_code == 200 and len(response.json()["lines"]) == 20
    # the cart, the cart locked with its coupon, lines + variants + products, the live
    # promotions, the line written, the cart's updated_at, attributes; a new line reads its
    # variant too
    assert len(statements(more)) <= 7, statements(more)
    assert len(statements(new_line)) <= 8, statements(new_line)
    # the cart with its coupon, lines + variants + products, the live promotions, attributes
    assert len(statements(read)) <= 4, statements(read)


def test_a_line_write_answers_with_the_cart_a_read_shows_after_it(client, full_cart):
    token, variants = full_cart
    headers = {"HTTP_X_CART_TOKEN": token}
    added = add(client, variants[19].pk, 2, token=token)
    assert added.status_code == 201
    body = added.json()
    assert body == get(client, token=token).json()
    assert body["coupon"]["applies"] is True and body["promotions"]
    assert {line["promotion"] for line in body["lines"]} == {None, "20 percent off"}
    assert body["lines"][-1]["variant_id"] == variants[19].pk
    assert body["lines"][-1]["quantity"] == 2
    more = add(client, variants[0].pk, token=token).json()
    assert more == get(client, token=token).json()
    assert more["lines"][0]["quantity"] == 2 and more["lines"][0]["unit_price"] == "8.00"
    line_id = more["lines"][1]["id"]
    patched = client.patch(
        f"/api/cart/items/{line_id}", {"quantity": 3}, content_type="application/json", **headers
    )
    assert patched.status_code == 200 and patched.json() == get(client, token=token).json()
    removed = client.delete(f"/api/cart/items/{line_id}", **headers)
    assert removed.status_code == 200 and removed.json() == get(client, token=token).json()
    assert len(removed.json()["lines"]) == 19


def test_stale_guest_carts_are_purged_and_customers_carts_kept():
    from datetime import timedelta

    from django.utils import timezone

    from orders.tasks import carts_purge_stale_task

    old_guest, _ = guest_cart((make_variant(stock=5), 1))
    fresh_guest, _ = guest_cart((make_variant(stock=5), 1))
    customer = user_cart(UserFactory())
    long_ago = timezone.now() - timedelta(days=31)
    Cart.objects.filter(pk__in=[old_guest.pk, customer.pk]).update(updated_at=long_ago)
    assert carts_purge_stale_task() == 2  # the cart and its line
    assert set(Cart.objects.values_list("pk", flat=True)) == {fresh_guest.pk, customer.pk}
