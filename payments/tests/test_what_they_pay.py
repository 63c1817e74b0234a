"""What the customer was shown is what they pay: an unpaid order's payment is re-read before the
order expires, a cancelled order is never paid, and amounts reach the provider in the right
minor units."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from api.money import from_minor_units, to_minor_units
from orders.models import Order, OrderStatus
from orders.services import order_cancel, orders_cancel_unpaid
from payments.errors import PaymentOrderCancelled
from payments.models import Payment
from payments.services import payment_expiry_check, payment_start
from payments.tests.test_stripe import placed

pytestmark = pytest.mark.django_db
LATER = timedelta(minutes=31)  # past a card payment's hold (ORDER_PAYMENT_TIMEOUT)


def expire(now) -> list[str]:
    """The beat task's call: each candidate's payment re-read first."""
    return orders_cancel_unpaid(now=now, may_cancel=payment_expiry_check)


def test_the_expiry_rereads_the_payment_before_cancelling(client, standin, eager_tasks):
    paid_late, paid_payment = placed(client, key="a")  # paid, and the webhook was lost
    busy, busy_payment = placed(client, key="b")  # a bank debit still clearing
    abandoned, _ = placed(client, key="c")  # the customer walked away
    standin.succeed(paid_payment.provider_reference)
    standin.processing(busy_payment.provider_reference)

    assert expire(timezone.now() + LATER) == [abandoned.number]
    statuses = dict(Order.objects.values_list("number", "status"))
    assert statuses == {
        paid_late.number: OrderStatus.PAID,
        busy.number: OrderStatus.PENDING_PAYMENT,
        abandoned.number: OrderStatus.CANCELLED,
    }
    assert standin.intent(busy_payment.provider_reference)["status"] == "processing"

    standin.fail("/v1/payment_intents/", "500", "500", "500")  # Stripe down: nothing cancelled
    assert expire(timezone.now() + LATER) == []
    assert Order.objects.get(pk=busy.pk).status == OrderStatus.PENDING_PAYMENT


def test_a_cancelled_order_never_serves_a_client_secret_nor_starts_a_payment(client, standin):
    order, payment = placed(client, key="a")
    opened = client.get(f"/api/orders/{order.number}/payment", HTTP_X_ORDER_TOKEN=str(order.token))
    assert opened.json()["client_secret"]
    order_cancel(order_id=order.pk, note="expired")  # its payment's cancel has not run yet
    Payment.objects.filter(pk=payment.pk).update(status="pending")
    shown = client.get(f"/api/orders/{order.number}/payment", HTTP_X_ORDER_TOKEN=str(order.token))
    assert (shown.json()["client_secret"], shown.json()["client_data"]) == (None, {})
    detail = client.get(f"/api/orders/{order.number}", HTTP_X_ORDER_TOKEN=str(order.token))
    assert detail.json()["payment"]["client_data"] == {}

    Payment.objects.filter(pk=payment.pk).update(status="created", provider_reference="")
    with pytest.raises(PaymentOrderCancelled):
        payment_start(payment=Payment.objects.select_related("order").get(pk=payment.pk))


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("19.99", "USD", 1999),
        ("1500", "JPY", 1500),
        ("12.34", "KWD", 12340),  # thousandths
        ("0.50", "BHD", 500),
        ("7.25", "TND", 7250),
    ],
)
def test_amounts_reach_the_provider_in_the_currencys_minor_units(amount, currency, minor):
    assert to_minor_units(Decimal(amount), currency) == minor
    assert from_minor_units(minor, currency) == Decimal(amount).quantize(Decimal("0.01"))


def test_a_three_decimal_currency_order_is_charged_in_thousandths(standin, settings):
    settings.DEFAULT_CURRENCY = "KWD"
    order, payment = placed(Client(), key="kwd", price="12.50", quantity=2)
    assert (order.currency, order.grand_total) == ("KWD", Decimal("30.00"))
    assert standin.intent(payment.provider_reference)["amount"] == 30000
