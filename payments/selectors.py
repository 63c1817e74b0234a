"""Reads of payments for the API (payments.schemas renders what these return)."""

from __future__ import annotations

from typing import Any

from payments.errors import PaymentNotFound
from payments.models import Payment
from payments.providers import provider_names


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
