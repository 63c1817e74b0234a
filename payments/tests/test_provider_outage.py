"""Money that must move when the broker or the provider is down: a staff refund made while
RabbitMQ does not answer reaches Stripe (the stand-in) once the broker is back, through the
outbox; a refund retried through an hour of Stripe errors goes through once."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from api.celery import app
from api.models import OutboxMessage
from api.tasks import backoff_delay
from orders.services import order_cancel
from payments.models import Payment, Refund, WebhookEvent
from payments.providers import PaymentProviderError
from payments.services import payment_refund, payments_reconcile, webhook_receive
from payments.tasks import PROVIDER_RETRY
from payments.tests.fixtures import WEBHOOK_SECRET, signature
from payments.tests.test_stripe import pay, placed
from testing import servers
from testing.factories import PASSWORD, bearer, staff_user
from testing.workers import Worker, wait_for

DEAD_BROKER = "amqp://guest:guest@127.0.0.1:1//"
REFUNDS = "/v1/refunds"


def refund_posts(standin) -> list:
    return [r for r in standin.requests if r.method == "POST" and r.path == REFUNDS]


def relay_in_another_process(broker_url: str) -> str:
    """What beat's relay does, in a process of its own pointed at `broker_url`."""
    script = (
        "import django; django.setup(); from api.outbox import outbox_relay; print(outbox_relay())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=servers.test_database_env(CELERY_BROKER_URL=broker_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.django_db(transaction=True)
def test_a_refund_made_while_the_broker_is_down_reaches_stripe_once_it_is_back(
    standin, rabbitmq_url, eager_tasks, django_capture_on_commit_callbacks, tmp_path, monkeypatch
):
    order, payment = pay(Client(), standin, django_capture_on_commit_callbacks, stock=5)
    staff_user("orders.view_order", "orders.change_order", email="ops@example.com")
    stripe_env = {
        "STRIPE_SECRET_KEY": "sk_test_standin",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": standin.url,
    }

    # The shop's server, its broker down: the refund is recorded, its message waits.
    with servers.gunicorn(
        "--workers=1", log=tmp_path / "web.log", CELERY_BROKER_URL=DEAD_BROKER, **stripe_env
    ) as base:
        token = httpx.post(
            f"{base}/api/auth/token", json={"email": "ops@example.com", "password": PASSWORD}
        ).json()["access"]
        refunded = httpx.post(
            f"{base}/api/staff/orders/{order.number}/refund",
            json={"amount": "10.00"},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "refund-1"},
            timeout=30,
        )
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "partially_refunded"
    waiting = OutboxMessage.objects.get(task_name="maintenance.payment_refund")
    assert waiting.sent_at is None and waiting.attempts >= 1
    unsent = OutboxMessage.objects.filter(sent_at__isnull=True).count()  # the email's too
    assert "Connection" in waiting.last_error or "refused" in waiting.last_error.lower()
    assert refund_posts(standin) == []  # no money has moved yet

    # The broker is back: a worker on RabbitMQ, and beat's relay.
    for name, value in stripe_env.items():
        monkeypatch.setenv(name, value)
    worker = Worker(tmp_path, broker_url=rabbitmq_url)
    try:
        worker.wait_ready()
        assert f"sent={unsent}" in relay_in_another_process(rabbitmq_url)
        wait_for(lambda: Refund.objects.filter(status="succeeded").exists(), 60, "the refund")
        assert "sent=0" in relay_in_another_process(rabbitmq_url)  # never published twice
    finally:
        worker.stop()
    [post] = refund_posts(standin)
    refund = Refund.objects.get()
    assert post.idempotency_key == refund.idempotency_key
    assert standin.intent(payment.provider_reference)["amount_refunded"] == 1000
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("10.00")


@pytest.mark.django_db
def test_a_refund_retried_through_an_hour_of_stripe_errors_goes_through_once(
    client, standin, eager_tasks, django_capture_on_commit_callbacks, settings
):
    order, payment = pay(client, standin, django_capture_on_commit_callbacks, stock=5)
    staff = staff_user("orders.view_order", "orders.change_order")
    settings.STRIPE_MAX_NETWORK_RETRIES = 0  # one request per attempt: the task's retries count
    failures = 9
    # The shortest schedule BaseTask can draw (equal jitter: half of each doubled, capped delay)
    # spends more than an hour on these failures, and the task still has attempts left.
    base, cap = PROVIDER_RETRY["backoff_base"], PROVIDER_RETRY["backoff_max"]
    shortest = sum(
        backoff_delay(n, base=base, maximum=cap, jitter=False) / 2 for n in range(failures)
    )
    assert shortest >= 3600 and failures < PROVIDER_RETRY["max_retries"]
    standin.fail(REFUNDS, *["500"] * failures)
    # Eager mode runs each retry at once (Celery re-applies a retried task in process) instead
    # of after its countdown: the hour is simulated, the attempts are real requests.
    app.conf.task_eager_propagates = False  # eager_tasks puts it back

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/staff/orders/{order.number}/refund",
            {"amount": "10.00"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="refund-1",
            **bearer(staff),
        )
    assert response.status_code == 200, response.json()
    posts = refund_posts(standin)
    assert len(posts) == failures + 1  # every attempt, under one idempotency key
    assert {post.idempotency_key for post in posts} == {Refund.objects.get().idempotency_key}
    assert len(standin.refunds_of(payment.provider_reference)) == 1
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("10.00"))
    assert Refund.objects.get().status == "succeeded"


@pytest.mark.django_db
def test_reconciliation_finishes_what_the_tasks_left_undone(
    client, standin, eager_tasks, django_capture_on_commit_callbacks, settings
):
    """Retries ran out (or the task never ran): a refund recorded but never acknowledged by
    Stripe, an open payment of a cancelled order, a webhook stored but not processed. The beat
    reconciliation does each again, once, under the same idempotency keys."""
    paid, paid_payment = pay(client, standin, django_capture_on_commit_callbacks, key="a")
    unpaid, unpaid_payment = placed(client, key="b")
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    app.conf.task_always_eager = False  # from here on tasks are only enqueued, never run

    standin.fail(REFUNDS, "500")
    with pytest.raises(PaymentProviderError):
        payment_refund(order_id=paid.pk, amount=Decimal("10.00"), refund_key="lost")
    order_cancel(order_id=unpaid.pk, note="customer changed their mind")
    body = standin.event(paid_payment.provider_reference, "charge.refunded")
    row, created = webhook_receive(
        provider="stripe", body=body, headers={"Stripe-Signature": signature(body)}
    )
    assert created and row.processed_at is None
    long_ago = timezone.now() - timedelta(hours=2)
    Refund.objects.update(created_at=long_ago)
    Payment.objects.update(created_at=long_ago)
    WebhookEvent.objects.update(received_at=long_ago)

    counts = payments_reconcile()
    assert (counts["refunds_resent"], counts["cancels_done"], counts["webhooks_processed"]) == (
        1,
        1,
        1,
    )
    assert counts["errors"] == 0
    refund = Refund.objects.get(source="staff")
    assert (refund.status, bool(refund.provider_reference)) == ("succeeded", True)
    assert {p.idempotency_key for p in refund_posts(standin)} == {refund.idempotency_key}
    assert len(standin.refunds_of(paid_payment.provider_reference)) == 1
    unpaid_payment.refresh_from_db()
    assert unpaid_payment.status == "cancelled"
    assert standin.intent(unpaid_payment.provider_reference)["status"] == "canceled"
    row.refresh_from_db()
    assert row.processed_at is not None

    again = payments_reconcile()  # nothing left to do: nothing done twice
    assert (again["refunds_resent"], again["cancels_done"], again["webhooks_processed"]) == (
        0,
        0,
        0,
    )
    assert len(standin.refunds_of(paid_payment.provider_reference)) == 1
