"""Payments API shapes: the providers a checkout may choose, an order's payment, webhook answers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ninja import Field, Schema


class ProviderOut(Schema):
    name: str = Field(description="What checkout's `payment_provider` takes.")
    default: bool
    client: dict[str, Any] = Field(
        description="What the client needs to offer it (Stripe: publishable_key); no secrets."
    )


class ProvidersOut(Schema):
    providers: list[ProviderOut]


class OrderPaymentOut(Schema):
    order_number: str
    order_status: str
    provider: str
    status: str = Field(
        description="created, pending, succeeded, failed, cancelled, partially_refunded, refunded"
    )
    amount: Decimal
    currency: str
    refunded_amount: Decimal
    client_secret: str | None = Field(
        description="Stripe: confirm the PaymentIntent with it (Stripe.js); null otherwise."
    )
    client_data: dict[str, Any]
    failure_message: str | None = Field(description="Why the last attempt failed, if it did.")


class WebhookAckOut(Schema):
    received: bool
    duplicate: bool
