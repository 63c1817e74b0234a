"""The interface every payment provider implements (`manual` and `stripe`).

A provider only talks to the outside world and translates: it never writes to the database and
never changes an order. payments.services calls it outside any database lock, records what it
answers on the Payment row and moves the order (through orders.services) when money arrived.

    class StripeProvider(PaymentProvider):      # payments/providers/stripe.py
        name, remote = "stripe", True
        def start(self, payment, *, idempotency_key) -> ProviderResult     # a PaymentIntent
        def parse_event(self, *, body, headers) -> ProviderEvent           # signature checked
        def refund(self, payment, *, amount, idempotency_key, metadata) -> ProviderRefund
        def cancel(self, payment, *, idempotency_key) -> ProviderResult
        def retrieve(self, payment) -> ProviderResult                      # re-read the intent
        def refunds(self, payment) -> list[ProviderRefund]                 # charge.refunded...

Registered by name in settings.PAYMENT_PROVIDERS; payments.providers.get_provider(name) gives the
instance. Every call gets an idempotency key derived from the payment (Payment.uuid), the same on
every retry of the same step, so a provider that supports keys (Stripe) never does a step twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from django.conf import settings

if TYPE_CHECKING:
    from payments.models import Payment

EventKind = Literal["pending", "succeeded", "failed", "cancelled", "refunded"]


class PaymentProviderError(Exception):
    """The provider could not be reached or refused the call.

    `retryable`: a later call with the same idempotency key may succeed (network, 5xx, rate limit);
    False: it never will (bad request, card declined).
    """

    def __init__(self, message: str, *, retryable: bool = True, raw: Any = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.raw = raw


class InvalidProviderEvent(Exception):
    """An inbound event that is not genuine (bad signature) or cannot be read."""


@dataclass(frozen=True)
class ProviderResult:
    """What a provider says the payment is (after a call, or when re-read).

    status: the Payment status it maps to (PaymentStatus values).
    reference: the provider's id for the payment (PaymentIntent id...), "" if it has none.
    client_data: what the client needs to go on (e.g. {"client_secret": ...}); JSON types only.
    raw: the provider's answer as JSON, kept on Payment.raw_response for support.
    amount, currency: what the provider holds (re-reads); checked against the payment before
    a success is booked. None / "" when the provider does not say.
    failure: the provider's reason for a failed attempt (shown to the customer).
    """

    status: str
    reference: str = ""
    client_data: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    amount: Decimal | None = None
    currency: str = ""
    failure: str = ""
    # The provider is moving the money now (a bank debit clearing, 3-D Secure under way): the
    # order must not be cancelled under it.
    processing: bool = False


@dataclass(frozen=True)
class ProviderRefund:
    """A refund as the provider knows it.

    reference: the provider's id (re_...); status: RefundStatus values (pending, succeeded,
    failed); refund_uuid: our Refund.uuid when we asked for it (metadata), "" when it was made at
    the provider directly (dashboard); failure: the provider's reason when it failed
    (Stripe's failure_reason, e.g. expired_or_canceled_card).
    """

    reference: str
    amount: Decimal
    status: str
    refund_uuid: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    failure: str = ""


@dataclass(frozen=True)
class ProviderEvent:
    """An event the provider told us about (a verified webhook; for `manual`, staff's word).

    event_id: the provider's unique id of the event (the webhook ledger dedupes on it).
    type: the provider's event type (`payment_intent.succeeded`...).
    reference: the payment it is about (Payment.provider_reference).
    kind: what happened to that payment; None for an event that moves no payment (stored only).
    payment_uuid: our Payment.uuid when the provider echoes it (metadata): finds the payment
    even before its reference was recorded.
    """

    event_id: str
    reference: str
    kind: EventKind | None
    amount: Decimal | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    type: str = ""
    payment_uuid: str = ""


class PaymentProvider(ABC):
    name: ClassVar[str]
    # Whether retrieve() asks the provider (webhooks re-read, reconciliation settles).
    remote: ClassVar[bool] = False
    # Money that moves outside the system (a bank transfer, cash): refunds are staff's to make,
    # recorded as done only when staff confirm them (payments.services.payment_refund_confirm).
    offline: ClassVar[bool] = False
    # Orders may ship before they are paid, and are paid on delivery (cash on delivery).
    ships_unpaid: ClassVar[bool] = False

    @property
    def hold(self) -> timedelta | None:
        """How long an unpaid order is held before it is cancelled and its stock returned;
        None: never automatically (PAYMENT_HOLD_MINUTES, else ORDER_PAYMENT_TIMEOUT)."""
        minutes = settings.PAYMENT_HOLD_MINUTES.get(self.name, 0)
        if minutes is None:
            return None
        return timedelta(minutes=minutes) if minutes else settings.ORDER_PAYMENT_TIMEOUT

    def minimum_amount(self, currency: str) -> Decimal:
        """The smallest total this provider collects (checkout: 422 amount_below_minimum)."""
        return Decimal("0")

    def public_info(self) -> dict[str, Any]:
        """What a client needs to offer this provider at checkout (no secrets)."""
        return {}

    @abstractmethod
    def start(self, payment: Payment, *, idempotency_key: str) -> ProviderResult:
        """Begin collecting `payment.amount` for `payment.order`; called once the order is
        committed, outside any lock, and again with the same key if an earlier call failed."""

    @abstractmethod
    def parse_event(self, *, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Verify and read an inbound event (webhook); InvalidProviderEvent when not genuine."""

    @abstractmethod
    def refund(
        self,
        payment: Payment,
        *,
        amount: Decimal,
        idempotency_key: str,
        metadata: Mapping[str, str] | None = None,
    ) -> ProviderRefund:
        """Give back `amount` (all or part) of a succeeded payment."""

    @abstractmethod
    def cancel(self, payment: Payment, *, idempotency_key: str) -> ProviderResult:
        """Stop a payment that has not succeeded (the order was cancelled or expired); the
        provider's state after the call (a payment that succeeded meanwhile says so)."""

    def retrieve(self, payment: Payment) -> ProviderResult:
        """The payment as the provider holds it now (an event's copy may be stale)."""
        return ProviderResult(
            status=payment.status,
            reference=payment.provider_reference,
            amount=payment.amount,
            currency=payment.currency,
            raw=payment.raw_response,
        )

    def refunds(self, payment: Payment) -> list[ProviderRefund]:
        """Every refund the provider holds for the payment (made through us or not)."""
        return []
