"""Cart promotions in the cart answer and at checkout: what applied, the next one, coupons,
limits counted and released, the order's snapshot and the sales report."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus
from orders.services import order_cancel
from promotions.models import CartPromotion, OrderDiscount, PromotionRedemption
from testing.factories import (
    ADDRESS,
    CouponFactory,
    bearer,
    guest_cart,
    make_variant,
    staff_user,
)
from testing.promotions import cart_promotion, catalog_promotion

pytestmark = pytest.mark.django_db


def cart(client, token):
    response = client.get("/api/cart", HTTP_X_CART_TOKEN=token)
    assert response.status_code == 200
    return response.json()


def checkout(client, token, key="k1", **extra):
    return client.post(
        "/api/checkout",
        {"email": "buyer@example.com", "shipping_address": ADDRESS, **extra},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        HTTP_X_CART_TOKEN=token,
    )


def test_the_cart_says_what_applied_and_how_far_the_next_promotion_is(client):
    cart_promotion(name="Free shipping from 30", min_subtotal="30.00", reward="free_shipping")
    cart_promotion(name="10 off 100", min_subtotal="100.00", reward="fixed", value="10.00")
    _, token = guest_cart((make_variant(price="18.00"), 1))

    answer = cart(client, token)
    assert answer["promotions"] == []
    assert answer["next_promotion"]["message"] == "spend 12.00 more for free shipping"
    assert answer["next_promotion"]["amount_missing"] == "12.00"
    assert answer["shipping_total"] == "5.00"

    _, token = guest_cart((make_variant(price="36.00"), 1))
    answer = cart(client, token)
    assert [(p["name"], p["amount"], p["free_shipping"]) for p in answer["promotions"]] == [
        ("Free shipping from 30", "5.00", True)
    ]
    assert answer["next_promotion"]["message"] == "spend 64.00 more for 10.00 off"
    assert (answer["shipping_total"], answer["grand_total"]) == ("0.00", "36.00")


def test_buy_two_get_one_frees_the_cheapest_and_the_order_keeps_it_per_line(client):
    tee, cap = make_variant(price="20.00"), make_variant(price="8.00")
    promotion = cart_promotion(
        name="3 for 2",
        kind="buy_get",
        reward="free_items",
        buy_quantity=2,
        free_quantity=1,
        targets={"products": [tee.product, cap.product]},
    )
    _, token = guest_cart((tee, 2), (cap, 1))
    answer = cart(client, token)
    assert [(p["id"], p["amount"]) for p in answer["promotions"]] == [(promotion.pk, "8.00")]
    assert (answer["subtotal"], answer["discount_total"], answer["grand_total"]) == (
        "48.00",
        "8.00",
        "45.00",  # 40.00 + shipping 5.00
    )

    assert checkout(client, token).status_code == 201
    order = Order.objects.get()
    assert order.discount_total == Decimal("8.00")
    row = OrderDiscount.objects.get(order=order)
    assert (row.line.sku, row.source, row.kind, row.amount) == (cap.sku, "cart", "free_items", 8)
    assert PromotionRedemption.objects.get().amount == Decimal("8.00")


def test_an_exclusive_promotion_gives_way_to_a_coupon_and_a_combinable_one_does_not(client):
    cart_promotion(
        name="Exclusive", min_subtotal="10", reward="fixed", value="5.00", coupon_rule="exclusive"
    )
    coupon = CouponFactory(kind="fixed", value=Decimal("3.00"))
    _, token = guest_cart((make_variant(price="60.00"), 1), coupon=coupon)
    answer = cart(client, token)
    assert answer["promotions"] == [] and answer["discount_total"] == "3.00"

    CartPromotion.objects.update(coupon_rule="combinable")
    answer = cart(client, token)
    assert [p["name"] for p in answer["promotions"]] == ["Exclusive"]
    assert answer["discount_total"] == "8.00"
    assert checkout(client, token).status_code == 201
    rows = OrderDiscount.objects.order_by("source")
    assert [(r.source, r.amount) for r in rows] == [("cart", 5), ("coupon", 3)]


def test_a_limited_promotion_counts_its_uses_and_an_unpaid_order_gives_them_back(client):
    promotion = cart_promotion(
        name="First two",
        min_subtotal="10",
        reward="fixed",
        value="5.00",
        usage_limit=2,
        budget="100.00",
    )
    orders = []
    for n in range(3):
        _, token = guest_cart((make_variant(price="20.00"), 1))
        shown = cart(client, token)
        assert checkout(client, token, key=f"k{n}").status_code == 201
        orders.append((shown, Order.objects.latest("id")))
    assert [o.discount_total for _, o in orders] == [Decimal("5.00"), Decimal("5.00"), 0]
    assert orders[2][0]["promotions"] == []  # the cart no longer offered it
    promotion.refresh_from_db()
    assert (promotion.times_used, promotion.budget_used) == (2, Decimal("10.00"))

    # the unpaid order expires: its use comes back, once
    order_cancel(order_id=orders[0][1].pk, actor=None, note="expired")
    promotion.refresh_from_db()
    assert (promotion.times_used, promotion.budget_used) == (1, Decimal("5.00"))
    assert Order.objects.get(pk=orders[0][1].pk).status == OrderStatus.CANCELLED
    assert PromotionRedemption.objects.filter(released_at__isnull=False).count() == 1


def test_a_promotion_that_ran_out_after_the_cart_showed_it_is_a_409(client):
    cart_promotion(name="Last one", min_subtotal="10", reward="fixed", value="5.00", usage_limit=1)
    _, first = guest_cart((make_variant(price="20.00"), 1))
    _, second = guest_cart((make_variant(price="20.00"), 1))
    shown = cart(client, second)["grand_total"]
    assert shown == "20.00"  # 20.00 - 5.00 + shipping 5.00
    assert checkout(client, first, key="a").status_code == 201

    refused = checkout(client, second, key="b", expected_total=shown)
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "promotion_unavailable"
    assert body["details"]["promotions"][0]["name"] == "Last one"
    assert body["details"]["grand_total"] == "25.00"
    # confirming the new total orders without it
    assert checkout(client, second, key="c", expected_total="25.00").status_code == 201
    assert Order.objects.count() == 2


def test_the_sales_report_shows_revenue_with_and_without_promotions(client):
    catalog_promotion(
        kind="fixed", value="10.00", targets={"variants": [v := make_variant(price="50.00")]}
    )
    _, token = guest_cart((v, 1))  # added at 50.00, before the promotion: accepted
    assert checkout(client, token, accept_price_changes=True).status_code == 201
    order = Order.objects.get()
    staff = staff_user("orders.view_salesreport", email="reports@example.com")
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID)
    today = timezone.localdate()
    response = client.get(
        f"/api/staff/reports/sales?from={today - timedelta(days=1)}&to={today}", **bearer(staff)
    )
    assert response.status_code == 200, response.json()
    totals = response.json()["totals"]
    # 40.00 + shipping 5.00 paid; the promotion took 10.00 off
    assert (totals["revenue"], totals["promotion_discount"]) == ("45.00", "10.00")
    assert totals["revenue_before_promotions"] == "55.00"
    assert totals["orders_with_promotions"] == 1
