"""Refunds: given back through the provider once per key, and booked from what the provider holds.

1. payment_refund (a task enqueued when the order records a refund): a Refund row first, its key
   and uuid sent to the provider, then counted into the payment once;
2. payment_refunds_sync (webhooks, reconciliation): the provider's refunds applied each once:
   refunds made in the provider's dashboard are booked on the order; one that failed later is
   taken back out of the payment once and flagged for staff.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from orders.errors import InvalidTransition, RefundTooLarge
from orders.services import order_refund, order_refund_due, order_refund_failed, order_refund_sent
from payments.errors import RefundNotDue, RefundNotFound
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.providers import PaymentProviderError, get_provider
from payments.services.sync import payment_flag
from payments.state import REFUND_FAILED_TRANSITIONS, REFUNDABLE_STATUSES, payment_transition


def _count_refund(payment: Payment, refund: Refund) -> None:
    """Add a refund to the payment once (the caller holds the payment's lock)."""
    if refund.counted or refund.status == RefundStatus.FAILED:
        return
    refund.counted = True
    payment.refunded_amount = min(payment.amount, payment.refunded_amount + refund.amount)
    full = payment.refunded_amount >= payment.amount
    payment_transition(
        payment, PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
    )


def _uncount_refund(payment: Payment, refund: Refund) -> None:
    """Take a counted refund that failed back out of the payment, once (`counted` guards it;
    the caller holds the payment's lock): the status goes back as REFUND_FAILED_TRANSITIONS
    allows."""
    if not refund.counted:
        return
    refund.counted = False
    payment.refunded_amount = max(Decimal("0.00"), payment.refunded_amount - refund.amount)
    target = (
        PaymentStatus.PARTIALLY_REFUNDED if payment.refunded_amount else PaymentStatus.SUCCEEDED
    )
    payment_transition(payment, target, table=REFUND_FAILED_TRANSITIONS)


def _refund_failed(payment: Payment, refund: Refund, *, reason: str, note: str = "") -> None:
    """A refund the order recorded did not reach the customer: the payment is flagged for staff
    and the order's history says so (the order's refunded total stays: docs/payments.md).
    Called once per refund, in the transaction that marks it failed."""
    message = f"refund {refund.amount} failed at {payment.provider}: {reason or 'no reason given'}"
    payment_flag(payment, message)
    order_refund_failed(
        order_id=payment.order_id,
        amount=refund.amount,
        reason=reason,
        note=f"{message[:1].upper()}{message[1:]}{f' ({note})' if note else ''}.",
        data={"refund_id": refund.pk, "payment_id": payment.pk},
    )


def payment_refunds_sync(*, payment_id: int, note: str = "") -> Payment:
    """Apply the refunds the provider holds now (charge.refunded, charge.refund.updated...):
    each once, matched by the provider's id or by our Refund.uuid in its metadata, so a refund
    staff asked for through us is never counted twice. Refunds we do not know (made in Stripe's
    dashboard) are booked, and the order's refunded total follows. A known refund that failed
    since (the card was closed) is taken back out of the payment once and flagged for staff."""
    payment = Payment.objects.get(pk=payment_id)
    held = get_provider(payment.provider).refunds(payment)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        external = Decimal("0.00")
        for item in held:
            refund = Refund.objects.filter(
                payment=payment, provider_reference=item.reference
            ).first()
            if refund is None and item.refund_uuid:
                refund = Refund.objects.filter(payment=payment, uuid=item.refund_uuid).first()
            if refund is None:
                if item.status == RefundStatus.FAILED:
                    continue
                refund = Refund(
                    payment=payment,
                    amount=item.amount,
                    currency=payment.currency,
                    source=Refund.Source.PROVIDER,
                    idempotency_key=f"{payment.provider}-{item.reference}",
                )
                external += item.amount
            newly_failed = (
                item.status == RefundStatus.FAILED and refund.status != RefundStatus.FAILED
            )
            refund.provider_reference = item.reference
            refund.status = item.status
            refund.raw_response = item.raw
            if item.status == RefundStatus.FAILED:
                refund.error = item.failure or refund.error
                _uncount_refund(payment, refund)
            else:
                _count_refund(payment, refund)
            refund.save()
            if newly_failed:
                _refund_failed(payment, refund, reason=item.failure, note=note)
        payment.save()
        if external > 0:
            try:
                order_refund(
                    order_id=payment.order_id,
                    amount=external,
                    note=note or f"Refunded at {payment.provider}.",
                    via_provider=False,
                )
            except (InvalidTransition, RefundTooLarge) as exc:
                payment_flag(payment, f"refund at the provider not booked on the order: {exc}")
                payment.save(update_fields=["needs_review", "review_reason", "updated_at"])
    return payment


def payment_refund(
    *, order_id: int, amount: Decimal, refund_key: str, restock: bool = False
) -> Payment | None:
    """Give `amount` back through the provider, once per `refund_key` (the order event that
    recorded the refund): a Refund row is written first (its idempotency key and uuid travel to
    the provider), then the provider is called with that key, then the refund is counted into
    the payment once. A provider that refuses for good marks the refund failed, flags the
    payment and tells staff (as a refund failing later does); a retryable failure raises (the
    task retries with the same key)."""
    payment = (
        Payment.objects.filter(order_id=order_id, status__in=REFUNDABLE_STATUSES)
        .order_by("-created_at")
        .first()
    )
    if payment is None:
        return None  # nothing was collected through a provider: nothing to give back
    key = f"payment-{payment.uuid}-refund-{refund_key}"
    refund, _ = Refund.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "payment": payment,
            "amount": amount,
            "currency": payment.currency,
            "restock": restock,
        },
    )
    if refund.status != RefundStatus.PENDING:
        return payment
    return _refund_send(payment, refund)


def payment_refund_resend(*, refund_id: int) -> Payment:
    """A refund recorded but never acknowledged by the provider (its task ran out of retries, or
    never ran): sent again under its own idempotency key, so it happens once (reconciliation)."""
    refund = Refund.objects.select_related("payment__order").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING or refund.provider_reference:
        return refund.payment
    return _refund_send(refund.payment, refund)


def _refund_send(payment: Payment, refund: Refund) -> Payment:
    """Call the provider for a pending Refund row and record its answer once."""
    try:
        result = get_provider(payment.provider).refund(
            payment,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            metadata={"refund_uuid": str(refund.uuid), "order_number": payment.order.number},
        )
    except PaymentProviderError as exc:
        if exc.retryable:
            Refund.objects.filter(pk=refund.pk).update(error=str(exc)[:2000])
            raise
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(pk=payment.pk)
            refund = Refund.objects.select_for_update().get(pk=refund.pk)
            if refund.status != RefundStatus.FAILED:  # else a concurrent run recorded it
                refund.status, refund.error = RefundStatus.FAILED, str(exc)[:2000]
                refund.save(update_fields=["status", "error", "updated_at"])
                _refund_failed(payment, refund, reason=f"refused ({exc})")
                payment.save()
        return payment
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status == RefundStatus.FAILED:
            # A re-read of the refunds (its failure event) got here first: that answer is newer
            # than this create's, and a failed refund never succeeds later.
            return payment
        first_answer = not refund.provider_reference
        refund.provider_reference = refund.provider_reference or result.reference
        refund.status = result.status
        refund.raw_response = result.raw
        refund.error = ""
        due = get_provider(payment.provider).offline and result.status == RefundStatus.PENDING
        if not due:
            _count_refund(payment, refund)
        refund.save()
        payment.save()
        if due and first_answer:
            # Staff give the money back outside the shop: a task for them, done when confirmed.
            order_refund_due(
                order_id=payment.order_id,
                amount=refund.amount,
                data={"refund_id": refund.pk, "payment_id": payment.pk},
            )
    return payment


@transaction.atomic
def payment_refund_confirm(*, refund_id: int, actor: Any, note: str = "") -> Refund:
    """Staff sent an offline payment's refund (a bank transfer back, cash): it is done, counted
    into the payment once, and the order's log says who confirmed it. 409 `refund_not_due` for
    any other refund (a card refund, one confirmed already)."""
    refund = Refund.objects.select_for_update().select_related("payment").filter(pk=refund_id)
    refund = refund.first()
    if refund is None:
        raise RefundNotFound()
    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    if refund.status != RefundStatus.PENDING or not get_provider(payment.provider).offline:
        raise RefundNotDue(details={"refund_id": refund.pk, "status": refund.status})
    refund.status = RefundStatus.SUCCEEDED
    refund.confirmed_at = timezone.now()
    refund.confirmed_by = actor if getattr(actor, "pk", None) else None
    refund.confirmation_note = note[:500]
    _count_refund(payment, refund)
    refund.save()
    payment.save()
    order_refund_sent(
        order_id=payment.order_id,
        amount=refund.amount,
        actor=actor,
        note=note,
        data={"refund_id": refund.pk},
    )
    return refund
