"""A payment's life with its provider: created with the order, started after the commit,
moved by what the provider says, cancelled with the order.

1. payment_create: inside the checkout transaction (a `created` row, nothing called);
2. payment_start: after that commit, outside every lock (orders.checkout.checkout_followup); a
   failed start leaves the row `created` and the client's retry of the checkout with the same
   Idempotency-Key starts it again (or payment_start from anywhere);
3. payment_event_apply: an event moves the payment forward only, and a success marks the order
   paid (staff marking a manual payment received: payment_record_manual);
4. payment_cancel: run by a task enqueued when the order is cancelled.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from orders.errors import InvalidTransition
from orders.models import Order, OrderStatus
from orders.services import order_mark_paid
from payments.errors import PaymentNotFound, PaymentNotManual, PaymentOrderCancelled
from payments.models import Payment, PaymentStatus
from payments.providers import PaymentProviderError, ProviderEvent, ProviderResult, get_provider
from payments.services.sync import payment_sync
from payments.state import OPEN_STATUSES, payment_transition

logger = logging.getLogger("payments")


def payment_create(*, order: Any, provider: str) -> Payment:
    """The order's payment row, in the checkout transaction; the provider is not called yet."""
    get_provider(provider)  # KeyError for an unknown name: the checkout validated it first
    return Payment.objects.create(
        order=order, provider=provider, amount=order.grand_total, currency=order.currency
    )


def _record(payment: Payment, result: ProviderResult) -> None:
    if result.status != payment.status and not payment_transition(payment, result.status):
        logger.warning(
            "payment status not moved backwards",
            extra={"payment_id": payment.pk, "from": payment.status, "to": result.status},
        )
    if result.reference:
        payment.provider_reference = result.reference
    if result.client_data:
        payment.client_data = result.client_data
    payment.raw_response = result.raw
    payment.error = result.failure


# What a start records (`_record`), stored by one conditional UPDATE.
_START_FIELDS = ("status", "provider_reference", "client_data", "raw_response", "error")


def payment_start(*, payment_id: int | None = None, payment: Payment | None = None) -> Payment:
    """Start collecting the payment (by id, or the instance, its order loaded) with its
    provider; idempotent (a started payment is returned as it is). Raises PaymentProviderError
    when the provider fails: the row stays `created` and a later call tries again with the same
    idempotency key.

    The answer is recorded on the instance given and stored only if the row is still `created`
    (one conditional UPDATE, no lock held across the provider's call): that instance is
    returned. If a concurrent start or event moved the row first, the row as it is now is
    returned instead."""
    if payment is None:
        payment = Payment.objects.select_related("order").get(pk=payment_id)
    if payment.status != PaymentStatus.CREATED:
        return payment
    if payment.order.status == OrderStatus.CANCELLED:
        raise PaymentOrderCancelled(details={"order_number": payment.order.number})
    provider = get_provider(payment.provider)
    try:
        result = provider.start(payment, idempotency_key=f"payment-{payment.uuid}-start")
    except PaymentProviderError as exc:
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.CREATED).update(
            error=str(exc)[:2000]
        )
        logger.warning("payment start failed", extra={"payment_id": payment.pk, "error": str(exc)})
        raise
    _record(payment, result)
    payment.updated_at = timezone.now()
    recorded = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.CREATED).update(
        updated_at=payment.updated_at, **{name: getattr(payment, name) for name in _START_FIELDS}
    )
    if not recorded:  # a concurrent start (or event) recorded its own first
        payment = Payment.objects.select_related("order").get(pk=payment.pk)
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
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .filter(provider=provider, provider_reference=event.reference)
            .first()
        )
        if payment is None:
            raise PaymentNotFound()
        target = event.kind
        if payment_transition(payment, target):
            payment.raw_response = {"event_id": event.event_id, **event.raw}
            payment.save(update_fields=["status", "raw_response", "updated_at"])
        if target == PaymentStatus.SUCCEEDED and payment.status == PaymentStatus.SUCCEEDED:
            order_mark_paid(
                order_id=payment.order_id,
                actor=actor,
                note=f"Payment {event.event_id} received ({provider}).",
                strict=False,
            )
    return payment


def payment_record_manual(*, order: Any, actor: Any = None, note: str = "") -> Payment:
    """Staff say the money of an offline payment (bank transfer, cash on delivery) arrived: the
    provider's event, applied while the order is locked, so a cancellation cannot slip in
    between the check and the payment. An order pending payment becomes paid; a cash-on-delivery
    order already shipped keeps its status and gets its paid_at."""
    payment = payment_for_order(order.pk)
    if payment is None or not get_provider(payment.provider).offline:
        raise PaymentNotManual()
    if payment.status == PaymentStatus.CREATED:
        payment = payment_start(payment=payment)  # nothing leaves the building: no lock issue
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        shipped_unpaid = locked.paid_at is None and locked.status in (
            OrderStatus.SHIPPED,
            OrderStatus.DELIVERED,
        )
        if locked.status != OrderStatus.PENDING_PAYMENT and not shipped_unpaid:
            raise InvalidTransition(
                details={"number": locked.number, "status": locked.status, "to": "paid"}
            )
        return _manual_event_apply(payment, actor=actor, note=note)


def payment_record_collected(*, order_id: int) -> Payment | None:
    """The order was paid on delivery (orders.services.order_deliver noted it on the order): its
    offline payment is marked received. Idempotent."""
    payment = payment_for_order(order_id)
    if payment is None or payment.status == PaymentStatus.SUCCEEDED:
        return payment
    if not get_provider(payment.provider).offline:
        return payment
    if payment.status == PaymentStatus.CREATED:
        payment = payment_start(payment=payment)
    return _manual_event_apply(payment, actor=None, note="Paid on delivery.")


def _manual_event_apply(payment: Payment, *, actor: Any, note: str) -> Payment:
    provider = get_provider(payment.provider)
    body = json.dumps(
        {
            "id": f"{payment.provider}-{payment.uuid}-paid",
            "reference": payment.provider_reference,
            "kind": "succeeded",
            "amount": str(payment.amount),
            "note": note,
            "actor_id": getattr(actor, "pk", None),
        }
    ).encode()
    event = provider.parse_event(body=body, headers={})
    return payment_event_apply(provider=payment.provider, event=event, actor=actor)


def payment_cancel(*, order_id: int) -> Payment | None:
    """Stop the order's open payment at its provider (the order was cancelled); idempotent. A
    payment that succeeded meanwhile at the provider is synced instead (and, its order being
    cancelled, flagged for staff to refund)."""
    payment = payment_for_order(order_id)
    if payment is None or payment.status not in OPEN_STATUSES:
        return payment
    result = get_provider(payment.provider).cancel(
        payment, idempotency_key=f"payment-{payment.uuid}-cancel"
    )
    if result.status != PaymentStatus.CANCELLED:
        return payment_sync(payment_id=payment.pk, state=result, note="cancel refused")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status in OPEN_STATUSES:
            _record(payment, result)
            payment.status = PaymentStatus.CANCELLED
            payment.save()
    return payment


def payment_expiry_check(order_id: int) -> bool:
    """Before an unpaid order is cancelled: may it be? Its payment is re-read at a remote
    provider first. A payment that succeeded pays the order (through payment_sync: no), one the
    provider is still processing (a bank debit, 3-D Secure under way) keeps it (no); a provider
    that does not answer keeps it too, until the next run (no: cancelling would refund money
    that may be arriving). Offline and missing payments: yes."""
    payment = payment_for_order(order_id)
    if payment is None or not get_provider(payment.provider).remote:
        return True
    if not payment.provider_reference:
        return True  # never started at the provider: nothing can arrive
    try:
        state = get_provider(payment.provider).retrieve(payment)
    except PaymentProviderError:
        logger.warning("expiry re-read failed; order kept", extra={"payment_id": payment.pk})
        return False
    payment = payment_sync(payment_id=payment.pk, state=state, note="re-read before expiry")
    if payment.status == PaymentStatus.SUCCEEDED:
        return False
    return not state.processing
