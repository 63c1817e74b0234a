"""Refunds name lines and quantities, each unit refunded once; restock returns exactly those
units; what is left ships; every staff order action takes an Idempotency-Key."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connections
from django.test import Client
from django.urls import reverse

from orders.models import Order, OrderEvent, OrderLine, OrderStatus
from orders.tests.fixtures import place
from payments.models import Refund
from products.models import StockMovement, Variant
from testing.factories import CouponFactory, UserFactory, bearer, make_variant, staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rules(shop_rules):
    """Flat shipping 5.00 under 50.00, free from 50.00; no tax."""


@pytest.fixture
def staff(db):
    return staff_user("orders.view_order", "orders.change_order", email="ops@example.com")


def post(client, staff, order, action, body=None, key: str | None = "fresh"):
    headers = bearer(staff)
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = uuid.uuid4().hex if key == "fresh" else key
    return client.post(
        f"/api/staff/orders/{order.number}/{action}",
        body or {},
        content_type="application/json",
        **headers,
    )


def paid_order(client, staff, *lines, **kwargs) -> Order:
    order = place(client, lines=list(lines), **kwargs)
    assert post(client, staff, order, "mark-paid").status_code == 200
    return order


def line_of(order: Order, variant) -> OrderLine:
    return order.lines.get(variant=variant)


def stock(variant) -> int:
    return Variant.objects.get(pk=variant.pk).stock_quantity


def returns(order: Order) -> list[tuple[str, int]]:
    movements = StockMovement.objects.filter(reference=order.number, reason="return")
    return sorted(movements.values_list("sku", "quantity_delta"))


# -- lines and quantities -------------------------------------------------------------------------


def test_a_partial_line_refund_with_restock_returns_exactly_those_units_and_the_rest_ships(
    client, staff, run_tasks
):
    mugs, lamps = make_variant(price="10.00", stock=10), make_variant(price="25.00", stock=10)
    order = paid_order(client, staff, (mugs, 3), (lamps, 2))  # 80.00, shipping free
    mug_line = line_of(order, mugs)

    with run_tasks():
        refunded = post(
            client,
            staff,
            order,
            "refund",
            {"lines": [{"line_id": mug_line.pk, "quantity": 1}], "restock": True},
        )
    assert refunded.status_code == 200, refunded.json()
    body = refunded.json()
    assert (body["status"], body["refunded_total"]) == ("partially_refunded", "10.00")
    assert {line["sku"]: line["quantity_refunded"] for line in body["lines"]} == {
        mugs.sku: 1,
        lamps.sku: 0,
    }
    # Exactly the unit named came back, in one ledger line; the lamps stay sold.
    assert (stock(mugs), stock(lamps)) == (8, 8)
    assert returns(order) == [(mugs.sku, 1)]
    assert [r.amount for r in Refund.objects.filter(payment__order=order)] == [Decimal("10.00")]

    mail.outbox.clear()
    with run_tasks():
        shipped = post(client, staff, order, "ship", {"tracking_number": "1Z1"})
    assert shipped.status_code == 200, shipped.json()
    assert shipped.json()["status"] == "shipped"
    [email] = mail.outbox
    parcel = email.body.split("In the parcel:")[1].split("\n\n")[0]
    assert f"2 x {mug_line.product_name}" in parcel
    assert f"2 x {line_of(order, lamps).product_name}" in parcel
    assert "(1 refunded)" in email.body


def test_restock_on_a_money_only_refund_is_refused_and_returns_nothing(client, staff):
    """The phantom stock: a partial refund of an amount with `restock` put back every line."""
    mugs = make_variant(price="10.00", stock=10)
    order = paid_order(client, staff, (mugs, 3))  # 30.00 + 5.00 shipping
    refused = post(client, staff, order, "refund", {"amount": "10.00", "restock": True})
    assert (stock(mugs), returns(order)) == (7, [])
    assert refused.status_code == 422, refused.json()
    assert refused.json()["code"] == "refund_lines_required"
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == (OrderStatus.PAID, Decimal("0.00"))
    # The money alone is fine, and ships everything.
    goodwill = post(client, staff, order, "refund", {"amount": "10.00"})
    assert goodwill.status_code == 200 and stock(mugs) == 7
    shipped = post(client, staff, order, "ship", {"tracking_number": "1Z1"})
    assert shipped.status_code == 200, shipped.json()


def test_a_fully_refunded_order_cannot_ship(client, staff):
    mugs, lamps = make_variant(price="10.00", stock=10), make_variant(price="5.00", stock=10)
    order = paid_order(client, staff, (mugs, 2), (lamps, 1))  # 25.00 + 5.00 shipping
    every_line = [
        {"line_id": line_of(order, mugs).pk, "quantity": 2},
        {"line_id": line_of(order, lamps).pk, "quantity": 1},
    ]
    goods = post(client, staff, order, "refund", {"lines": every_line, "restock": True})
    assert goods.status_code == 200, goods.json()
    # The shipping is not refunded yet, so the order is only partly refunded, with nothing in it.
    assert (goods.json()["status"], goods.json()["refunded_total"]) == (
        "partially_refunded",
        "25.00",
    )
    nothing = post(client, staff, order, "ship", {"tracking_number": "1Z1"})
    assert nothing.status_code == 409, nothing.json()
    assert nothing.json()["code"] == "nothing_to_ship"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PARTIALLY_REFUNDED

    too_much = post(client, staff, order, "refund", {"shipping": "6.00"})
    assert (too_much.status_code, too_much.json()["code"]) == (409, "refund_exceeds_shipping")
    rest = post(client, staff, order, "refund", {"shipping": "5.00"})
    assert rest.status_code == 200, rest.json()
    assert (rest.json()["status"], rest.json()["refunded_total"]) == ("refunded", "30.00")
    assert rest.json()["shipping_refunded"] == "5.00"
    assert (stock(mugs), stock(lamps)) == (10, 10)


def test_a_line_cannot_be_refunded_beyond_its_quantity(client, staff):
    lamps = make_variant(price="25.00", stock=10)
    order = paid_order(client, staff, (lamps, 2))
    line = line_of(order, lamps)

    def refund(quantity, **extra):
        body = {"lines": [{"line_id": line.pk, "quantity": quantity}], **extra}
        return post(client, staff, order, "refund", body)

    beyond = refund(3)
    assert beyond.status_code == 409, beyond.json()
    assert beyond.json()["code"] == "refund_exceeds_quantity"
    assert beyond.json()["details"]["lines"] == [
        {"line_id": line.pk, "sku": lamps.sku, "requested": 3, "refundable": 2}
    ]
    assert lamps.sku in beyond.json()["message"]
    assert refund(1).status_code == 200
    again = refund(2)
    assert again.status_code == 409
    assert again.json()["details"]["lines"][0]["refundable"] == 1
    assert refund(1).json()["status"] == "refunded"  # the last unit: all the money is back
    assert refund(1).status_code == 409

    unknown = post(client, staff, order, "refund", {"lines": [{"line_id": 2**40, "quantity": 1}]})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "refund_line_not_found")
    both = refund(1, amount="5.00")
    assert (both.status_code, both.json()["code"]) == (422, "refund_invalid")
    line.refresh_from_db()
    assert line.quantity_refunded == 2
    assert Order.objects.get(pk=order.pk).refunded_total == Decimal("50.00")


def test_line_refunds_give_back_what_was_paid_and_add_up_to_the_total(client, staff):
    """A coupon's discount is shared by the units: each refunds what the customer paid for it,
    and the last refund takes what is left, so the refunds add up to the grand total."""
    lamps = make_variant(price="25.00", stock=10)
    order = paid_order(client, staff, (lamps, 2), coupon=CouponFactory(value=Decimal("10")))
    assert (order.discount_total, order.shipping_total, order.grand_total) == (
        Decimal("5.00"),
        Decimal("5.00"),
        Decimal("50.00"),
    )
    line = line_of(order, lamps)
    one = post(client, staff, order, "refund", {"lines": [{"line_id": line.pk, "quantity": 1}]})
    assert one.json()["refunded_total"] == "22.50"  # 25.00 less its 2.50 of the discount
    rest = post(
        client,
        staff,
        order,
        "refund",
        {"lines": [{"line_id": line.pk, "quantity": 1}], "shipping": "5.00"},
    )
    assert (rest.json()["status"], rest.json()["refunded_total"]) == ("refunded", "50.00")


def test_a_full_refund_restocks_only_the_units_not_refunded_yet(client, staff):
    mugs, lamps = make_variant(price="10.00", stock=10), make_variant(price="25.00", stock=10)
    order = paid_order(client, staff, (mugs, 3), (lamps, 2))
    kept = {"lines": [{"line_id": line_of(order, mugs).pk, "quantity": 1}]}  # broken, kept
    assert post(client, staff, order, "refund", kept).status_code == 200
    everything = post(client, staff, order, "refund", {"restock": True})
    assert everything.status_code == 200, everything.json()
    assert (everything.json()["status"], everything.json()["refunded_total"]) == (
        "refunded",
        "80.00",
    )
    assert [line["quantity_refunded"] for line in everything.json()["lines"]] == [3, 2]
    assert (stock(mugs), stock(lamps)) == (9, 10)
    assert returns(order) == sorted([(mugs.sku, 2), (lamps.sku, 2)])


# -- Idempotency-Key ------------------------------------------------------------------------------


def test_a_double_post_with_one_key_refunds_once(client, staff, run_tasks):
    lamps = make_variant(price="25.00", stock=10)
    order = paid_order(client, staff, (lamps, 2))
    with run_tasks():
        first = post(client, staff, order, "refund", {"amount": "10.00"}, key="refund-1")
        second = post(client, staff, order, "refund", {"amount": "10.00"}, key="refund-1")
    assert first.status_code == second.status_code == 200, second.json()
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == ("partially_refunded", Decimal("10.00"))
    assert [r.amount for r in Refund.objects.filter(payment__order=order)] == [Decimal("10.00")]
    assert OrderEvent.objects.filter(order=order, data__has_key="refund").count() == 1
    assert second.json() == first.json() and second["Idempotent-Replayed"] == "true"
    other = post(client, staff, order, "refund", {"amount": "1.00"}, key="refund-1")
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")

    # Lines too: the units and their stock once.
    body = {"lines": [{"line_id": line_of(order, lamps).pk, "quantity": 1}], "restock": True}
    with run_tasks():
        for _ in range(2):
            assert post(client, staff, order, "refund", body, key="refund-2").status_code == 200
    assert line_of(order, lamps).quantity_refunded == 1 and stock(lamps) == 9
    assert Refund.objects.filter(payment__order=order).count() == 2


@pytest.mark.parametrize(
    "action,body",
    [
        ("mark-paid", {}),
        ("ship", {"tracking_number": "1Z1"}),
        ("deliver", {}),
        ("cancel", {}),
        ("refund", {}),
        ("review-resolved", {"note": "called the customer"}),
    ],
)
def test_every_staff_order_action_requires_an_idempotency_key(client, staff, action, body):
    order = place(client)
    before = Order.objects.values().get(pk=order.pk)
    missing = post(client, staff, order, action, body, key=None)
    assert missing.status_code == 400, missing.json()
    assert missing.json()["code"] == "idempotency_key_required"
    assert Order.objects.values().get(pk=order.pk) == before
    assert OrderEvent.objects.filter(order=order).count() == 1  # placed, nothing since


# -- the admin ------------------------------------------------------------------------------------


def test_the_admin_refunds_lines_and_restocks_only_them(client, staff):
    mugs, lamps = make_variant(price="10.00", stock=10), make_variant(price="25.00", stock=10)
    order = paid_order(client, staff, (mugs, 3), (lamps, 2))
    admin = Client()
    admin.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    url = reverse("admin:orders_order_refund_one", args=[order.pk])
    form = admin.get(url)
    assert form.status_code == 200
    assert f"line_{line_of(order, mugs).pk}" in form.content.decode()

    refused = admin.post(url, {"amount": "10.00", "restock": "on"}, follow=True)
    assert "Say which lines came back" in refused.content.decode()
    admin.post(url, {f"line_{line_of(order, mugs).pk}": "2", "restock": "on", "note": "box"})
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == ("partially_refunded", Decimal("20.00"))
    assert (stock(mugs), stock(lamps)) == (9, 8)
    assert returns(order) == [(mugs.sku, 2)]


# -- concurrency ----------------------------------------------------------------------------------


def race(staff, order, bodies_and_keys) -> list:
    """POST each (body, key) to the order's refund route at once, each from its own thread and
    connection; their responses."""
    barrier = threading.Barrier(len(bodies_and_keys))
    responses = []

    def run(body, key):
        try:
            barrier.wait(timeout=30)
            responses.append(
                post(Client(raise_request_exception=False), staff, order, "refund", body, key=key)
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in bodies_and_keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_clicks_with_one_key_refund_once(client, staff):
    lamps = make_variant(price="25.00", stock=10)
    order = paid_order(client, staff, (lamps, 2))
    body = {"lines": [{"line_id": line_of(order, lamps).pk, "quantity": 1}], "restock": True}
    responses = race(staff, order, [(body, "double-click")] * 6)
    assert [r.status_code for r in responses] == [200] * 6
    assert all(r.json() == responses[0].json() for r in responses)
    assert sum(r.get("Idempotent-Replayed") == "true" for r in responses) == 5
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == ("partially_refunded", Decimal("25.00"))
    assert line_of(order, lamps).quantity_refunded == 1
    assert stock(lamps) == 9 and returns(order) == [(lamps.sku, 1)]
    assert OrderEvent.objects.filter(order=order, data__has_key="refund").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_with_different_keys_stop_at_the_quantity(client, staff):
    lamps = make_variant(price="25.00", stock=10)
    order = paid_order(client, staff, (lamps, 2))
    body = {"lines": [{"line_id": line_of(order, lamps).pk, "quantity": 1}], "restock": True}
    responses = race(staff, order, [(body, f"click-{n}") for n in range(6)])
    codes = sorted(
        (r.status_code, r.json().get("code") if r.status_code != 200 else None) for r in responses
    )
    assert codes == [(200, None)] * 2 + [(409, "refund_exceeds_quantity")] * 4
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == ("refunded", Decimal("50.00"))
    assert line_of(order, lamps).quantity_refunded == 2
    assert stock(lamps) == 10 and returns(order) == [(lamps.sku, 1), (lamps.sku, 1)]
