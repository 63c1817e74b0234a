"""Refunds that fail after Stripe accepted them (the customer's card was closed...): Stripe says so
in a signed charge.refund.updated (and refund.updated / refund.failed on newer API versions);
the refund is taken back out of the payment once, the payment flagged, staff told."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from orders.models import OrderEvent, OrderStatus
from payments.models import PaymentStatus, Refund, WebhookEvent
from payments.services import payment_refunds_sync, payments_reconcile
from payments.tests.fixtures import NOTHING_UNDONE, deliver
from payments.tests.test_stripe import pay
from testing.factories import bearer, staff_user

pytestmark = pytest.mark.django_db

REASON = "expired_or_canceled_card"


@pytest.fixture
def paid(client, standin, eager_tasks, django_capture_on_commit_callbacks, settings):
    """A Stripe order of 50.00, paid; staff alerts go to ops@example.com."""
    settings.LOW_STOCK_ALERT_EMAILS = ["ops@example.com"]
    return pay(client, standin, django_capture_on_commit_callbacks)


@pytest.fixture
def refund(client, django_capture_on_commit_callbacks):
    """Staff refund `amount` through the route (the refund task runs at once): its Refund row."""
    staff = staff_user("orders.view_order", "orders.change_order")

    def run(order, amount: str) -> Refund:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/api/staff/orders/{order.number}/refund",
                {"amount": amount},
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
                **bearer(staff),
            )
        assert response.status_code == 200, response.json()
        return Refund.objects.get(payment__order=order, amount=Decimal(amount))

    return run


def send(client, body: bytes, capture) -> None:
    with capture(execute=True):
        assert deliver(client, body).status_code == 200


def alerts() -> list:
    return [m for m in mail.outbox if m.subject.startswith("Refund failed")]


def test_a_counted_refund_failing_later_is_taken_back_once_and_flagged(
    client, standin, paid, refund, django_capture_on_commit_callbacks
):
    order, payment = paid
    row = refund(order, "12.00")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("12.00"))
    mail.outbox.clear()

    standin.fail_refund(row.provider_reference, REASON)
    body = standin.refund_event(row.provider_reference, "charge.refund.updated")
    for _ in range(3):
        send(client, body, django_capture_on_commit_callbacks)

    payment.refresh_from_db()
    row.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("succeeded", Decimal("0.00"))
    assert payment.needs_review
    assert payment.review_reason == f"refund 12.00 failed at stripe: {REASON}"
    assert (row.status, row.error, row.counted) == ("failed", REASON, False)
    # The order keeps what it recorded (the customer was told); its log says what happened.
    assert (order.status, order.refunded_total) == ("partially_refunded", Decimal("12.00"))
    [event] = OrderEvent.objects.filter(order=order, kind="payment")
    assert event.data["refund_failed"] == "12.00" and event.data["reason"] == REASON
    assert event.note.startswith(f"Refund 12.00 failed at stripe: {REASON}")
    assert WebhookEvent.objects.filter(type="charge.refund.updated").count() == 1
    [alert] = alerts()
    assert alert.to == ["ops@example.com"]
    assert order.number in alert.subject and REASON in alert.body

    # Newer API versions send refund.updated and refund.failed for the same failure, and
    # reconciliation may re-read the refunds: none of them takes the refund out again.
    for type_ in ("refund.updated", "refund.failed"):
        send(
            client,
            standin.refund_event(row.provider_reference, type_),
            django_capture_on_commit_callbacks,
        )
    with django_capture_on_commit_callbacks(execute=True):
        payment_refunds_sync(payment_id=payment.pk, note="reconciliation")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("succeeded", Decimal("0.00"))
    assert payment.review_reason == f"refund 12.00 failed at stripe: {REASON}"
    assert OrderEvent.objects.filter(order=order, kind="payment").count() == 1
    assert len(alerts()) == 1
    assert WebhookEvent.objects.filter(processed_at__isnull=True).count() == 0


def test_a_refund_failed_event_alone_takes_a_full_refund_back(
    client, standin, paid, refund, django_capture_on_commit_callbacks
):
    order, payment = paid
    row = refund(order, "50.00")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", Decimal("50.00"))

    standin.fail_refund(row.provider_reference, "lost_or_stolen_card")
    send(
        client,
        standin.refund_event(row.provider_reference, "refund.failed"),
        django_capture_on_commit_callbacks,
    )
    payment.refresh_from_db()
    row.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("succeeded", Decimal("0.00"))
    assert (row.status, row.error) == ("failed", "lost_or_stolen_card")
    assert payment.review_reason == "refund 50.00 failed at stripe: lost_or_stolen_card"
    assert (order.status, order.refunded_total) == (OrderStatus.REFUNDED, Decimal("50.00"))
    assert len(alerts()) == 1


def test_one_of_two_refunds_failing_leaves_the_other_counted(
    client, standin, paid, refund, django_capture_on_commit_callbacks
):
    order, payment = paid
    first = refund(order, "20.00")
    second = refund(order, "30.00")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", Decimal("50.00"))

    standin.fail_refund(first.provider_reference, REASON)
    send(
        client,
        standin.refund_event(first.provider_reference, "charge.refund.updated"),
        django_capture_on_commit_callbacks,
    )
    payment.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("30.00"))
    assert (first.status, first.counted) == ("failed", False)
    assert (second.status, second.counted) == ("succeeded", True)
    assert payment.review_reason == f"refund 20.00 failed at stripe: {REASON}"
    # A later charge.refunded (the re-read) leaves both as they are.
    send(
        client,
        standin.event(payment.provider_reference, "charge.refunded"),
        django_capture_on_commit_callbacks,
    )
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("30.00")
    assert Refund.objects.filter(payment=payment).count() == 2


def test_a_dashboard_refund_that_failed_before_we_saw_it_is_not_booked(
    client, standin, paid, django_capture_on_commit_callbacks
):
    order, payment = paid
    made = standin.refund_in_dashboard(payment.provider_reference, 1500)
    standin.fail_refund(made["id"], REASON)
    send(
        client,
        standin.refund_event(made["id"], "charge.refund.updated"),
        django_capture_on_commit_callbacks,
    )
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.refunded_amount, payment.needs_review) == (
        PaymentStatus.SUCCEEDED,
        Decimal("0.00"),
        False,
    )
    assert (order.status, order.refunded_total) == (OrderStatus.PAID, Decimal("0.00"))
    assert not Refund.objects.exists() and not alerts()


def test_a_refund_stripe_refuses_is_flagged_logged_and_alerted(
    client, standin, paid, refund, django_capture_on_commit_callbacks
):
    """Stripe refuses at once (here: a dashboard refund took the money back first and its
    event is not processed yet): the same flag, order log entry and staff email."""
    order, payment = paid
    standin.refund_in_dashboard(payment.provider_reference, 5000)
    row = refund(order, "10.00")
    payment.refresh_from_db()
    assert (row.status, row.counted) == ("failed", False)
    assert "greater than unrefunded amount" in row.error
    assert payment.needs_review
    assert payment.review_reason.startswith("refund 10.00 failed at stripe: refused (stripe: ")
    assert OrderEvent.objects.filter(order=order, kind="payment").count() == 1
    assert len(alerts()) == 1


def test_reconciliation_finds_a_pending_refund_that_failed_when_the_webhook_was_lost(
    client, standin, paid, refund, django_capture_on_commit_callbacks
):
    order, payment = paid
    standin.state.refund_status = "pending"
    row = refund(order, "12.00")
    payment.refresh_from_db()
    assert (row.status, row.counted, payment.refunded_amount) == ("pending", True, Decimal("12"))
    standin.fail_refund(row.provider_reference, REASON)  # ... and its event never arrives
    assert payments_reconcile() == {
        "checked": 0,
        "changed": 0,
        "errors": 0,
        **NOTHING_UNDONE,
    }  # too young

    later = timezone.now() + timedelta(minutes=11)
    with django_capture_on_commit_callbacks(execute=True):
        assert payments_reconcile(now=later) == {
            "checked": 1,
            "changed": 1,
            "errors": 0,
            **NOTHING_UNDONE,
        }
    payment.refresh_from_db()
    row.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("succeeded", Decimal("0.00"))
    assert (row.status, row.error, row.counted) == ("failed", REASON, False)
    assert payment.review_reason == f"refund 12.00 failed at stripe: {REASON}"
    assert "(reconciliation)" in OrderEvent.objects.get(order=order, kind="payment").note

    # The event turns up after all; the next run has nothing pending to re-read.
    send(
        client,
        standin.refund_event(row.provider_reference, "charge.refund.updated"),
        django_capture_on_commit_callbacks,
    )
    assert payments_reconcile(now=later) == {
        "checked": 0,
        "changed": 0,
        "errors": 0,
        **NOTHING_UNDONE,
    }
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("0.00")
    assert OrderEvent.objects.filter(order=order, kind="payment").count() == 1
    assert len(alerts()) == 1
