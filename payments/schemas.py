"""Payments API shapes: the providers a checkout may choose, an order's payment, webhook answers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from django.conf import settings
from ninja import Field, Schema

from api.schemas import InputSchema, SingleLine
from orders.models import OrderStatus
from payments.models import Payment, PaymentStatus, Refund
from payments.providers import get_provider
from payments.state import OPEN_STATUSES


class ProviderOut(Schema):
    """A provider, by its name (payments.selectors.providers_offered)."""

    name: str = Field(description="What checkout's `payment_provider` takes.")
    default: bool
    client: dict[str, Any] = Field(
        description="What the client needs to offer it (Stripe: publishable_key); no secrets."
    )

    @staticmethod
    def resolve_name(name: str) -> str:
        return name

    @staticmethod
    def resolve_default(name: str) -> bool:
        return name == settings.PAYMENT_DEFAULT_PROVIDER

    @staticmethod
    def resolve_client(name: str) -> dict[str, Any]:
        return get_provider(name).public_info()


class ProvidersOut(Schema):
    providers: list[ProviderOut]


def _payable_data(payment: Payment) -> dict[str, Any]:
    """What paying needs, only while the payment may still be paid: never for a cancelled order
    (its payment's cancel may not have reached the provider yet)."""
    if payment.status not in OPEN_STATUSES or payment.order.status == OrderStatus.CANCELLED:
        return {}
    return payment.client_data or {}


class OrderPaymentOut(Schema):
    """The order's latest Payment as its customer sees it: what paying needs only while it may
    still be paid (payments.state.OPEN_STATUSES)."""

    order_number: str = Field(alias="order.number")
    order_status: str = Field(alias="order.status")
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

    @staticmethod
    def resolve_client_secret(payment: Payment) -> str | None:
        return _payable_data(payment).get("client_secret")

    @staticmethod
    def resolve_client_data(payment: Payment) -> dict[str, Any]:
        return _payable_data(payment)

    @staticmethod
    def resolve_failure_message(payment: Payment) -> str | None:
        return (payment.error or None) if payment.status == PaymentStatus.FAILED else None


class WebhookAckOut(Schema):
    received: bool
    duplicate: bool


class StaffRefundOut(Schema):
    """A Refund (payment and order select_related): `due` while staff still have to send an
    offline payment's refund and confirm it."""

    id: int
    order_number: str = Field(alias="payment.order.number")
    to: str = Field(alias="payment.order.email", description="Whom the money goes back to.")
    provider: str = Field(alias="payment.provider")
    amount: Decimal
    currency: str
    status: str
    due: bool
    source: str
    created_at: datetime
    confirmed_at: datetime | None
    confirmation_note: str

    @staticmethod
    def resolve_due(refund: Refund) -> bool:
        return refund.status == "pending" and get_provider(refund.payment.provider).offline


class StaffRefundFilter(Schema):
    due: bool | None = Field(None, description="true: only refunds staff still have to send.")


class RefundConfirmIn(InputSchema):
    note: Annotated[SingleLine, Field(max_length=500)] = Field(
        "", description="How it was sent (bank reference, cash receipt...)."
    )
