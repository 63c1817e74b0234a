"""Offline payments as shops use them: a bank transfer is held for days, cash on delivery ships
unpaid and is paid when delivered, and giving money back is a task for staff, done only when
they confirm it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from core.models import User
from orders.models import Order, OrderEvent, OrderStatus
from orders.services import orders_cancel_unpaid
from payments.models import Payment, PaymentStatus, Refund
from testing.factories import ADDRESS, UserFactory, bearer, guest_cart, make_variant, staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _shop(shop_rules, clear_cache, settings):
    settings.PAYMENT_PROVIDERS = {
        **settings.PAYMENT_PROVIDERS,
        "flaky": "payments.tests.providers.FlakyProvider",  # a card-like provider: no hold set
    }
    settings.LOW_STOCK_ALERT_EMAILS = ["ops@example.com"]


def order_with(client, provider: str, *, price: str = "20.00", quantity: int = 2) -> Order:
    _, token = guest_cart((make_variant(price=price, stock=10), quantity))
    response = client.post(
        "/api/checkout",
        {"email": "ada@example.com", "shipping_address": ADDRESS, "payment_provider": provider},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        HTTP_X_CART_TOKEN=token,
    )
    assert response.status_code == 201, response.json()
    return Order.objects.get(number=response.json()["number"])


def staff_post(client, staff, path: str, body: dict | None = None, **headers):
    """A staff POST; each with a fresh Idempotency-Key unless one is given."""
    headers.setdefault("HTTP_IDEMPOTENCY_KEY", uuid.uuid4().hex)
    return client.post(
        path, body or {}, content_type="application/json", **bearer(staff), **headers
    )


def test_each_provider_holds_an_unpaid_order_for_its_own_time(client, settings):
    settings.PAYMENT_HOLD_MINUTES = {**settings.PAYMENT_HOLD_MINUTES, "manual": 5 * 24 * 60}
    transfer = order_with(client, "manual")
    card = order_with(client, "flaky")
    cash = order_with(client, "cod")
    now = timezone.now()

    assert orders_cancel_unpaid(now=now + timedelta(hours=1)) == [card.number]
    assert orders_cancel_unpaid(now=now + timedelta(days=4)) == []  # a transfer takes days
    assert orders_cancel_unpaid(now=now + timedelta(days=5, minutes=1)) == [transfer.number]
    assert orders_cancel_unpaid(now=now + timedelta(days=60)) == []  # paid on delivery
    statuses = dict(Order.objects.values_list("number", "status"))
    assert statuses == {
        transfer.number: OrderStatus.CANCELLED,
        card.number: OrderStatus.CANCELLED,
        cash.number: OrderStatus.PENDING_PAYMENT,
    }
    note = OrderEvent.objects.get(order=transfer, to_status="cancelled").note
    assert "7200 minutes (manual)" in note


def test_cash_on_delivery_ships_unpaid_and_is_paid_when_delivered(client, run_tasks):
    staff = staff_user("orders.view_order", "orders.change_order")
    order = order_with(client, "cod")
    assert order.payments.get().client_data["type"] == "cod"

    shipped = staff_post(
        client, staff, f"/api/staff/orders/{order.number}/ship", {"tracking_number": "1Z9"}
    )
    assert shipped.status_code == 200, shipped.json()
    assert (shipped.json()["status"], shipped.json()["paid_at"]) == ("shipped", None)

    with run_tasks():
        delivered = staff_post(client, staff, f"/api/staff/orders/{order.number}/deliver")
    assert delivered.status_code == 200, delivered.json()
    body = delivered.json()
    assert body["status"] == "delivered" and body["paid_at"] is not None
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.amount) == (PaymentStatus.SUCCEEDED, order.grand_total)
    assert OrderEvent.objects.filter(order=order, note="Paid on delivery.").count() == 1


def test_a_bank_transfer_order_cannot_ship_before_it_is_paid(client):
    staff = staff_user("orders.view_order", "orders.change_order")
    order = order_with(client, "manual")
    refused = staff_post(
        client, staff, f"/api/staff/orders/{order.number}/ship", {"tracking_number": "1Z9"}
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "invalid_transition"


def test_staff_may_mark_a_shipped_cash_order_paid_before_it_is_delivered(client):
    staff = staff_user("orders.view_order", "orders.change_order")
    order = order_with(client, "cod")
    staff_post(client, staff, f"/api/staff/orders/{order.number}/ship", {"tracking_number": "1"})
    paid = staff_post(
        client, staff, f"/api/staff/orders/{order.number}/mark-paid", {"note": "courier paid"}
    )
    assert paid.status_code == 200, paid.json()
    assert (paid.json()["status"], paid.json()["paid_at"] is not None) == ("shipped", True)
    again = staff_post(client, staff, f"/api/staff/orders/{order.number}/mark-paid")
    assert again.status_code == 409  # paid already


def test_a_customers_cancel_of_a_paid_transfer_is_a_refund_staff_make_and_confirm(
    client, run_tasks
):
    staff = staff_user(
        "orders.view_order", "orders.change_order", "payments.view_refund", "payments.change_refund"
    )
    customer = UserFactory(email="ada@example.com")
    order = order_with(client, "manual")
    Order.objects.filter(pk=order.pk).update(user=customer)
    staff_post(client, staff, f"/api/staff/orders/{order.number}/mark-paid", {"note": "in"})
    mail.outbox.clear()

    with run_tasks():
        cancelled = client.post(
            f"/api/orders/{order.number}/cancel",
            {"reason": "changed my mind"},
            content_type="application/json",
            **bearer(customer),
        )
    assert cancelled.status_code == 200, cancelled.json()
    refund = Refund.objects.get()
    payment = refund.payment
    # Recorded as owed, not as given back: nobody has sent the money yet.
    assert (refund.status, refund.counted, payment.refunded_amount) == (
        "pending",
        False,
        Decimal("0.00"),
    )
    [alert] = [m for m in mail.outbox if m.to == ["ops@example.com"]]
    assert alert.subject == f"Refund due: 45.00 USD to ada@example.com (order {order.number})"
    due = client.get("/api/staff/refunds?due=true", **bearer(staff)).json()["results"]
    assert [(r["id"], r["due"], r["to"], r["amount"]) for r in due] == [
        (refund.pk, True, "ada@example.com", "45.00")
    ]

    admin = Client()
    admin.force_login(User.objects.create_superuser("boss@example.com", "a-Long-pass-77"))
    listing = admin.get("/admin/payments/refund/?due=yes").content.decode()
    assert "refund due: 45.00 to ada@example.com" in listing

    key = {"HTTP_IDEMPOTENCY_KEY": "confirm-1"}
    path = f"/api/staff/refunds/{refund.pk}/confirm"
    confirmed = staff_post(client, staff, path, {"note": "transfer ref 88"}, **key)
    assert confirmed.status_code == 200, confirmed.json()
    assert (confirmed.json()["status"], confirmed.json()["due"]) == ("succeeded", False)
    replay = staff_post(client, staff, path, {"note": "transfer ref 88"}, **key)
    assert replay.json() == confirmed.json() and replay["Idempotent-Replayed"] == "true"
    twice = staff_post(client, staff, path, {}, HTTP_IDEMPOTENCY_KEY="confirm-2")
    assert (twice.status_code, twice.json()["code"]) == (409, "refund_not_due")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (PaymentStatus.REFUNDED, Decimal("45.00"))
    sent = OrderEvent.objects.get(order=order, data__has_key="refund_sent")
    assert (sent.actor, sent.note) == (staff, "transfer ref 88")
    assert client.get("/api/staff/refunds?due=true", **bearer(staff)).json()["results"] == []
