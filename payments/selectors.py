"""Reads of payments for the API."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from api.errors import NotFound
from payments.models import Payment, PaymentStatus
from payments.providers import get_provider, provider_names


def providers_public() -> dict[str, Any]:
    return {
        "providers": [
            {
                "name": name,
                "default": name == settings.PAYMENT_DEFAULT_PROVIDER,
                "client": get_provider(name).public_info(),
            }
            for name in provider_names()
        ]
    }


def payment_for_customer(*, order: Any) -> dict[str, Any]:
    """The order's latest payment as its customer sees it (the caller checked ownership)."""
    payment = Payment.objects.filter(order_id=order.pk).order_by("-created_at", "-id").first()
    if payment is None:
        raise NotFound("This order has no payment.", code="payment_not_found")
    data = payment.client_data or {}
    return {
        "order_number": order.number,
        "order_status": order.status,
        "provider": payment.provider,
        "status": payment.status,
        "amount": payment.amount,
        "currency": payment.currency,
        "refunded_amount": payment.refunded_amount,
        "client_secret": data.get("client_secret") if payment.status in OPEN else None,
        "client_data": data if payment.status in OPEN else {},
        "failure_message": payment.error or None
        if payment.status == PaymentStatus.FAILED
        else None,
    }


# A client secret is only of use while the payment may still be paid.
OPEN = (PaymentStatus.CREATED, PaymentStatus.PENDING, PaymentStatus.FAILED)
