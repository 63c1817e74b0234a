"""The webhook processed by a real Celery worker process (embedded Redis broker, the test
database, the Stripe stand-in): five simultaneous deliveries of one event, one paid order."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from api.celery import app
from core.models import SentEmail
from orders.models import OrderEvent, OrderStatus
from payments.models import WebhookEvent
from payments.tests.fixtures import WEBHOOK_SECRET, deliver
from payments.tests.test_stripe import placed
from testing.workers import Worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def payments_worker(django_db_setup, _standin_server, tmp_path_factory) -> Iterator[Worker]:
    app.control.purge()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("STRIPE_SECRET_KEY", "sk_test_standin")
        env.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
        env.setenv("STRIPE_API_BASE", _standin_server.url)
        worker = Worker(tmp_path_factory.mktemp("payments-worker"), pool="prefork", concurrency=2)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


def test_five_simultaneous_deliveries_processed_by_a_worker_pay_once(standin, payments_worker):
    order, payment = placed(Client())
    standin.succeed(payment.provider_reference)
    body = standin.event(payment.provider_reference, "payment_intent.succeeded")
    barrier = threading.Barrier(5)

    def send(_):
        barrier.wait(timeout=10)
        try:
            return deliver(Client(), body)
        finally:
            connection.close()

    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(send, range(5)))
    assert sorted(a.json()["duplicate"] for a in answers) == [False, True, True, True, True]

    row = wait_for(
        lambda: WebhookEvent.objects.filter(processed_at__isnull=False).first(), 30, "processing"
    )
    assert row.error == ""
    wait_for(
        lambda: SentEmail.objects.filter(event_key=f"payment_received:{order.pk}").exists(),
        30,
        "the payment email",
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert OrderEvent.objects.filter(order=order, to_status="paid").count() == 1
    assert SentEmail.objects.filter(event_key=f"payment_received:{order.pk}").count() == 1
