"""Payments: one row per attempt to collect an order's money through a provider.

The row is written in the checkout transaction (status `created`); the provider is called after
the commit (payments.services.payment_start) and its answer recorded here. Statuses only move
forward (payments.services refuses to move a succeeded payment back to pending or failed).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

MONEY = {"max_digits": 12, "decimal_places": 2}


class PaymentStatus(models.TextChoices):
    CREATED = "created", "Created (provider not called yet)"
    PENDING = "pending", "Pending (waiting for the customer or the provider)"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded in full"


# Where each status may go next; anything else is ignored (a late event never moves it back).
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentStatus.CREATED: frozenset(
        {
            PaymentStatus.PENDING,
            PaymentStatus.SUCCEEDED,
            PaymentStatus.FAILED,
            PaymentStatus.CANCELLED,
        }
    ),
    PaymentStatus.PENDING: frozenset(
        {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.CANCELLED}
    ),
    PaymentStatus.FAILED: frozenset(
        {PaymentStatus.PENDING, PaymentStatus.SUCCEEDED, PaymentStatus.CANCELLED}
    ),
    PaymentStatus.SUCCEEDED: frozenset({PaymentStatus.REFUNDED}),
    PaymentStatus.CANCELLED: frozenset(),
    PaymentStatus.REFUNDED: frozenset(),
}


class Payment(models.Model):
    # Stable across retries: providers' idempotency keys derive from it.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=32)
    provider_reference = models.CharField(
        max_length=255, blank=True, help_text="The provider's id, e.g. a PaymentIntent id."
    )
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.CREATED
    )
    refunded_amount = models.DecimalField(**MONEY, default=Decimal("0.00"))
    # What the client needs to finish paying (a Stripe client_secret, bank transfer instructions).
    client_data = models.JSONField(default=dict, blank=True)
    raw_response = models.JSONField(default=dict, blank=True, help_text="Last provider answer.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_gte_0"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("amount")),
                name="payment_refund_within_amount",
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_reference"],
                condition=~Q(provider_reference=""),
                name="payment_unique_provider_reference",
            ),
        ]
        indexes = [models.Index(fields=["order", "-created_at"], name="payment_order")]

    def __str__(self) -> str:
        return f"{self.provider} {self.amount} {self.currency} ({self.status})"
