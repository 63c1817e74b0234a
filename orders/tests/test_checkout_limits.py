"""Stock cannot be held hostage, and what the customer was shown is what they pay.

The attack: an anonymous client checks out every unit of a SKU with a bank transfer, never pays,
and does it again: the SKU shows sold out for good, and a limited coupon is used up. Now one
order takes at most CART_MAX_LINE_QUANTITY of an item, an email, an account or an address has at
most ORDER_MAX_UNPAID orders waiting for payment, and an expired order gives its stock and its
coupon use back."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cart.models import Coupon, CouponKind
from orders.models import Order, OrderStatus
from orders.services import orders_cancel_unpaid
from products.models import Variant
from testing.factories import ADDRESS, CouponFactory, UserFactory, bearer, make_variant, user_cart

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings, shop_rules, clear_cache):
    settings.ORDER_MAX_UNPAID = 3
    settings.CART_MAX_LINE_QUANTITY = 50


def new_cart(client, variant, quantity, *, ip="203.0.113.9", coupon: str | None = None):
    token = client.post("/api/cart", REMOTE_ADDR=ip).json()["token"]
    added = client.post(
        "/api/cart/items",
        {"variant_id": variant.pk, "quantity": quantity},
        content_type="application/json",
        HTTP_X_CART_TOKEN=token,
        REMOTE_ADDR=ip,
    )
    if coupon:
        client.post(
            "/api/cart/coupon",
            {"code": coupon},
            content_type="application/json",
            HTTP_X_CART_TOKEN=token,
            REMOTE_ADDR=ip,
        )
    return token, added


def checkout(client, token, *, email="mallory@example.com", ip="203.0.113.9", **extra):
    return client.post(
        "/api/checkout",
        {"email": email, "shipping_address": ADDRESS, "payment_provider": "manual", **extra},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        HTTP_X_CART_TOKEN=token,
        REMOTE_ADDR=ip,
    )


def test_an_anonymous_hoarder_is_refused_and_the_stock_comes_back(client):
    variant = make_variant(price="20.00", stock=999)
    coupon = CouponFactory(code="LIMITED", usage_limit=3)

    token, too_many = new_cart(client, variant, 999)
    assert too_many.status_code == 409
    assert too_many.json()["code"] == "quantity_limit"  # one order takes at most 50 of an item

    placed = []
    for n in range(3):  # a new email each time, from one address
        token, added = new_cart(client, variant, 50, coupon="LIMITED")
        assert added.status_code == 201
        response = checkout(client, token, email=f"mallory{n}@example.com")
        assert response.status_code == 201, response.json()
        placed.append(response.json()["number"])
    token, _ = new_cart(client, variant, 50)
    refused = checkout(client, token, email="mallory9@example.com")
    assert refused.status_code == 409
    assert refused.json()["code"] == "unpaid_orders_limit"
    assert refused.json()["details"] == {"limit": 3, "per": "address"}
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 999 - 150
    assert Coupon.objects.get(pk=coupon.pk).times_used == 3

    # Never paid: the hold of a bank transfer ends, the stock and the coupon uses come back.
    later = timezone.now() + timedelta(days=6)
    assert sorted(orders_cancel_unpaid(now=later)) == sorted(placed)
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 999
    assert Coupon.objects.get(pk=coupon.pk).times_used == 0
    token, _ = new_cart(client, variant, 50)
    assert checkout(client, token, email="mallory9@example.com").status_code == 201


def test_unpaid_orders_are_limited_per_email_and_per_account_too(client):
    variant = make_variant(price="20.00", stock=100)
    for n in range(3):  # one email, three addresses
        token, _ = new_cart(client, variant, 1, ip=f"198.51.100.{n}")
        assert checkout(client, token, ip=f"198.51.100.{n}").status_code == 201
    token, _ = new_cart(client, variant, 1, ip="198.51.100.7")
    refused = checkout(client, token, ip="198.51.100.7")
    assert refused.json()["details"] == {"limit": 3, "per": "email"}

    customer = UserFactory(email="grace@example.com")
    for n in range(3):
        user_cart(customer, (variant, 1))
        placed = client.post(
            "/api/checkout",
            {"shipping_address": ADDRESS},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            REMOTE_ADDR=f"192.0.2.{n}",
            **bearer(customer),
        )
        assert placed.status_code == 201
    Order.objects.filter(user=customer).update(email="other@example.com")  # not the email
    user_cart(customer, (variant, 1))
    refused = client.post(
        "/api/checkout",
        {"shipping_address": ADDRESS},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        REMOTE_ADDR="192.0.2.9",
        **bearer(customer),
    )
    assert refused.json()["details"] == {"limit": 3, "per": "account"}
    # Paying one frees a place.
    first = Order.objects.filter(user=customer).order_by("pk").first()
    Order.objects.filter(pk=first.pk).update(status=OrderStatus.PAID)
    assert (
        client.post(
            "/api/checkout",
            {"shipping_address": ADDRESS},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            REMOTE_ADDR="192.0.2.9",
            **bearer(customer),
        ).status_code
        == 201
    )


def test_offline_payment_may_be_kept_for_signed_in_customers(client, settings):
    settings.PAYMENT_OFFLINE_SIGNED_IN_ONLY = True
    variant = make_variant(price="20.00", stock=10)
    token, _ = new_cart(client, variant, 1)
    refused = checkout(client, token)
    assert (refused.status_code, refused.json()["code"]) == (403, "sign_in_required")
    customer = UserFactory()
    user_cart(customer, (variant, 1))
    placed = client.post(
        "/api/checkout",
        {"shipping_address": ADDRESS, "payment_provider": "manual"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        **bearer(customer),
    )
    assert placed.status_code == 201


def test_a_moved_price_is_charged_only_once_the_customer_confirms_it(client):
    variant = make_variant(price="20.00", stock=10)
    token, _ = new_cart(client, variant, 2)
    Variant.objects.filter(pk=variant.pk).update(price=Decimal("25.00"))

    refused = checkout(client, token)
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "price_changed"
    assert body["details"] == {
        "lines": [
            {
                "variant_id": variant.pk,
                "sku": variant.sku,
                "old_price": "20.00",
                "new_price": "25.00",
            }
        ],
        "grand_total": "50.00",  # 2 x 25.00, and shipping is free from 50.00
    }
    assert not Order.objects.exists()
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 10  # nothing was taken

    assert checkout(client, token, expected_total="45.00").status_code == 409  # the old total
    placed = checkout(client, token, expected_total="50.00")
    assert placed.status_code == 201, placed.json()
    assert placed.json()["grand_total"] == "50.00"

    other, _ = new_cart(client, variant, 1, ip="203.0.113.10")
    Variant.objects.filter(pk=variant.pk).update(price=Decimal("26.00"))
    accepted = checkout(client, other, ip="203.0.113.10", accept_price_changes=True)
    assert accepted.status_code == 201 and accepted.json()["subtotal"] == "26.00"


def test_a_zero_total_is_paid_at_once_without_a_provider(client, settings):
    settings.SHIPPING_FLAT_RATE = Decimal("0.00")
    variant = make_variant(price="20.00", stock=10)
    CouponFactory(code="FREE", kind=CouponKind.PERCENT, value=Decimal("100.00"))
    token, _ = new_cart(client, variant, 1, coupon="FREE")
    placed = checkout(client, token)
    assert placed.status_code == 201, placed.json()
    body = placed.json()
    assert (body["grand_total"], body["status"], body["payment"]) == ("0.00", "paid", None)
    order = Order.objects.get(number=body["number"])
    assert not order.payments.exists() and order.paid_at is not None


def test_a_total_under_the_providers_minimum_is_a_clear_422(client, standin, settings):
    settings.SHIPPING_FLAT_RATE = Decimal("0.00")
    variant = make_variant(price="0.30", stock=10)
    token, _ = new_cart(client, variant, 1)
    refused = checkout(client, token, payment_provider="stripe")
    assert refused.status_code == 422
    assert refused.json()["code"] == "amount_below_minimum"
    assert refused.json()["details"]["minimum"] == "0.50"
    assert not Order.objects.exists()
