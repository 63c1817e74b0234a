"""Payments: one row per attempt to collect an order's money through a provider.

The row is written in the checkout transaction (status `created`); the provider is called after
the commit (payments.services.payment_start) and its answer recorded here. Statuses only move
forward (payments/state.py: a succeeded payment never goes back to pending or failed).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
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
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded in full"


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
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.CREATED
    )
    refunded_amount = models.DecimalField(**MONEY, default=Decimal("0.00"))
    # What the client needs to finish paying (a Stripe client_secret, bank transfer instructions).
    client_data = models.JSONField(default=dict, blank=True)
    raw_response = models.JSONField(default=dict, blank=True, help_text="Last provider answer.")
    error = models.TextField(blank=True)
    # Money that cannot be booked as it is (amount or currency mismatch, paid after the order
    # was cancelled): staff look at it in the admin (filter "needs review").
    needs_review = models.BooleanField(default=False, db_index=True)
    review_reason = models.TextField(blank=True)
    # Last time the provider's own record was read (webhook processing, reconciliation).
    synced_at = models.DateTimeField(null=True, blank=True)
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


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending (provider not answered yet)"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Refund(models.Model):
    """Money given back on a payment: asked by staff through us (source `staff`, idempotency key
    derived from the order event) or made at the provider directly (source `provider`, e.g. in
    Stripe's dashboard, learnt from a charge.refunded event). Counted into Payment.refunded_amount
    once, when it is first known as not failed, and taken out of it once if it fails later
    (Stripe's charge.refund.updated: the card was closed...); `error` keeps the reason."""

    class Source(models.TextChoices):
        STAFF = "staff", "Staff, through the shop"
        PROVIDER = "provider", "At the provider"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.STAFF)
    provider_reference = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    restock = models.BooleanField(default=False)
    counted = models.BooleanField(
        default=False, help_text="Added to the payment's refunded amount (once)."
    )
    raw_response = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # An offline payment's refund is made by staff outside the shop (a bank transfer back): it
    # waits, pending, until staff confirm it was sent (payments.services.payment_refund_confirm).
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmation_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_gt_0"),
            models.UniqueConstraint(
                fields=["payment", "provider_reference"],
                condition=~Q(provider_reference=""),
                name="refund_unique_provider_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} ({self.status})"


class WebhookEvent(models.Model):
    """The inbound webhook ledger: one row per provider event id, written in the request that
    delivered it (a repeated delivery finds the row and does nothing), processed by the
    payment.webhook_process task."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    reference = models.CharField(max_length=255, blank=True, help_text="The payment it is about.")
    payment_uuid = models.CharField(max_length=36, blank=True)
    # What it says happened to the payment (PaymentStatus / "refunded"); blank: nothing to do.
    kind = models.CharField(max_length=20, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="webhook_event_unique_id"
            ),
        ]
        indexes = [models.Index(fields=["processed_at"], name="webhook_event_processed")]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"
