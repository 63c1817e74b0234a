"""Outgoing webhooks: the endpoints staff register, the events recorded with the changes they
announce, one delivery per (event, endpoint), and each attempt at it (docs/webhooks.md)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone


class EventType(models.TextChoices):
    ORDER_CREATED = "order.created"
    ORDER_PAID = "order.paid"
    ORDER_SHIPPED = "order.shipped"
    ORDER_DELIVERED = "order.delivered"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_REFUNDED = "order.refunded"
    PRODUCT_CREATED = "product.created"
    PRODUCT_UPDATED = "product.updated"
    PRODUCT_DELETED = "product.deleted"
    STOCK_LOW = "stock.low"
    STOCK_OUT = "stock.out"


class Endpoint(models.Model):
    """A receiver: its URL, the event types it wants and the secret its deliveries are signed
    with. `failing_since` is set by the first failed attempt after a success and cleared by the
    next success; failing for WEBHOOKS_DISABLE_AFTER_HOURS disables it."""

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = ArrayField(models.CharField(max_length=32, choices=EventType.choices))
    secret = models.CharField(max_length=100, help_text="Signs every delivery (HMAC-SHA256).")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=500, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(events=[]), name="webhook_endpoint_has_events"),
            models.CheckConstraint(
                condition=Q(secret__regex=r"^.{16,}$"),  # noqa: S106 - a length rule
                name="webhook_endpoint_secret_long",
            ),
        ]

    def __str__(self) -> str:
        return self.url


class Event(models.Model):
    """Something that happened, recorded in the transaction of the change (only when an active
    endpoint wants its type). `event_id` is what receivers dedupe on; `payload` is the data as
    it was then, sent the same in every attempt."""

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=32, choices=EventType.choices)
    subject = models.CharField(
        max_length=100, blank=True, help_text="What it is about: an order number, a product id."
    )
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_at"], name="webhook_event_created")]

    def __str__(self) -> str:
        return f"{self.type} {self.subject}".strip()


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # queued, not tried yet (or sent again)
    RETRYING = "retrying"  # failed, tried again at next_attempt_at
    DELIVERED = "delivered"  # a 2xx answer
    FAILED = "failed"  # given up: refused, a 4xx, retries over, or its endpoint disabled


OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


class Delivery(models.Model):
    """One event for one endpoint. Open (pending or retrying) while `next_attempt_at` says when
    to try; an attempt claims it by moving that time past the attempt's own timeout, so two
    workers never post it at once. `queued_at` is when a task was queued for its current due
    time (an attempt clears it): beat queues one only where there is none (webhooks/services.py)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    retry_until = models.DateTimeField(help_text="Failures retry until then, then give up.")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once"),
            models.CheckConstraint(
                condition=~Q(status__in=OPEN_STATUSES) | Q(next_attempt_at__isnull=False),
                name="webhook_delivery_open_is_scheduled",
            ),
        ]
        indexes = [
            # Beat's question: which open deliveries are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=OPEN_STATUSES),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint"),
        ]
        permissions = [("redeliver_delivery", "Can send a webhook delivery again")]

    def __str__(self) -> str:
        return f"{self.event} -> {self.endpoint_id}"


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded"
    RETRY = "retry"  # failed; tried again later
    FAILED = "failed"  # failed; not tried again


class DeliveryAttempt(models.Model):
    """One POST (or one refusal to make it): what came back, how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_once")
        ]
        indexes = [models.Index(fields=["started_at"], name="webhook_attempt_started")]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.status_code or self.error or self.outcome}"
