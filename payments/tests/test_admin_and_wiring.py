"""Payments in the admin (refund action, needs-review filter, ledger screens) and their wiring:
task names and queues, the beat schedule, the webhook's rate-limit group."""

from decimal import Decimal

import pytest
from django.urls import reverse

from api.celery import app, queue_for
from payments.models import Refund
from payments.tests.fixtures import deliver
from payments.tests.test_stripe import pay
from testing.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    return client


def test_staff_refund_in_the_admin_and_review_the_ledgers(
    admin_client, client, standin, eager_tasks, django_capture_on_commit_callbacks
):
    order, payment = pay(client, standin, django_capture_on_commit_callbacks)
    url = reverse("admin:orders_order_refund_one", args=[order.pk])
    assert admin_client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"amount": "12.50", "note": "scratched"})
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("12.50")
    assert Refund.objects.get().status == "succeeded"
    for name in ("payment", "refund", "webhookevent"):
        page = admin_client.get(reverse(f"admin:payments_{name}_changelist"))
        assert page.status_code == 200, name
    flagged = admin_client.get(
        reverse("admin:payments_payment_changelist") + "?needs_review__exact=1"
    )
    assert flagged.status_code == 200


def test_staff_mark_flagged_payments_reviewed_in_the_admin(
    admin_client, client, standin, eager_tasks, django_capture_on_commit_callbacks
):
    from orders.models import OrderEvent
    from payments.models import Payment

    order, payment = pay(client, standin, django_capture_on_commit_callbacks)
    Payment.objects.filter(pk=payment.pk).update(needs_review=True, review_reason="mismatch")
    response = admin_client.post(
        reverse("admin:payments_payment_changelist"),
        {"action": "review_resolved", "_selected_action": [payment.pk]},
    )
    assert response.status_code == 302
    payment.refresh_from_db()
    assert (payment.needs_review, payment.review_reason) == (False, "")
    event = OrderEvent.objects.filter(order=order, kind="payment").latest("pk")
    assert event.data["reasons"] == ["mismatch"]
    assert event.note == "Review resolved: marked reviewed in the admin"


@pytest.mark.parametrize(
    "task,queue",
    [
        ("payment.webhook_process", "payment.webhook_process"),
        ("maintenance.payment_reconcile", "default"),
        ("maintenance.payment_cancel", "default"),
        ("maintenance.payment_refund", "default"),
    ],
)
def test_payment_tasks_are_registered_and_routed(task, queue):
    assert task in app.tasks
    assert queue_for(task) == queue


def test_reconciliation_is_scheduled(settings):
    entry = settings.DEFAULT_BEAT_SCHEDULES["reconcile payments"]
    assert entry["task"] == "maintenance.payment_reconcile"
    assert entry["every_seconds"] == 600


def test_the_webhook_is_not_rate_limited_by_the_general_limit(client, standin, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "default": {"ip": "2/min", "user": "2/min"}}
    answers = [
        deliver(client, b'{"id": "evt_x"}', header="t=1,v1=bad").status_code for _ in range(5)
    ]
    assert answers == [400] * 5  # refused for its signature, never 429
