"""Deliveries against a real HTTP receiver on 127.0.0.1: one per event, signed, retried on
timeouts and 5xx until one success, logged per attempt, given up and the endpoint disabled after
a day of failures, sent again on demand."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from orders.services import order_deliver, order_mark_paid, order_ship
from testing.factories import staff_user
from webhooks import services
from webhooks.models import (
    AttemptOutcome,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Endpoint,
    Event,
    EventType,
)
from webhooks.services import deliveries_queue_due, delivery_attempt, webhook_events_record
from webhooks.signing import signature
from webhooks.tests.fixtures import SECRET, Answer

pytestmark = pytest.mark.django_db


def record(event_type: str = EventType.ORDER_PAID, subject: str = "EM-1", **data):
    return webhook_events_record(
        event_type=event_type, build=lambda: [(subject, {"number": subject, **data})]
    )


def later(delivery: Delivery) -> Delivery:
    """The delivery's next attempt, made when it is due (as beat would queue it)."""
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING
    return delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)


def test_an_order_s_life_sends_one_delivery_per_event(
    client, place, run_tasks, receiver, endpoint_for
):
    endpoint_for(receiver, *[t for t in EventType.values if t.startswith("order.")])
    endpoint_for(receiver, EventType.PRODUCT_UPDATED)  # wants none of these
    endpoint_for(receiver, EventType.ORDER_PAID, is_active=False)  # off: gets nothing
    with run_tasks():
        order = place(client)
    with run_tasks():
        order_mark_paid(order_id=order.pk)
    with run_tasks():
        order_ship(order_id=order.pk, tracking_number="TRACK-1")
    with run_tasks():
        order_deliver(order_id=order.pk)

    types = [r.headers["Emporium-Event"] for r in receiver.requests]
    assert types == ["order.created", "order.paid", "order.shipped", "order.delivered"]
    ids = [r.headers["Emporium-Event-Id"] for r in receiver.requests]
    assert len(set(ids)) == 4
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert [b["id"] for b in bodies] == ids
    assert {b["data"]["number"] for b in bodies} == {order.number}
    assert [b["data"]["status"] for b in bodies] == [
        "pending_payment",
        "paid",
        "shipped",
        "delivered",
    ]
    assert bodies[2]["data"]["tracking_number"] == "TRACK-1"
    assert bodies[0]["data"]["lines"][0]["quantity"] == 2
    assert bodies[1]["data"]["previous_status"] == "pending_payment"
    assert Delivery.objects.count() == 4
    assert set(Delivery.objects.values_list("status", "attempts")) == {("delivered", 1)}


def test_the_signature_covers_the_timestamp_and_the_body(run_tasks, receiver, endpoint_for):
    endpoint_for(receiver, EventType.ORDER_PAID)
    with run_tasks():
        record()
    (request,) = receiver.requests
    parts = dict(item.split("=", 1) for item in request.headers["Emporium-Signature"].split(","))
    assert parts["v1"] == signature(SECRET, int(parts["t"]), request.body)
    assert parts["v1"] != signature(SECRET, int(parts["t"]), request.body + b" ")
    assert request.headers["Content-Type"] == "application/json"


def test_an_event_rolled_back_with_its_change_is_never_recorded_or_sent(
    run_tasks, receiver, endpoint_for
):
    endpoint_for(receiver, EventType.ORDER_PAID)
    with run_tasks(), pytest.raises(RuntimeError), transaction.atomic():
        record()
        raise RuntimeError("the change failed")
    assert Event.objects.count() == 0 and Delivery.objects.count() == 0
    assert receiver.requests == []


def test_nothing_is_built_or_written_when_no_endpoint_wants_the_type(
    receiver, endpoint_for, django_assert_num_queries
):
    endpoint_for(receiver, EventType.ORDER_SHIPPED)

    def build():
        raise AssertionError("built for nobody")

    with django_assert_num_queries(1):
        assert webhook_events_record(event_type=EventType.ORDER_PAID, build=build) == []


def test_a_receiver_failing_twice_then_answering_gets_exactly_one_success(
    run_tasks, receiver, endpoint_for
):
    receiver.script(Answer(503, "busy"), Answer(502, "still busy"), Answer(200, "thanks"))
    endpoint_for(receiver, EventType.ORDER_PAID)
    with run_tasks():
        record()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.RETRYING
    first_wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 10 <= first_wait <= 31  # 30 s with equal jitter: between 15 and 30

    assert later(delivery).status == DeliveryStatus.RETRYING
    assert later(delivery).status == DeliveryStatus.DELIVERED
    assert delivery_attempt(delivery_id=delivery.pk, now=timezone.now() + timedelta(days=2)) is None

    attempts = list(DeliveryAttempt.objects.order_by("number"))
    assert [(a.number, a.status_code, a.outcome) for a in attempts] == [
        (1, 503, AttemptOutcome.RETRY),
        (2, 502, AttemptOutcome.RETRY),
        (3, 200, AttemptOutcome.SUCCEEDED),
    ]
    assert [a.response_excerpt for a in attempts] == ["busy", "still busy", "thanks"]
    assert all(a.latency_ms >= 0 for a in attempts)
    assert len(receiver.requests) == 3
    assert len({r.headers["Emporium-Event-Id"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1  # the same bytes every time
    assert Endpoint.objects.get().failing_since is None  # the success cleared the streak


def test_beat_queues_the_retries_that_are_due_once(run_tasks, receiver, endpoint_for):
    receiver.script(500)
    endpoint_for(receiver, EventType.ORDER_PAID)
    with run_tasks():
        record()
    delivery = Delivery.objects.get()
    with run_tasks():
        assert deliveries_queue_due() == 0  # not due yet
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    with run_tasks():
        assert deliveries_queue_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    with run_tasks():
        assert deliveries_queue_due() == 0
    assert len(receiver.requests) == 2


def test_a_timeout_is_retried(run_tasks, receiver, endpoint_for, settings):
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.3
    receiver.script(Answer(200, delay=1.0))
    endpoint_for(receiver, EventType.ORDER_PAID)
    with run_tasks():
        record()
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.outcome, attempt.status_code, attempt.error) == ("retry", None, "timed out")
    assert Delivery.objects.get().status == DeliveryStatus.RETRYING


@pytest.mark.parametrize("status", [400, 404, 410, 301])
def test_a_client_error_or_a_redirect_fails_at_once(status, run_tasks, receiver, endpoint_for):
    receiver.script(status)
    endpoint_for(receiver, EventType.ORDER_PAID)
    with run_tasks():
        record()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.FAILED, status)
    assert delivery.next_attempt_at is None


def test_retries_end_a_day_after_the_event(run_tasks, receiver, endpoint_for):
    receiver.script(503, 503)
    endpoint_for(receiver, EventType.ORDER_PAID)
    with run_tasks():
        record()
    delivery = Delivery.objects.get()
    assert delivery.retry_until - delivery.created_at == timedelta(hours=24)
    last = delivery_attempt(
        delivery_id=delivery.pk, now=delivery.retry_until - timedelta(seconds=1)
    )
    assert last.status == DeliveryStatus.FAILED
    assert "given up" in last.last_error
    assert DeliveryAttempt.objects.filter(outcome=AttemptOutcome.FAILED).count() == 1


def test_an_endpoint_failing_for_a_day_is_disabled_and_staff_are_told(
    run_tasks, receiver, endpoint_for, settings
):
    staff_user(email="ops@example.com")
    settings.WEBHOOKS_ALERT_EMAILS = []
    receiver.script(500, 500, 500)
    endpoint = endpoint_for(receiver, EventType.ORDER_PAID)
    with run_tasks():
        record(subject="EM-1")
        record(subject="EM-2")
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failing_since is not None
    Endpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=25)
    )
    first = Delivery.objects.filter(event__subject="EM-1").get()
    with run_tasks():
        later(first)

    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at is not None
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.FAILED}
    (alert,) = mail.outbox
    assert alert.to == ["ops@example.com"]
    assert "disabled" in alert.subject and receiver.url in alert.body
    with run_tasks():
        assert services.endpoint_disabled_alert_send(endpoint_id=endpoint.pk) == 0  # once
    assert len(mail.outbox) == 1

    # Enabled again: its failures are forgotten.
    services.endpoint_update(endpoint_id=endpoint.pk, is_active=True)
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failing_since is None and endpoint.disabled_at is None


def test_send_again_delivers_the_same_event_again(run_tasks, receiver, endpoint_for):
    endpoint_for(receiver, EventType.ORDER_PAID)
    with run_tasks():
        record()
    delivery = Delivery.objects.get()
    with run_tasks():
        services.delivery_redeliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    first, second = receiver.requests
    assert first.headers["Emporium-Event-Id"] == second.headers["Emporium-Event-Id"]
    assert first.body == second.body


def test_a_private_address_is_refused_unless_allowed(run_tasks, receiver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    Endpoint.objects.create(url=receiver.url, events=[EventType.ORDER_PAID], secret=SECRET)
    with run_tasks():
        record()
    delivery = Delivery.objects.get()
    attempt = DeliveryAttempt.objects.get()
    assert delivery.status == DeliveryStatus.FAILED  # a refusal is not retried
    assert attempt.error == "refused: 127.0.0.1 is a loopback address"
    assert receiver.requests == []


def test_http_is_refused_in_production(run_tasks, receiver, settings):
    settings.DEBUG = False
    settings.WEBHOOKS_ALLOW_HTTP = False
    Endpoint.objects.create(url=receiver.url, events=[EventType.ORDER_PAID], secret=SECRET)
    with run_tasks():
        record()
    assert "only https" in DeliveryAttempt.objects.get().error
    assert receiver.requests == []


def test_a_name_is_called_at_the_address_that_was_checked(run_tasks, receiver, endpoint_for):
    url = receiver.url.replace("127.0.0.1", "localhost")
    Endpoint.objects.create(url=url, events=[EventType.ORDER_PAID], secret=SECRET)
    with run_tasks():
        record()
    (request,) = receiver.requests
    assert request.headers["Host"].startswith("localhost:")
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED
