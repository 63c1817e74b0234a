"""The interface every payment provider implements (the `manual` one here, Stripe in its issue).

A provider only talks to the outside world and translates: it never writes to the database and
never changes an order. payments.services calls it outside any database lock, records what it
answers on the Payment row and moves the order (through orders.services) when money arrived.

    class StripeProvider(PaymentProvider):
        name = "stripe"

        def start(self, payment, *, idempotency_key):    # create a PaymentIntent
            ...
            return ProviderResult(status="pending", reference=intent.id,
                                  client_data={"client_secret": intent.client_secret},
                                  raw=intent.to_dict())

Registered by name in settings.PAYMENT_PROVIDERS; payments.providers.get_provider(name) gives the
instance. Every call gets an idempotency key derived from the payment (Payment.uuid), the same on
every retry of the same step, so a provider that supports keys (Stripe) never does a step twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal

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
    """What a provider call left the payment as.

    status: the Payment status after the call (PaymentStatus values).
    reference: the provider's id for the payment (PaymentIntent id...), "" if it has none.
    client_data: what the client needs to go on (e.g. {"client_secret": ...}); JSON types only.
    raw: the provider's answer as JSON, kept on Payment.raw_response for support.
    amount: the amount the call concerned (refunds), when it differs from the payment's.
    """

    status: str
    reference: str = ""
    client_data: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    amount: Decimal | None = None


@dataclass(frozen=True)
class ProviderEvent:
    """An event the provider told us about (a verified webhook; for `manual`, staff's word).

    event_id: the provider's unique id of the event (webhook ledgers dedupe on it).
    reference: the payment it is about (Payment.provider_reference).
    kind: what happened to that payment.
    """

    event_id: str
    reference: str
    kind: EventKind
    amount: Decimal | None = None
    raw: dict[str, Any] = field(default_factory=dict)


class PaymentProvider(ABC):
    name: ClassVar[str]

    @abstractmethod
    def start(self, payment: Payment, *, idempotency_key: str) -> ProviderResult:
        """Begin collecting `payment.amount` for `payment.order`; called once the order is
        committed, outside any lock, and again with the same key if an earlier call failed."""

    @abstractmethod
    def parse_event(self, *, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Verify and read an inbound event (webhook); InvalidProviderEvent when not genuine."""

    @abstractmethod
    def refund(self, payment: Payment, *, amount: Decimal, idempotency_key: str) -> ProviderResult:
        """Give back `amount` (all or part) of a succeeded payment."""

    @abstractmethod
    def cancel(self, payment: Payment, *, idempotency_key: str) -> ProviderResult:
        """Stop a payment that has not succeeded (the order was cancelled or expired)."""
