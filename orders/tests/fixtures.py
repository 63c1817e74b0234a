"""The order tests' helpers and fixtures (registered in the root conftest.py): `place`, an order
placed through the checkout API, which other apps' tests ask for as a fixture."""

import pytest

from orders.models import Order
from testing.factories import ADDRESS, bearer, guest_cart, make_variant, user_cart


def place(client, user=None, *, lines=None, coupon=None, key="k") -> Order:
    lines = lines or [(make_variant(price="25.00", stock=10), 2)]
    if user is not None:
        user_cart(user, *lines, coupon=coupon)
        response = client.post(
            "/api/checkout",
            {"shipping_address": ADDRESS},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=key,
            **bearer(user),
        )
    else:
        _, token = guest_cart(*lines, coupon=coupon)
        response = client.post(
            "/api/checkout",
            {"email": "guest@example.com", "shipping_address": ADDRESS},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=key,
            HTTP_X_CART_TOKEN=token,
        )
    assert response.status_code == 201, response.json()
    return Order.objects.get(number=response.json()["number"])


@pytest.fixture(name="place")
def place_fixture():
    """`place(client, user=None, *, lines=None, coupon=None, key="k")`: the placed Order."""
    return place
