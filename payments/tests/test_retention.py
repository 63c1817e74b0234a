"""The webhook ledger pruned after WEBHOOK_EVENT_KEEP_DAYS: processed events only, never one
still waiting to be processed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from payments.models import WebhookEvent
from payments.tasks import webhook_events_prune_task

pytestmark = pytest.mark.django_db


def event(event_id: str, *, received_days_ago: float, processed_days_ago: float | None) -> None:
    now = timezone.now()
    WebhookEvent.objects.create(
        provider="stripe",
        event_id=event_id,
        type="payment_intent.succeeded",
        payload={"id": event_id},
        received_at=now - timedelta(days=received_days_ago),
        processed_at=(
            now - timedelta(days=processed_days_ago) if processed_days_ago is not None else None
        ),
    )


def test_processed_events_older_than_their_period_go_unprocessed_ones_stay(settings):
    settings.WEBHOOK_EVENT_KEEP_DAYS = 90
    event("evt_old", received_days_ago=120, processed_days_ago=120)
    event("evt_old_failing", received_days_ago=120, processed_days_ago=None)
    event("evt_recent", received_days_ago=30, processed_days_ago=30)
    event("evt_new", received_days_ago=0, processed_days_ago=None)
    assert webhook_events_prune_task() == 1
    assert set(WebhookEvent.objects.values_list("event_id", flat=True)) == {
        "evt_old_failing",
        "evt_recent",
        "evt_new",
    }
