"""A cart promotion's use limit under real concurrency: the coupon limit's race test, again.

A gunicorn server (4 processes x 50 threads) runs on the test database; 50 client threads,
released together by a barrier, check out 50 guest carts that each reach a promotion limited
to 10 uses, each with the total its cart showed (the promotion in it). The data is committed
(transaction=True) and every figure read back from PostgreSQL.
"""

import json
from collections import Counter
from decimal import Decimal

import httpx
import pytest

from orders.models import Order
from orders.services import order_cancel
from promotions.models import CartPromotion, PromotionRedemption
from testing import servers
from testing.concurrency import SERVER_ENV, concurrently, post_checkout
from testing.factories import ADDRESS, guest_cart, make_variant
from testing.promotions import cart_promotion

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    with servers.gunicorn(
        "--workers=4",
        "--threads=50",
        "--worker-class=gthread",
        "--backlog=2048",
        "--timeout=120",
        "--log-level=warning",
        log=tmp_path_factory.mktemp("gunicorn") / "server.log",
        CELERY_BROKER_URL="memory://",
        **SERVER_ENV,
        RATE_LIMITS=json.dumps({"checkout": None, "orders": None, "cart": None}),
    ) as base:
        yield base


def test_a_promotion_limited_to_10_uses_is_used_exactly_10_times(server):
    promotion = cart_promotion(
        name="Ten only", min_subtotal="10.00", reward="fixed", value="5.00", usage_limit=10
    )
    # A variant per cart: the promotion's row is the only thing the checkouts share.
    tokens = [guest_cart((make_variant(price="40.00", stock=5), 1))[1] for _ in range(50)]
    with httpx.Client(base_url=server, timeout=60) as http:
        shown = {
            http.get("/api/cart", headers={"X-Cart-Token": t}).json()["grand_total"] for t in tokens
        }
    assert shown == {"40.00"}  # 40.00 - 5.00 + shipping 5.00: every cart shows the promotion
    bodies = [
        {"email": f"buyer{n}@example.com", "shipping_address": ADDRESS, "expected_total": "40.00"}
        for n in range(50)
    ]

    results = concurrently(
        [post_checkout(server, token=t, body=b) for t, b in zip(tokens, bodies, strict=True)]
    )

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 10, 409: 40}, statuses
    assert {b["code"] for s, b in results if s == 409} == {"promotion_unavailable"}
    assert {b["grand_total"] for s, b in results if s == 201} == {"40.00"}
    assert {b["details"]["grand_total"] for s, b in results if s == 409} == {"45.00"}
    assert PromotionRedemption.objects.count() == 10
    assert CartPromotion.objects.get(pk=promotion.pk).times_used == 10
    assert Order.objects.count() == 10

    # an unpaid order cancelled gives its use back, and the next customer gets it
    order_cancel(order_id=Order.objects.first().pk, note="expired")
    assert CartPromotion.objects.get(pk=promotion.pk).times_used == 9
    refused = next(n for n, (status, _) in enumerate(results) if status == 409)
    status, body = post_checkout(server, token=tokens[refused], body=bodies[refused])()
    assert (status, body["grand_total"]) == (201, "40.00")
    assert CartPromotion.objects.get(pk=promotion.pk).times_used == 10
    assert Decimal(body["discount_total"]) == Decimal("5.00")
