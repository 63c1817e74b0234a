"""Payments: create with the order, start after its commit, apply provider events, cancel, refund.

Where each happens:
- payment_create: inside the checkout transaction (a `created` row, nothing called);
- payment_start: after that commit, outside every lock (orders.checkout.checkout_followup), from
  the checkout request itself; a failed start leaves the row `created` and the client's retry of
  the checkout with the same Idempotency-Key starts it again (or payment_start from anywhere);
- payment_event_apply: a provider event (a verified webhook of the Stripe issue, or staff marking
  a manual payment received) moves the payment forward only, and a success marks the order paid;
- payment_cancel / payment_refund: run by tasks enqueued when an order is cancelled or refunded.

Provider calls carry idempotency keys derived from Payment.uuid and the step, so a retried step
never happens twice at a provider that honours them.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

from django.db import transaction

from api.errors import Conflict, NotFound
from payments.models import PAYMENT_TRANSITIONS, Payment, PaymentStatus
from payments.providers import (
    PaymentProviderError,
    ProviderEvent,
    ProviderResult,
    get_provider,
)

logger = logging.getLogger("payments")

# A payment in one of these may still collect money; cancelling the order stops it.
OPEN_STATUSES = (PaymentStatus.CREATED, PaymentStatus.PENDING, PaymentStatus.FAILED)


def payment_create(*, order: Any, provider: str) -> Payment:
    """The order's payment row, in the checkout transaction; the provider is not called yet."""
    get_provider(provider)  # KeyError for an unknown name: the checkout validated it first
    return Payment.objects.create(
        order=order, provider=provider, amount=order.grand_total, currency=order.currency
    )


def _record(payment: Payment, result: ProviderResult) -> None:
    if result.status != payment.status and result.status not in PAYMENT_TRANSITIONS.get(
        payment.status, frozenset()
    ):
        logger.warning(
            "payment status not moved backwards",
            extra={"payment_id": payment.pk, "from": payment.status, "to": result.status},
        )
    else:
        payment.status = result.status
    if result.reference:
        payment.provider_reference = result.reference
    if result.client_data:
        payment.client_data = result.client_data
    payment.raw_response = result.raw
    payment.error = ""


def payment_start(*, payment_id: int | None = None, payment: Payment | None = None) -> Payment:
    """Start collecting the payment (by id, or the instance) with its provider; idempotent (a
    started payment is returned as it is). Raises PaymentProviderError when the provider fails:
    the row stays `created` and a later call tries again with the same idempotency key."""
    if payment is None:
        payment = Payment.objects.select_related("order").get(pk=payment_id)
    payment_id = payment.pk
    if payment.status != PaymentStatus.CREATED:
        return payment
    provider = get_provider(payment.provider)
    try:
        result = provider.start(payment, idempotency_key=f"payment-{payment.uuid}-start")
    except PaymentProviderError as exc:
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.CREATED).update(
            error=str(exc)[:2000]
        )
        logger.warning("payment start failed", extra={"payment_id": payment.pk, "error": str(exc)})
        raise
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("order").get(pk=payment_id)
        if payment.status == PaymentStatus.CREATED:  # else a concurrent start recorded it
            _record(payment, result)
            payment.save(
                update_fields=[
                    "status",
                    "provider_reference",
                    "client_data",
                    "raw_response",
                    "error",
                    "updated_at",
                ]
            )
    return payment


def payment_for_order(order_id: int) -> Payment | None:
    """The order's latest payment attempt."""
    return (
        Payment.objects.select_related("order")
        .filter(order_id=order_id)
        .order_by("-created_at", "-id")
        .first()
    )


def payment_event_apply(*, provider: str, event: ProviderEvent, actor: Any = None) -> Payment:
    """Apply what the provider says happened to a payment: forward moves only (a late `failed`
    after `succeeded` changes nothing), and a success marks the order paid (once)."""
    from orders import services as order_services

    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .filter(provider=provider, provider_reference=event.reference)
            .first()
        )
        if payment is None:
            raise NotFound("No payment with this reference.", code="payment_not_found")
        target = event.kind
        if target != payment.status and target in PAYMENT_TRANSITIONS.get(payment.status, ()):
            payment.status = target
            payment.raw_response = {"event_id": event.event_id, **event.raw}
            payment.save(update_fields=["status", "raw_response", "updated_at"])
        if target == PaymentStatus.SUCCEEDED and payment.status == PaymentStatus.SUCCEEDED:
            order_services.order_mark_paid(
                order_id=payment.order_id,
                actor=actor,
                note=f"Payment {event.event_id} received ({provider}).",
                strict=False,
            )
    return payment


def payment_record_manual(*, order: Any, actor: Any = None, note: str = "") -> Payment:
    """Staff say the money of a `manual` payment arrived: the provider's event, applied while
    the order is locked, so a cancellation cannot slip in between the check and the payment."""
    from orders.errors import InvalidTransition
    from orders.models import Order, OrderStatus

    payment = payment_for_order(order.pk)
    if payment is None or payment.provider != "manual":
        raise Conflict(
            "Only orders paid with the manual provider are marked paid by hand.",
            code="payment_not_manual",
        )
    if payment.status == PaymentStatus.CREATED:
        payment = payment_start(payment=payment)  # nothing leaves the building: no lock issue
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status != OrderStatus.PENDING_PAYMENT:
            raise InvalidTransition(
                details={"number": locked.number, "status": locked.status, "to": "paid"}
            )
        return _manual_event_apply(payment, actor=actor, note=note)


def _manual_event_apply(payment: Payment, *, actor: Any, note: str) -> Payment:
    provider = get_provider("manual")
    body = json.dumps(
        {
            "id": f"manual-{payment.uuid}-paid",
            "reference": payment.provider_reference,
            "kind": "succeeded",
            "amount": str(payment.amount),
            "note": note,
            "actor_id": getattr(actor, "pk", None),
        }
    ).encode()
    event = provider.parse_event(body=body, headers={})
    return payment_event_apply(provider="manual", event=event, actor=actor)


def payment_cancel(*, order_id: int) -> Payment | None:
    """Stop the order's open payment at its provider (the order was cancelled); idempotent."""
    payment = payment_for_order(order_id)
    if payment is None or payment.status not in OPEN_STATUSES:
        return payment
    result = get_provider(payment.provider).cancel(
        payment, idempotency_key=f"payment-{payment.uuid}-cancel"
    )
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status in OPEN_STATUSES:
            _record(payment, result)
            payment.status = PaymentStatus.CANCELLED
            payment.save()
    return payment


def payment_refund(*, order_id: int, amount: Decimal, refund_key: str) -> Payment | None:
    """Give `amount` back through the provider, once per `refund_key` (the order event that
    recorded the refund). The payments issue replaces this raw_response ledger with Refunds."""
    payment = (
        Payment.objects.filter(order_id=order_id, status=PaymentStatus.SUCCEEDED)
        .order_by("-created_at")
        .first()
    )
    if payment is None:
        return None  # nothing was collected through a provider: nothing to give back
    done = (payment.raw_response or {}).get("refund_keys", [])
    if refund_key in done:
        return payment
    result = get_provider(payment.provider).refund(
        payment, amount=amount, idempotency_key=f"payment-{payment.uuid}-refund-{refund_key}"
    )
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        done = (payment.raw_response or {}).get("refund_keys", [])
        if refund_key not in done:
            payment.refunded_amount = min(payment.amount, payment.refunded_amount + amount)
            if result.status == PaymentStatus.REFUNDED:
                payment.status = PaymentStatus.REFUNDED
            payment.raw_response = {**result.raw, "refund_keys": [*done, refund_key]}
            payment.save()
    return payment
