"""Checkout under real concurrency, with exact figures.

A gunicorn server (4 processes x 50 threads, gthread) runs on the test database; up to 200 client
threads, each with its own connection, are released together by a barrier and send real HTTP
requests; the data is committed (transaction=True) and every figure is read back from PostgreSQL.
Each checkout comes from its own customer (email and client address, testing/concurrency.py),
so the unpaid-order limits' per-customer locks do not queue them one by one and the row locks
are what is proven. The rate limits of the checkout and orders groups are off in the server's
environment only (RATE_LIMITS); the shop's limits are not changed.
"""

import json
import random
import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from cart.models import Coupon, CouponRedemption
from orders.models import Order, OrderEvent, OrderStatus
from orders.services import orders_cancel_unpaid
from products.models import StockMovement, Variant
from testing import servers
from testing.concurrency import SERVER_ENV, concurrently, post_checkout
from testing.factories import ADDRESS, CouponFactory, guest_cart, make_variant

pytestmark = pytest.mark.django_db(transaction=True)

PROCESSES, THREADS = 4, 50


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    """gunicorn on the test database and the test Redis; tasks go to an in-memory broker (the
    emails and alerts they would send are covered elsewhere)."""
    with servers.gunicorn(
        f"--workers={PROCESSES}",
        f"--threads={THREADS}",
        "--worker-class=gthread",
        "--backlog=2048",
        "--timeout=120",
        "--log-level=warning",
        log=tmp_path_factory.mktemp("gunicorn") / "server.log",
        CELERY_BROKER_URL="memory://",
        **SERVER_ENV,
        RATE_LIMITS=json.dumps({"checkout": None, "orders": None}),
    ) as base:
        yield base


def test_200_checkouts_for_50_units_sell_exactly_50(server):
    variant = make_variant(price="19.99", stock=50, sku="HOT-1")
    tokens = [guest_cart((variant, 1))[1] for _ in range(200)]

    results = concurrently([post_checkout(server, token=t) for t in tokens])

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 50, 409: 150}, statuses
    assert {body["code"] for status, body in results if status == 409} == {"insufficient_stock"}
    refused = next(body for status, body in results if status == 409)
    assert refused["details"]["lines"] == [
        {"variant_id": variant.pk, "sku": "HOT-1", "requested": 1, "available": 0}
    ]
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 0
    assert Order.objects.count() == 50
    assert len({body["number"] for status, body in results if status == 201}) == 50
    sales = StockMovement.objects.filter(variant=variant, reason="sale")
    assert sales.count() == 50
    assert sorted(sales.values_list("quantity_after", flat=True)) == list(range(50))


def test_carts_with_two_skus_in_any_order_never_deadlock_or_split(server):
    a = make_variant(price="10.00", stock=60, sku="PAIR-A")
    b = make_variant(price="15.00", stock=100, sku="PAIR-B")
    rng = random.Random(6)
    tokens = []
    for _ in range(100):
        lines = [(a, 1), (b, 1)]
        rng.shuffle(lines)  # lines created A-then-B or B-then-A
        tokens.append(guest_cart(*lines)[1])

    results = concurrently([post_checkout(server, token=t) for t in tokens])

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 60, 409: 40}, statuses  # no 500: no deadlock
    assert {body["code"] for status, body in results if status == 409} == {"insufficient_stock"}
    assert Variant.objects.get(pk=a.pk).stock_quantity == 0
    assert Variant.objects.get(pk=b.pk).stock_quantity == 40
    orders = Order.objects.prefetch_related("lines")
    assert orders.count() == 60
    assert all(sorted(line.sku for line in o.lines.all()) == ["PAIR-A", "PAIR-B"] for o in orders)
    assert {o.subtotal for o in orders} == {Decimal("25.00")}
    assert StockMovement.objects.filter(reason="sale").count() == 120


def test_ten_concurrent_requests_with_one_key_make_one_order(server):
    variant = make_variant(price="12.00", stock=10)
    _, token = guest_cart((variant, 3))
    key = uuid.uuid4().hex

    results = concurrently([post_checkout(server, token=token, key=key) for _ in range(10)])

    assert [status for status, _ in results] == [201] * 10
    assert all(body == results[0][1] for _, body in results)  # ten identical answers
    assert Order.objects.count() == 1
    assert results[0][1]["number"] == Order.objects.get().number
    assert results[0][1]["payment"]["status"] == "pending"
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 7


def test_a_coupon_limited_to_10_uses_is_redeemed_exactly_10_times(server):
    coupon = CouponFactory(code="TENTIMES", kind="fixed", value="5.00", usage_limit=10)
    variant = make_variant(price="40.00", stock=100)
    tokens = [guest_cart((variant, 1), coupon=coupon)[1] for _ in range(50)]
    bodies = [{"email": f"buyer{n}@example.com", "shipping_address": ADDRESS} for n in range(50)]

    results = concurrently(
        [post_checkout(server, token=t, body=b) for t, b in zip(tokens, bodies, strict=True)]
    )

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 10, 409: 40}, statuses
    assert {body["code"] for status, body in results if status == 409} == {"coupon_usage_limit"}
    assert {body["discount_total"] for status, body in results if status == 201} == {"5.00"}
    assert CouponRedemption.objects.count() == 10
    assert Coupon.objects.get(pk=coupon.pk).times_used == 10
    assert Order.objects.count() == 10
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 90


def test_expiry_twice_and_customer_cancels_at_once_return_the_stock_exactly_once(server):
    variant = make_variant(price="10.00", stock=100, sku="BACK-1")
    orders = []
    for _ in range(20):
        _, token = guest_cart((variant, 2))
        status, body = post_checkout(server, token=token)()
        assert status == 201
        orders.append(body)
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 60
    Order.objects.update(placed_at=timezone.now() - timedelta(hours=1))

    def cancel(order):
        def call():
            with httpx.Client(base_url=server, timeout=120) as http:
                response = http.post(
                    f"/api/orders/{order['number']}/cancel",
                    json={},
                    headers={"X-Order-Token": order["token"]},
                )
                return response.status_code, response.json()

        return call

    results = concurrently(
        [orders_cancel_unpaid, orders_cancel_unpaid, *(cancel(order) for order in orders)]
    )

    expired = results[0] + results[1]
    answers = results[2:]
    assert len(set(expired)) == len(expired)  # no order cancelled by both runs
    assert {status for status, _ in answers} <= {200, 409}
    assert all(body["code"] == "invalid_transition" for status, body in answers if status == 409)
    cancelled_by_customers = sum(status == 200 for status, _ in answers)
    assert len(expired) + cancelled_by_customers == 20
    assert Order.objects.filter(status=OrderStatus.CANCELLED).count() == 20
    assert OrderEvent.objects.filter(to_status="cancelled").count() == 20
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 100
    returns = StockMovement.objects.filter(variant=variant, reason="cancellation")
    assert returns.count() == 20 and sum(returns.values_list("quantity_delta", flat=True)) == 40
    # and once more, for good measure: nothing left to do
    assert orders_cancel_unpaid() == []
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 100
