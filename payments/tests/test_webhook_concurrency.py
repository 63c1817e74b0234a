"""The same Stripe event at once: real threads, each with its own database connection, committed
data (transaction=True), released together by a barrier; tasks run eagerly in the thread whose
commit published them."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from core.models import SentEmail
from orders.models import OrderEvent, OrderStatus
from payments.models import PaymentStatus, WebhookEvent
from payments.services import webhook_event_process
from payments.tests.fixtures import deliver
from payments.tests.test_stripe import placed

pytestmark = pytest.mark.django_db(transaction=True)

N = 5


def together(fn, n=N):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(timeout=10)
        try:
            return fn(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_the_same_event_delivered_five_times_at_once_pays_once(standin, eager_tasks):
    order, payment = placed(Client())
    standin.succeed(payment.provider_reference)
    body = standin.event(payment.provider_reference, "payment_intent.succeeded")
    mail.outbox.clear()

    answers = together(lambda i: deliver(Client(), body))

    assert sorted(a.status_code for a in answers) == [200] * N
    assert sorted(a.json()["duplicate"] for a in answers) == [False] + [True] * (N - 1)
    assert WebhookEvent.objects.count() == 1
    assert WebhookEvent.objects.get().processed_at is not None
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == (OrderStatus.PAID, PaymentStatus.SUCCEEDED)
    assert OrderEvent.objects.filter(order=order, to_status="paid").count() == 1
    assert SentEmail.objects.filter(event_key=f"payment_received:{order.pk}").count() == 1
    assert sum("payment" in m.subject.lower() for m in mail.outbox) == 1


def test_one_stored_event_processed_five_times_at_once_pays_once(standin, eager_tasks):
    order, payment = placed(Client())
    standin.succeed(payment.provider_reference)
    row = WebhookEvent.objects.create(
        provider="stripe",
        event_id="evt_concurrent",
        type="payment_intent.succeeded",
        reference=payment.provider_reference,
        kind="succeeded",
        payload={},
    )
    mail.outbox.clear()

    together(lambda i: webhook_event_process(event_pk=row.pk))

    row.refresh_from_db()
    order.refresh_from_db()
    assert row.processed_at is not None and row.error == ""
    assert order.status == OrderStatus.PAID
    assert OrderEvent.objects.filter(order=order, to_status="paid").count() == 1
    assert sum("payment" in m.subject.lower() for m in mail.outbox) == 1
