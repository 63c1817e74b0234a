"""Stripe end to end: checkout, webhooks, refunds and reconciliation, with the real `stripe`
library talking HTTP to payments.stripe_standin, and webhooks signed as Stripe signs them."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core import mail
from django.utils import timezone

from orders.models import Order, OrderEvent, OrderStatus
from payments.models import Payment, PaymentStatus, Refund, WebhookEvent
from payments.providers.stripe import StripeProvider
from payments.services import payments_reconcile
from payments.tests.fixtures import NOTHING_UNDONE, deliver, signature
from products.models import Variant
from testing.factories import ADDRESS, bearer, guest_cart, make_variant, staff_user

pytestmark = pytest.mark.django_db

INTENTS = "/v1/payment_intents"


def checkout(client, *, key="k", price="25.00", quantity=2, stock=10):
    variant = make_variant(price=price, stock=stock)
    _, token = guest_cart((variant, quantity))
    return client.post(
        "/api/checkout",
        {"email": "guest@example.com", "shipping_address": ADDRESS, "payment_provider": "stripe"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        HTTP_X_CART_TOKEN=token,
    )


def placed(client, **kwargs) -> tuple[Order, Payment]:
    response = checkout(client, **kwargs)
    assert response.status_code == 201, response.json()
    order = Order.objects.get(number=response.json()["number"])
    return order, order.payments.get()


def paid_emails() -> int:
    return sum("payment" in m.subject.lower() for m in mail.outbox)


def creates(standin) -> list:
    return [r for r in standin.requests if r.method == "POST" and r.path == INTENTS]


# -- start ----------------------------------------------------------------------------------------


def test_checkout_creates_one_intent_and_answers_its_client_secret(client, standin):
    response = checkout(client)
    assert response.status_code == 201
    body = response.json()
    order = Order.objects.get(number=body["number"])
    payment = order.payments.get()
    intent = standin.intent(payment.provider_reference)
    assert (intent["amount"], intent["currency"]) == (5000, order.currency.lower())
    assert intent["metadata"] == {
        "order_number": order.number,
        "order_id": str(order.pk),
        "payment_uuid": str(payment.uuid),
    }
    [create] = creates(standin)
    assert create.idempotency_key == f"payment-{payment.uuid}-start"
    assert body["payment"]["status"] == "pending"
    assert body["payment"]["client_data"]["client_secret"] == intent["client_secret"]

    own = client.get(f"/api/orders/{order.number}/payment", HTTP_X_ORDER_TOKEN=str(order.token))
    assert own.status_code == 200
    assert own.json()["client_secret"] == intent["client_secret"]
    assert (own.json()["status"], own.json()["amount"]) == ("pending", "50.00")
    other = client.get(f"/api/orders/{order.number}/payment", HTTP_X_ORDER_TOKEN="0" * 32)
    assert other.status_code == 404
    assert client.get(f"/api/orders/{order.number}/payment").status_code == 404


def test_providers_lists_what_checkout_accepts(client, standin):
    body = client.get("/api/payments/providers").json()
    by_name = {p["name"]: p for p in body["providers"]}
    assert by_name["manual"]["default"] is True
    assert by_name["stripe"]["client"] == {"publishable_key": "pk_test_standin"}


def test_timeout_then_500_then_success_makes_one_intent_with_one_key(client, standin):
    standin.fail(INTENTS, "timeout", "500", delay=1.5)
    started = time.monotonic()
    _, payment = placed(client)
    elapsed = time.monotonic() - started
    attempts = creates(standin)
    assert [a.fault for a in attempts] == ["timeout", "500", None]
    assert {a.idempotency_key for a in attempts} == {f"payment-{payment.uuid}-start"}
    assert len(standin.state.intents) == 1
    assert payment.provider_reference in standin.state.intents
    assert payment.status == PaymentStatus.PENDING
    assert elapsed < 10


def test_stripe_down_leaves_a_pending_order_and_the_retry_starts_it(client, standin):
    standin.fail(INTENTS, "500", "500", "500")
    first = checkout(client, key="same")
    assert first.status_code == 503
    assert first.json()["code"] == "payment_provider_unavailable"
    order = Order.objects.get(number=first.json()["details"]["order_number"])
    payment = order.payments.get()
    assert (order.status, payment.status, payment.provider_reference) == (
        "pending_payment",
        "created",
        "",
    )
    assert standin.state.intents == {}
    # The client retries the same request: the same key reaches Stripe, one intent exists.
    variant_cart_retry = client.post(
        "/api/checkout",
        {"email": "guest@example.com", "shipping_address": ADDRESS, "payment_provider": "stripe"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="same",
        HTTP_X_CART_TOKEN=first.request["HTTP_X_CART_TOKEN"],
    )
    assert variant_cart_retry.status_code == 201
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert len(standin.state.intents) == 1
    assert {a.idempotency_key for a in creates(standin)} == {f"payment-{payment.uuid}-start"}


def test_zero_decimal_currencies_go_to_stripe_in_whole_units(standin):
    payment = SimpleNamespace(
        amount=Decimal("1500.00"),
        currency="JPY",
        uuid="u-1",
        order=SimpleNamespace(number="EM-1", pk=1),
    )
    result = StripeProvider().start(payment, idempotency_key="jpy-1")
    assert standin.intent(result.reference)["amount"] == 1500
    assert (result.amount, result.currency) == (Decimal("1500.00"), "JPY")


# -- webhooks -------------------------------------------------------------------------------------


def test_the_same_event_five_times_pays_once_with_one_email(
    client, standin, eager_tasks, django_capture_on_commit_callbacks
):
    order, payment = placed(client)
    standin.succeed(payment.provider_reference)
    body = standin.event(payment.provider_reference, "payment_intent.succeeded")
    mail.outbox.clear()
    answers = []
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            answers.append(deliver(client, body))
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json()["duplicate"] for a in answers] == [False, True, True, True, True]
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.events.filter(to_status="paid").count() == 1
    assert paid_emails() == 1
    assert WebhookEvent.objects.get().processed_at is not None


@pytest.mark.parametrize("tamper", ["secret", "old", "byte", "missing"])
def test_a_bad_signature_is_a_400_and_writes_nothing(client, standin, eager_tasks, tamper):
    order, payment = placed(client)
    standin.succeed(payment.provider_reference)
    body = standin.event(payment.provider_reference, "payment_intent.succeeded")
    header = signature(body)
    if tamper == "secret":
        header = signature(body, secret="whsec_someone_else")
    elif tamper == "old":
        header = signature(body, timestamp=int(time.time()) - 301)
    elif tamper == "byte":
        body = body.replace(b'"succeeded"', b'"succeedee"', 1)
    elif tamper == "missing":
        header = ""
    response = deliver(client, body, header=header)
    assert response.status_code == 400
    assert response.json()["code"] == "webhook_invalid"
    assert WebhookEvent.objects.count() == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_an_event_for_a_since_succeeded_intent_pays_from_the_re_read(
    client, standin, eager_tasks, django_capture_on_commit_callbacks
):
    order, payment = placed(client)
    standin.decline(payment.provider_reference)
    failed = standin.event(payment.provider_reference, "payment_intent.payment_failed")
    standin.succeed(payment.provider_reference)  # the customer retried before we processed
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, failed).status_code == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == ("paid", "succeeded")


def test_a_late_failure_after_success_changes_nothing(
    client, standin, eager_tasks, django_capture_on_commit_callbacks
):
    order, payment = placed(client)
    standin.decline(payment.provider_reference)
    stale_failure = standin.event(payment.provider_reference, "payment_intent.payment_failed")
    standin.succeed(payment.provider_reference)
    success = standin.event(payment.provider_reference, "payment_intent.succeeded")
    for body in (success, stale_failure):
        with django_capture_on_commit_callbacks(execute=True):
            assert deliver(client, body).status_code == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == ("paid", "succeeded")
    assert order.events.filter(to_status="paid").count() == 1


def test_a_failure_is_recorded_and_the_order_stays_payable(
    client, standin, eager_tasks, django_capture_on_commit_callbacks
):
    order, payment = placed(client)
    standin.decline(payment.provider_reference, "Your card has insufficient funds.")
    body = standin.event(payment.provider_reference, "payment_intent.payment_failed")
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, body)
    seen = client.get(
        f"/api/orders/{order.number}/payment", HTTP_X_ORDER_TOKEN=str(order.token)
    ).json()
    assert seen["status"] == "failed"
    assert seen["failure_message"] == "Your card has insufficient funds."
    assert seen["client_secret"]  # the customer may try another card
    assert seen["order_status"] == "pending_payment"


def test_an_amount_mismatch_is_flagged_not_paid(
    client, standin, eager_tasks, django_capture_on_commit_callbacks
):
    order, payment = placed(client)
    standin.succeed(payment.provider_reference, amount=100)
    body = standin.event(payment.provider_reference, "payment_intent.succeeded")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, body)
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert payment.status == PaymentStatus.PENDING
    assert payment.needs_review
    assert "amount mismatch" in payment.review_reason
    assert paid_emails() == 0


def test_a_cancellation_at_stripe_cancels_the_unpaid_order(
    client, standin, eager_tasks, django_capture_on_commit_callbacks
):
    order, payment = placed(client, stock=5)
    standin.state.intents[payment.provider_reference]["status"] = "canceled"
    body = standin.event(payment.provider_reference, "payment_intent.canceled")
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, body)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert Variant.objects.get(sku=order.lines.get().sku).stock_quantity == 5


def test_cancelling_an_unpaid_order_cancels_its_intent(
    client, standin, eager_tasks, django_capture_on_commit_callbacks
):
    order, payment = placed(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/orders/{order.number}/cancel",
            {"reason": "changed my mind"},
            content_type="application/json",
            HTTP_X_ORDER_TOKEN=str(order.token),
        )
    assert response.status_code == 200
    assert standin.intent(payment.provider_reference)["status"] == "canceled"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED
    cancels = [r for r in standin.requests if r.path.endswith("/cancel")]
    assert [r.idempotency_key for r in cancels] == [f"payment-{payment.uuid}-cancel"]


# -- refunds --------------------------------------------------------------------------------------


def pay(client, standin, capture, **kwargs) -> tuple[Order, Payment]:
    order, payment = placed(client, **kwargs)
    standin.succeed(payment.provider_reference)
    with capture(execute=True):
        deliver(client, standin.event(payment.provider_reference, "payment_intent.succeeded"))
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order, payment


def test_partial_then_full_refund_through_stripe(
    client, standin, eager_tasks, django_capture_on_commit_callbacks
):
    order, payment = pay(client, standin, django_capture_on_commit_callbacks, stock=5)
    staff = staff_user("orders.view_order", "orders.change_order")
    url = f"/api/staff/orders/{order.number}/refund"
    with django_capture_on_commit_callbacks(execute=True):
        partial = client.post(
            url,
            {"amount": "10.00"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="refund-1",
            **bearer(staff),
        )
    assert partial.status_code == 200, partial.json()
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("10.00"))
    assert standin.intent(payment.provider_reference)["amount_refunded"] == 1000
    refund = Refund.objects.get()
    assert (refund.status, refund.source, refund.amount) == ("succeeded", "staff", Decimal("10"))
    [call] = [r for r in standin.requests if r.path == "/v1/refunds" and r.method == "POST"]
    assert call.idempotency_key == refund.idempotency_key
    assert call.params["metadata"]["refund_uuid"] == str(refund.uuid)

    # Stripe tells us about it (charge.refunded): known already, not counted twice.
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, standin.event(payment.provider_reference, "charge.refunded"))
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("10.00")
    assert Refund.objects.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        rest = client.post(
            url,
            {"restock": True},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="refund-2",
            **bearer(staff),
        )
    assert rest.status_code == 200
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", Decimal("50.00"))
    assert (order.status, order.refunded_total) == ("refunded", Decimal("50.00"))
    assert standin.intent(payment.provider_reference)["amount_refunded"] == 5000
    assert Variant.objects.get(sku=order.lines.get().sku).stock_quantity == 5  # returned
    assert list(Refund.objects.order_by("created_at").values_list("restock", flat=True)) == [
        False,
        True,
    ]


def test_a_refund_made_in_the_stripe_dashboard_is_booked_once(
    client, standin, eager_tasks, django_capture_on_commit_callbacks
):
    order, payment = pay(client, standin, django_capture_on_commit_callbacks)
    standin.refund_in_dashboard(payment.provider_reference, 1500)
    body = standin.event(payment.provider_reference, "charge.refunded")
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            deliver(client, body)
    # a second dashboard refund, a new event
    standin.refund_in_dashboard(payment.provider_reference, 500)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, standin.event(payment.provider_reference, "charge.refunded"))
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("20.00"))
    assert (order.status, order.refunded_total) == ("partially_refunded", Decimal("20.00"))
    assert sorted(Refund.objects.values_list("source", "amount")) == [
        ("provider", Decimal("5.00")),
        ("provider", Decimal("15.00")),
    ]
    # nothing was sent to Stripe for them
    assert not [r for r in standin.requests if r.path == "/v1/refunds" and r.method == "POST"]


# -- reconciliation -------------------------------------------------------------------------------


def test_reconciliation_pays_an_order_whose_webhook_was_lost(
    client, standin, eager_tasks, django_capture_on_commit_callbacks
):
    order, payment = placed(client)
    fresh = payments_reconcile()
    assert fresh == {
        "checked": 0,
        "changed": 0,
        "errors": 0,
        **NOTHING_UNDONE,
    }  # too young to be re-read
    standin.succeed(payment.provider_reference)  # ... and the webhook never came
    later = timezone.now() + timedelta(minutes=11)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert payments_reconcile(now=later) == {
            "checked": 1,
            "changed": 1,
            "errors": 0,
            **NOTHING_UNDONE,
        }
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert paid_emails() == 1
    assert payments_reconcile(now=later) == {
        "checked": 0,
        "changed": 0,
        "errors": 0,
        **NOTHING_UNDONE,
    }
    note = OrderEvent.objects.get(order=order, to_status="paid").note
    assert "reconciliation" in note


def test_the_standin_forwards_signed_events_for_local_development(client, standin, eager_tasks):
    """What manage.py stripe_standin --forward-to does: a confirm at the stand-in makes the
    signed succeeded webhook, which pays the order."""
    import threading

    import httpx

    from payments.tests.fixtures import signature

    _, payment = placed(client)
    sent = threading.Event()
    bodies = []
    standin.on_event = lambda body: (bodies.append(body), sent.set())
    try:
        httpx.post(
            f"{standin.url}/v1/payment_intents/{payment.provider_reference}/confirm",
            data={"payment_method": "pm_card_visa"},
        )
        assert sent.wait(5)
    finally:
        standin.on_event = None
    response = deliver(client, bodies[0], header=signature(bodies[0]))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().type == "payment_intent.succeeded"


def test_the_webhook_needs_no_csrf_token_and_only_remote_providers_take_one(standin, eager_tasks):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    _, payment = placed(strict)
    body = standin.event(payment.provider_reference, "payment_intent.created")
    assert deliver(strict, body).status_code == 200
    assert WebhookEvent.objects.get().kind == ""  # stored, nothing to do
    manual = strict.post(
        "/api/payments/manual/webhook",
        b'{"id": "x", "reference": "manual:1", "kind": "succeeded"}',
        content_type="application/json",
    )
    assert manual.status_code == 404


def test_money_that_arrives_after_the_order_was_cancelled_is_flagged(
    client, standin, eager_tasks, django_capture_on_commit_callbacks
):
    """The expiry cancels the order while the customer pays: Stripe refuses the cancel, the
    re-read says succeeded, the order stays cancelled and staff are asked to refund."""
    order, payment = placed(client)
    standin.succeed(payment.provider_reference)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/api/orders/{order.number}/cancel",
            {"reason": "too slow"},
            content_type="application/json",
            HTTP_X_ORDER_TOKEN=str(order.token),
        )
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.needs_review
    assert "cancelled" in payment.review_reason


def test_reconciliation_goes_on_past_an_unreachable_stripe_and_raises_to_be_retried(
    client, standin, eager_tasks
):
    from payments.providers import PaymentProviderError

    _, first = placed(client, key="a")
    _, second = placed(client, key="b")
    standin.succeed(second.provider_reference)
    standin.fail(f"{INTENTS}/{first.provider_reference}", "500", "500", "500")
    later = timezone.now() + timedelta(minutes=11)
    with pytest.raises(PaymentProviderError):
        payments_reconcile(now=later)
    second.refresh_from_db()
    first.refresh_from_db()
    assert (first.status, second.status) == ("pending", "succeeded")
    assert payments_reconcile(now=later) == {
        "checked": 1,
        "changed": 0,
        "errors": 0,
        **NOTHING_UNDONE,
    }
