"""The payments interface with the manual provider: start once, forward-only events, refund once."""

from decimal import Decimal

import pytest

from api.errors import NotFound
from orders.models import OrderStatus
from payments.models import Payment, PaymentStatus
from payments.providers import ProviderEvent, get_provider, provider_names
from payments.services import (
    payment_cancel,
    payment_event_apply,
    payment_refund,
    payment_start,
)
from payments.tests.providers import FlakyProvider
from testing.factories import make_variant, refunds_confirm_due

pytestmark = pytest.mark.django_db


def test_the_manual_provider_is_registered():
    assert "manual" in provider_names()
    assert get_provider("manual").name == "manual"


def test_starting_twice_calls_the_provider_once(client, flaky_provider, place):
    order = place(client)
    payment = Payment.objects.create(
        order=order, provider="flaky", amount=order.grand_total, currency=order.currency
    )
    FlakyProvider.calls = []
    started = payment_start(payment_id=payment.pk)
    again = payment_start(payment_id=payment.pk)
    assert started.status == again.status == PaymentStatus.PENDING
    assert FlakyProvider.calls == [f"payment-{payment.uuid}-start"]
    assert again.provider_reference == f"flaky_{payment.uuid}"


def test_events_only_move_a_payment_forward(client, place):
    order = place(client)
    payment = order.payments.get()
    succeeded = ProviderEvent(
        event_id="ev1", reference=payment.provider_reference, kind="succeeded"
    )
    payment_event_apply(provider="manual", event=succeeded)
    payment_event_apply(provider="manual", event=succeeded)  # delivered twice
    late_failure = ProviderEvent(
        event_id="ev2", reference=payment.provider_reference, kind="failed"
    )
    payment_event_apply(provider="manual", event=late_failure)
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert order.status == OrderStatus.PAID
    assert order.events.filter(to_status="paid").count() == 1
    with pytest.raises(NotFound):
        payment_event_apply(
            provider="manual", event=ProviderEvent(event_id="x", reference="nope", kind="failed")
        )


def test_a_refund_key_refunds_once_and_cancel_stops_an_open_payment(client, place):
    paid = place(client, key="a", lines=[(make_variant(price="30.00", stock=5), 2)])
    payment = paid.payments.get()
    payment_event_apply(
        provider="manual",
        event=ProviderEvent(event_id="ev", reference=payment.provider_reference, kind="succeeded"),
    )
    payment_refund(order_id=paid.pk, amount=Decimal("10.00"), refund_key="r1")
    payment_refund(order_id=paid.pk, amount=Decimal("10.00"), refund_key="r1")
    assert refunds_confirm_due() == 1  # one refund for the key (staff send bank transfers)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("10.00"))
    payment_refund(order_id=paid.pk, amount=Decimal("50.00"), refund_key="r2")
    assert refunds_confirm_due() == 1
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", Decimal("60.00"))

    open_order = place(client, key="b")
    assert payment_cancel(order_id=open_order.pk).status == PaymentStatus.CANCELLED
    assert payment_cancel(order_id=open_order.pk).status == PaymentStatus.CANCELLED
    # a succeeded payment is not cancelled (a paid order is refunded instead)
    assert payment_cancel(order_id=paid.pk).status == PaymentStatus.REFUNDED
