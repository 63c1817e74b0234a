"""Applying what a remote provider holds for a payment, and staff's review of what could not be.

payment_sync applies the provider's current record (re-read, never an event's copy) forward
only: a success is checked (amount, currency) before the order is paid; what does not match is
flagged for staff (payment_flag), who clear it with payment_review_resolve.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from orders.errors import InvalidTransition
from orders.models import Order, OrderStatus
from orders.services import order_cancel, order_mark_paid, order_payment_review_resolved
from payments.errors import NothingToReview
from payments.models import Payment, PaymentStatus
from payments.providers import ProviderResult, get_provider
from payments.state import payment_transition

logger = logging.getLogger("payments")


def payment_flag(payment: Payment, reason: str) -> None:
    """Flag the payment for staff with a reason (the caller holds its lock and saves it)."""
    if not payment.needs_review:
        logger.warning("payment needs review", extra={"payment_id": payment.pk, "reason": reason})
    payment.needs_review = True
    if reason not in payment.review_reason:
        payment.review_reason = "\n".join(filter(None, [payment.review_reason, reason]))


def payment_review_resolve(*, order_id: int, actor: Any, note: str) -> list[Payment]:
    """Staff dealt with what flagged this order's payments (refunded by hand, wrote to the
    customer...): the flags and reasons are cleared, and the order's log keeps both the reasons
    and staff's note. 409 `nothing_to_review` when no payment is flagged. A provider event that
    flags the payment again later flags it anew."""
    with transaction.atomic():
        flagged = list(
            Payment.objects.select_for_update()
            .filter(order_id=order_id, needs_review=True)
            .order_by("pk")
        )
        if not flagged:
            raise NothingToReview()
        reasons = [payment.review_reason for payment in flagged]
        for payment in flagged:
            payment.needs_review = False
            payment.review_reason = ""
            payment.save(update_fields=["needs_review", "review_reason", "updated_at"])
        order_payment_review_resolved(
            order_id=order_id,
            actor=actor,
            note=note,
            data={"payment_ids": [p.pk for p in flagged], "reasons": reasons},
        )
    return flagged


def _mismatch(payment: Payment, state: ProviderResult) -> str:
    if state.currency and state.currency.upper() != payment.currency.upper():
        return (
            f"currency mismatch: the provider holds {state.currency}, the order {payment.currency}"
        )
    if state.amount is not None and state.amount != payment.amount:
        return (
            f"amount mismatch: the provider received {state.amount}, the order is {payment.amount}"
        )
    return ""


def payment_sync(
    *, payment_id: int, state: ProviderResult, event_id: str = "", note: str = ""
) -> Payment:
    """Apply the provider's current record of a payment (re-read, never an event's copy):
    forward moves only; a success is checked (amount, currency) and marks the order paid once;
    a success that does not match, or that arrives for a cancelled order, flags the payment for
    staff and pays nothing; a cancellation at the provider cancels a still-unpaid order."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        payment.synced_at = timezone.now()
        target = state.status
        mismatch = _mismatch(payment, state) if target == PaymentStatus.SUCCEEDED else ""
        if mismatch:
            payment_flag(payment, mismatch)
            payment.raw_response = state.raw
            payment.save()
            return payment
        moved = payment_transition(payment, target)
        if moved:
            payment.raw_response = state.raw
            payment.error = state.failure
        payment.save()
        label = f"event {event_id}" if event_id else (note or "re-read")
        if target == PaymentStatus.SUCCEEDED and payment.status == PaymentStatus.SUCCEEDED:
            order = order_mark_paid(
                order_id=payment.order_id,
                note=f"Payment received ({payment.provider}, {label}).",
                strict=False,
            )
            if order.status == OrderStatus.CANCELLED:
                payment_flag(payment, "paid after the order was cancelled: refund it")
                payment.save(update_fields=["needs_review", "review_reason", "updated_at"])
        elif (
            moved
            and target == PaymentStatus.CANCELLED
            and Order.objects.filter(
                pk=payment.order_id, status=OrderStatus.PENDING_PAYMENT
            ).exists()
        ):
            with contextlib.suppress(InvalidTransition):  # paid or cancelled meanwhile
                order_cancel(
                    order_id=payment.order_id,
                    actor_type="system",
                    note=f"Payment cancelled at {payment.provider} ({label}).",
                )
    return payment


def payment_refresh(*, payment_id: int, note: str = "re-read") -> Payment:
    """Re-read a payment from its provider and apply it (reconciliation, staff's "refresh")."""
    payment = Payment.objects.get(pk=payment_id)
    state = get_provider(payment.provider).retrieve(payment)
    return payment_sync(payment_id=payment.pk, state=state, note=note)
