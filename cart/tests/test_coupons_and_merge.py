"""Coupons on the cart (each error by its code) and the guest cart merged at sign-in."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cart.models import Cart, CartLine, CartStatus
from orders.models import Order
from products.models import Variant
from testing.factories import (
    PASSWORD,
    CouponFactory,
    UserFactory,
    bearer,
    guest_cart,
    make_variant,
    user_cart,
)

pytestmark = pytest.mark.django_db


def apply(client, code, *, token=None, headers=None):
    extra = dict(headers or {})
    if token:
        extra["HTTP_X_CART_TOKEN"] = token
    return client.post("/api/cart/coupon", {"code": code}, content_type="application/json", **extra)


@pytest.mark.parametrize(
    "coupon,subtotal,discount,shipping",
    [
        ({"kind": "percent", "value": Decimal("15")}, "40.00", "6.00", "5.00"),
        ({"kind": "fixed", "value": Decimal("7.50")}, "40.00", "7.50", "5.00"),
        ({"kind": "fixed", "value": Decimal("100.00")}, "40.00", "40.00", "5.00"),  # capped
        ({"kind": "free_shipping", "value": Decimal("0")}, "40.00", "0.00", "0.00"),
    ],
)
def test_each_kind_of_coupon(client, coupon, subtotal, discount, shipping):
    CouponFactory(code="DEAL", **coupon)
    _, token = guest_cart((make_variant(price="20.00", stock=5), 2))
    response = apply(client, "deal", token=token)  # any case
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["coupon"]["code"] == "DEAL" and body["coupon"]["applies"] is True
    assert (body["subtotal"], body["discount_total"], body["shipping_total"]) == (
        subtotal,
        discount,
        shipping,
    )
    total = Decimal(subtotal) - Decimal(discount) + Decimal(shipping)
    assert Decimal(body["grand_total"]) == total


def test_a_fixed_discount_that_brings_the_subtotal_under_the_threshold_pays_shipping(client):
    CouponFactory(code="FIVE", kind="fixed", value=Decimal("5.00"))
    _, token = guest_cart((make_variant(price="52.00", stock=5), 1))
    body = apply(client, "FIVE", token=token).json()
    assert (body["discount_total"], body["shipping_total"], body["grand_total"]) == (
        "5.00",
        "5.00",
        "52.00",
    )


def test_coupon_errors_have_their_own_codes(client):
    now = timezone.now()
    CouponFactory(code="OLD", ends_at=now - timedelta(days=1), starts_at=now - timedelta(days=9))
    CouponFactory(code="SOON", starts_at=now + timedelta(days=1))
    CouponFactory(code="BIG", min_subtotal=Decimal("100.00"))
    CouponFactory(code="USED", usage_limit=3).__class__.objects.filter(code="USED").update(
        times_used=3
    )
    CouponFactory(code="OFF", is_active=False)
    _, token = guest_cart((make_variant(price="20.00", stock=5), 1))
    codes = {
        code: (response.status_code, response.json()["code"])
        for code in ("OLD", "SOON", "BIG", "USED", "OFF", "NOPE")
        for response in [apply(client, code, token=token)]
    }
    assert codes == {
        "OLD": (409, "coupon_expired"),
        "SOON": (409, "coupon_not_started"),
        "BIG": (409, "coupon_min_subtotal"),
        "USED": (409, "coupon_usage_limit"),
        "OFF": (404, "coupon_not_found"),  # an inactive code looks like an unknown one
        "NOPE": (404, "coupon_not_found"),
    }
    assert apply(client, "BIG", token=token).json()["details"]["min_subtotal"] == "100.00"
    assert Cart.objects.get().coupon is None


def test_a_customer_over_the_per_customer_limit_is_told_at_once(client):
    from cart.models import CouponRedemption

    user = UserFactory()
    coupon = CouponFactory(code="ONCE", per_customer_limit=1)
    old_cart = user_cart(user, (make_variant(stock=5), 1))
    old_cart.status = CartStatus.CHECKED_OUT
    old_cart.save()
    order = Order.objects.create(
        number="EM-900001",
        user=user,
        email=user.email,
        currency="USD",
        subtotal=Decimal("10.00"),
        grand_total=Decimal("10.00"),
        shipping_address={},
        billing_address={},
        payment_provider="manual",
    )
    CouponRedemption.objects.create(
        coupon=coupon, order=order, user=user, email=user.email, discount_amount=Decimal("1.00")
    )
    user_cart(user, (make_variant(stock=5), 1))
    response = apply(client, "ONCE", headers=bearer(user))
    assert response.status_code == 409 and response.json()["code"] == "coupon_customer_limit"


def test_a_coupon_that_stops_applying_is_shown_with_its_reason(client):
    coupon = CouponFactory(code="MIN30", min_subtotal=Decimal("30.00"))
    variant = make_variant(price="20.00", stock=5)
    _, token = guest_cart((variant, 2))
    assert apply(client, "MIN30", token=token).json()["discount_total"] == "4.00"
    line = CartLine.objects.get()
    client.patch(
        f"/api/cart/items/{line.pk}",
        {"quantity": 1},
        content_type="application/json",
        HTTP_X_CART_TOKEN=token,
    )
    body = client.get("/api/cart", HTTP_X_CART_TOKEN=token).json()
    assert body["coupon"]["applies"] is False
    assert body["coupon"]["error"]["code"] == "coupon_min_subtotal"
    assert body["discount_total"] == "0.00" and body["is_purchasable"] is False
    removed = client.delete("/api/cart/coupon", HTTP_X_CART_TOKEN=token).json()
    assert removed["coupon"] is None and removed["is_purchasable"] is True
    assert coupon.pk


# -- merge ----------------------------------------------------------------------------------------


def test_sign_in_with_a_guest_token_merges_the_cart_and_reports_it(client):
    user = UserFactory(email="ada@example.com")
    kept = make_variant(price="10.00", stock=10, sku="KEPT")
    capped = make_variant(price="10.00", stock=4, sku="CAPPED")
    repriced = make_variant(price="10.00", stock=10, sku="REPRICED")
    gone = make_variant(price="10.00", stock=10, sku="GONE")
    user_cart(user, (capped, 1))
    coupon = CouponFactory(code="GUEST")
    guest, token = guest_cart((kept, 2), (capped, 5), (repriced, 1), (gone, 1), coupon=coupon)
    Variant.objects.filter(pk=repriced.pk).update(price=Decimal("11.00"))
    Variant.objects.filter(pk=gone.pk).update(is_active=False)

    response = client.post(
        "/api/auth/token",
        {"email": "ada@example.com", "password": PASSWORD},
        content_type="application/json",
        HTTP_X_CART_TOKEN=token,
    )
    assert response.status_code == 200, response.json()
    report = response.json()["cart_merge"]
    assert response.json()["access"]
    assert report["merged"] == [
        {"variant_id": kept.pk, "sku": "KEPT", "quantity_added": 2, "quantity": 2},
        {"variant_id": capped.pk, "sku": "CAPPED", "quantity_added": 3, "quantity": 4},
        {"variant_id": repriced.pk, "sku": "REPRICED", "quantity_added": 1, "quantity": 1},
    ]
    assert report["capped"] == [
        {"variant_id": capped.pk, "sku": "CAPPED", "requested": 6, "quantity": 4}
    ]
    assert report["price_changes"] == [
        {
            "variant_id": repriced.pk,
            "sku": "REPRICED",
            "previous_unit_price": "10.00",
            "unit_price": "11.00",
        }
    ]
    assert report["dropped"] == [{"variant_id": gone.pk, "sku": "GONE", "reason": "unavailable"}]
    assert report["coupon_code"] == "GUEST" and report["already_merged"] is False
    cart = report["cart"]
    assert {line["sku"]: line["quantity"] for line in cart["lines"]} == {
        "KEPT": 2,
        "CAPPED": 4,
        "REPRICED": 1,
    }
    assert cart["coupon"]["code"] == "GUEST"
    guest.refresh_from_db()
    assert guest.status == CartStatus.MERGED and not guest.lines.exists()
    # The guest cart is gone for the guest's token; merging again changes nothing.
    assert client.get("/api/cart", HTTP_X_CART_TOKEN=token).status_code == 404
    again = client.post("/api/cart/merge", HTTP_X_CART_TOKEN=token, **bearer(user))
    assert again.status_code == 200
    assert again.json()["already_merged"] is True and again.json()["merged"] == []
    assert {line["sku"]: line["quantity"] for line in again.json()["cart"]["lines"]} == {
        "KEPT": 2,
        "CAPPED": 4,
        "REPRICED": 1,
    }


def test_sign_in_with_an_unknown_token_still_signs_in(client):
    user = UserFactory(email="ada@example.com")
    response = client.post(
        "/api/auth/token",
        {"email": user.email, "password": PASSWORD},
        content_type="application/json",
        HTTP_X_CART_TOKEN="no-such-cart",
    )
    assert response.status_code == 200
    assert response.json()["cart_merge"] is None


def test_the_merge_route_needs_a_signed_in_customer_and_a_guest_cart(client):
    _, token = guest_cart((make_variant(stock=5), 1))
    assert client.post("/api/cart/merge", HTTP_X_CART_TOKEN=token).status_code == 401
    user = UserFactory()
    missing = client.post("/api/cart/merge", **bearer(user))
    assert missing.status_code == 404
    unknown = client.post("/api/cart/merge", HTTP_X_CART_TOKEN="nope", **bearer(user))
    assert unknown.status_code == 404


def test_another_customers_merge_of_a_merged_cart_is_a_404(client):
    ada, grace = UserFactory(), UserFactory()
    _, token = guest_cart((make_variant(stock=5), 1))
    assert client.post("/api/cart/merge", HTTP_X_CART_TOKEN=token, **bearer(ada)).status_code == 200
    response = client.post("/api/cart/merge", HTTP_X_CART_TOKEN=token, **bearer(grace))
    assert response.status_code == 404
    assert not CartLine.objects.filter(cart__user=grace).exists()
