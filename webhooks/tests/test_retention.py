"""The daily prune keeps the delivery log for WEBHOOK_DELIVERY_KEEP_DAYS, and never an event
still being delivered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, Endpoint, Event
from webhooks.services import webhook_deliveries_prune, webhook_events_record

pytestmark = pytest.mark.django_db


def test_old_finished_events_go_with_their_deliveries_and_attempts(settings):
    settings.WEBHOOK_DELIVERY_KEEP_DAYS = 30
    endpoint = Endpoint.objects.create(
        url="https://93.184.216.34/in", events=["order.paid"], secret="s" * 20
    )
    old_done, old_open, recent = webhook_events_record(
        event_type="order.paid", build=lambda: [("EM-1", {}), ("EM-2", {}), ("EM-3", {})]
    )
    long_ago = timezone.now() - timedelta(days=31)
    Event.objects.filter(pk__in=[old_done.pk, old_open.pk]).update(created_at=long_ago)
    Delivery.objects.filter(event__in=[old_done, recent]).update(
        status=DeliveryStatus.DELIVERED, next_attempt_at=None
    )
    for delivery in Delivery.objects.all():
        DeliveryAttempt.objects.create(
            delivery=delivery, number=1, started_at=long_ago, outcome="retry"
        )

    assert webhook_deliveries_prune() == 1
    assert set(Event.objects.values_list("subject", flat=True)) == {"EM-2", "EM-3"}
    assert Delivery.objects.count() == DeliveryAttempt.objects.count() == 2
    assert webhook_deliveries_prune() == 0  # twice: nothing more
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()

    settings.WEBHOOK_DELIVERY_KEEP_DAYS = 0  # keep forever
    Delivery.objects.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    assert webhook_deliveries_prune() == 0
