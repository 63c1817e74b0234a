"""Reads of payments for the API (payments.schemas renders what these return)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from payments.errors import PaymentNotFound
from payments.models import Payment, Refund, RefundStatus
from payments.providers import offline_providers, provider_names


def providers_offered() -> list[str]:
    """The providers a checkout may choose, by name (ProviderOut renders each)."""
    return provider_names()


def payment_for_customer(*, order: Any) -> Payment:
    """The order's latest payment as its customer sees it (the caller checked ownership)."""
    payment = (
        Payment.objects.select_related("order")
        .filter(order_id=order.pk)
        .order_by("-created_at", "-id")
        .first()
    )
    if payment is None:
        raise PaymentNotFound("This order has no payment.")
    return payment


def refunds_for_staff(*, due: bool | None = None) -> QuerySet[Refund]:
    """Refunds, newest first; `due`: only (or no) offline refunds staff still have to send."""
    refunds = Refund.objects.select_related("payment__order").order_by("-created_at", "-id")
    due_filter = Q(status=RefundStatus.PENDING, payment__provider__in=offline_providers())
    if due is True:
        refunds = refunds.filter(due_filter)
    elif due is False:
        refunds = refunds.exclude(due_filter)
    return refunds
