"""Sent-email records (the event keys that make an email go once) pruned after
SENT_EMAIL_KEEP_DAYS."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import SentEmail
from core.tasks import sent_emails_prune_task

pytestmark = pytest.mark.django_db


def sent(key: str, days_ago: float) -> None:
    SentEmail.objects.create(
        event_key=key,
        template="order_paid",
        recipient="ada@example.com",
        subject="Paid",
        sent_at=timezone.now() - timedelta(days=days_ago),
    )


def test_sent_emails_older_than_their_period_go(settings):
    settings.SENT_EMAIL_KEEP_DAYS = 90
    sent("paid:1", 91)
    sent("welcome:1", 200)
    sent("paid:2", 89)
    sent("shipped:2", 0)
    assert sent_emails_prune_task() == 2
    assert set(SentEmail.objects.values_list("event_key", flat=True)) == {"paid:2", "shipped:2"}
    assert sent_emails_prune_task() == 0
