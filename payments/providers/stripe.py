"""The `stripe` provider: PaymentIntents through the official `stripe` library (StripeClient).

- start: a PaymentIntent for the payment's amount in minor units (api.money, zero-decimal
  currencies such as JPY included), metadata order number / order id / payment uuid, and the
  idempotency key payments.services derives from the payment (the same on every retry: Stripe
  answers a retried create with the same intent, never a second one);
- parse_event: Stripe's signature scheme on the raw body (HMAC-SHA256 of "{t}.{body}",
  STRIPE_WEBHOOK_TOLERANCE seconds, 300 by default) through stripe.WebhookSignature;
- retrieve / refunds: the intent and its refunds as Stripe holds them now (an event's copy may be
  stale or out of order, so processing and reconciliation act on these);
- refund / cancel: with idempotency keys.

The client has explicit timeouts and max_network_retries (the library retries timeouts,
connection errors, 409 and 5xx with backoff, resending the same Idempotency-Key); STRIPE_API_BASE
points it at a stand-in (payments.stripe_standin) in tests and local development.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any

import stripe
from django.conf import settings

from api.money import from_minor_units, to_minor_units
from payments.providers.base import (
    InvalidProviderEvent,
    PaymentProvider,
    PaymentProviderError,
    ProviderEvent,
    ProviderRefund,
    ProviderResult,
)

# PaymentIntent status -> Payment status (requires_payment_method with an error: a failed try).
INTENT_STATUS = {
    "requires_payment_method": "pending",
    "requires_confirmation": "pending",
    "requires_action": "pending",
    "processing": "pending",
    "requires_capture": "pending",
    "succeeded": "succeeded",
    "canceled": "cancelled",
}

# Event types that move a payment, and what they say happened ("refunded": its refunds changed,
# re-read them all; a refund that fails later comes as charge.refund.updated, and on newer API
# versions as refund.updated / refund.failed too).
EVENT_KINDS = {
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "cancelled",
    "payment_intent.processing": "pending",
    "payment_intent.requires_action": "pending",
    "charge.refunded": "refunded",
    "charge.refund.updated": "refunded",
    "refund.updated": "refunded",
    "refund.failed": "refunded",
}


@cache
def _client(key: str, api_base: str, timeout: float, retries: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        key,
        base_addresses={"api": api_base} if api_base else None,
        http_client=stripe.RequestsClient(timeout=timeout),
        max_network_retries=retries,
    )


def client() -> stripe.StripeClient:
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_TIMEOUT_SECONDS,
        settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def _error(exc: stripe.StripeError) -> PaymentProviderError:
    retryable = isinstance(
        exc, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError
    ) or (exc.http_status is not None and exc.http_status >= 500)
    return PaymentProviderError(
        f"stripe: {exc.user_message or exc}", retryable=retryable, raw=exc.json_body
    )


def _result(intent: Any) -> ProviderResult:
    data = intent.to_dict() if hasattr(intent, "to_dict") else dict(intent)
    status = INTENT_STATUS.get(data.get("status"), "pending")
    error = data.get("last_payment_error") or {}
    if status == "pending" and data.get("status") == "requires_payment_method" and error:
        status = "failed"
    currency = (data.get("currency") or "").upper()
    received = data.get("amount_received") or 0
    minor = received if data.get("status") == "succeeded" else data.get("amount")
    return ProviderResult(
        status=status,
        reference=data["id"],
        client_data={"type": "stripe", "client_secret": data.get("client_secret")},
        raw=data,
        amount=from_minor_units(minor, currency) if minor is not None and currency else None,
        currency=currency,
        failure=(error.get("message") or "") if status == "failed" else "",
        processing=data.get("status") in ("processing", "requires_capture"),
    )


# Stripe's minimum charge per currency (its documentation's table, the common ones); others: 0.50.
MINIMUM_CHARGE = {
    "USD": "0.50",
    "EUR": "0.50",
    "GBP": "0.30",
    "CHF": "0.50",
    "CAD": "0.50",
    "AUD": "0.50",
    "JPY": "50",
    "DKK": "2.50",
    "NOK": "3.00",
    "SEK": "3.00",
    "PLN": "2.00",
    "HKD": "4.00",
    "MXN": "10",
    "SGD": "0.50",
    "NZD": "0.50",
    "BRL": "0.50",
    "INR": "0.50",
    "AED": "2.00",
}


class StripeProvider(PaymentProvider):
    name = "stripe"
    remote = True

    def minimum_amount(self, currency: str) -> Decimal:
        return Decimal(MINIMUM_CHARGE.get(currency.upper(), "0.50"))

    def public_info(self) -> dict[str, Any]:
        return {"publishable_key": settings.STRIPE_PUBLISHABLE_KEY or None}

    def start(self, payment, *, idempotency_key: str) -> ProviderResult:
        order = payment.order
        params = {
            "amount": to_minor_units(payment.amount, payment.currency),
            "currency": payment.currency.lower(),
            "description": f"Order {order.number}",
            "metadata": {
                "order_number": order.number,
                "order_id": str(order.pk),
                "payment_uuid": str(payment.uuid),
            },
            "automatic_payment_methods": {"enabled": True},
        }
        try:
            intent = client().v1.payment_intents.create(
                params, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _error(exc) from exc
        return _result(intent)

    def retrieve(self, payment) -> ProviderResult:
        if not payment.provider_reference:
            raise PaymentProviderError("stripe: the payment has no PaymentIntent yet")
        try:
            return _result(client().v1.payment_intents.retrieve(payment.provider_reference))
        except stripe.StripeError as exc:
            raise _error(exc) from exc

    def cancel(self, payment, *, idempotency_key: str) -> ProviderResult:
        if not payment.provider_reference:  # never started: nothing exists at Stripe
            return ProviderResult(status="cancelled")
        try:
            intent = client().v1.payment_intents.cancel(
                payment.provider_reference, options={"idempotency_key": idempotency_key}
            )
        except stripe.InvalidRequestError:
            # Succeeded or cancelled already: what Stripe holds says which.
            return self.retrieve(payment)
        except stripe.StripeError as exc:
            raise _error(exc) from exc
        return _result(intent)

    def refund(
        self,
        payment,
        *,
        amount: Decimal,
        idempotency_key: str,
        metadata: Mapping[str, str] | None = None,
    ) -> ProviderRefund:
        params = {
            "payment_intent": payment.provider_reference,
            "amount": to_minor_units(amount, payment.currency),
            "metadata": dict(metadata or {}),
        }
        try:
            refund = client().v1.refunds.create(params, {"idempotency_key": idempotency_key})
        except stripe.StripeError as exc:
            raise _error(exc) from exc
        return self._refund(refund.to_dict(), payment.currency)

    def refunds(self, payment) -> list[ProviderRefund]:
        try:
            page = client().v1.refunds.list(
                {"payment_intent": payment.provider_reference, "limit": 100}
            )
        except stripe.StripeError as exc:
            raise _error(exc) from exc
        return [self._refund(r.to_dict(), payment.currency) for r in page.auto_paging_iter()]

    @staticmethod
    def _refund(data: dict, currency: str) -> ProviderRefund:
        status = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(
            data.get("status"), "pending"
        )
        return ProviderRefund(
            reference=data["id"],
            amount=from_minor_units(data["amount"], currency),
            status=status,
            refund_uuid=(data.get("metadata") or {}).get("refund_uuid", ""),
            raw=data,
            failure=(data.get("failure_reason") or data.get("status") or "")
            if status == "failed"
            else "",
        )

    def parse_event(self, *, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        try:
            stripe.WebhookSignature.verify_header(
                body,
                headers.get("Stripe-Signature"),
                settings.STRIPE_WEBHOOK_SECRET,
                tolerance=settings.STRIPE_WEBHOOK_TOLERANCE,
            )
            event = json.loads(body)
            obj = event["data"]["object"]
            type_ = str(event["type"])
            event_id = str(event["id"])
        except stripe.SignatureVerificationError as exc:
            raise InvalidProviderEvent(f"bad signature: {exc.user_message or exc}") from None
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise InvalidProviderEvent(f"not a Stripe event: {exc}") from None
        if obj.get("object") == "payment_intent":
            reference = obj.get("id", "")
        else:  # a charge (charge.refunded) or a refund (charge.refund.updated) names its intent
            reference = obj.get("payment_intent") or ""
        return ProviderEvent(
            event_id=event_id,
            reference=str(reference),
            kind=EVENT_KINDS.get(type_),
            raw=event,
            type=type_,
            payment_uuid=str((obj.get("metadata") or {}).get("payment_uuid", "")),
        )
