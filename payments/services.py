"""Payments: create with the order, start after its commit, apply provider events, cancel, refund.

Where each happens:
- payment_create: inside the checkout transaction (a `created` row, nothing called);
- payment_start: after that commit, outside every lock (orders.checkout.checkout_followup), from
  the checkout request itself; a failed start leaves the row `created` and the client's retry of
  the checkout with the same Idempotency-Key starts it again (or payment_start from anywhere);
- payment_event_apply: staff marking a manual payment received moves it forward only, and a
  success marks the order paid;
- payment_sync: what a remote provider (Stripe) holds for the payment, re-read by webhook
  processing and reconciliation, applied forward only (amount and currency checked before the
  order is paid; a mismatch flags the payment for staff instead);
- webhook_receive / webhook_event_process: the signed webhook stored once under its event id,
  then processed by the payment.webhook_process task;
- payment_cancel / payment_refund: run by tasks enqueued when an order is cancelled or refunded;
  payment_refunds_sync books refunds made at the provider itself (charge.refunded) and takes
  back out, once, a refund that failed later (charge.refund.updated, refund.failed);
- payments_reconcile: the beat task's settling of remote payments left pending, and of refunds
  left pending at the provider.

Provider calls carry idempotency keys derived from Payment.uuid and the step, so a retried step
never happens twice at a provider that honours them.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from api.errors import BadRequest, Conflict, NotFound
from payments.models import (
    PAYMENT_TRANSITIONS,
    REFUND_FAILED_TRANSITIONS,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    WebhookEvent,
)
from payments.providers import (
    InvalidProviderEvent,
    PaymentProviderError,
    ProviderEvent,
    ProviderResult,
    get_provider,
    provider_names,
)

logger = logging.getLogger("payments")

# A payment in one of these may still collect money; cancelling the order stops it.
OPEN_STATUSES = (PaymentStatus.CREATED, PaymentStatus.PENDING, PaymentStatus.FAILED)
# A payment in one of these holds money that may be given back.
REFUNDABLE_STATUSES = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)


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
    payment.error = result.failure


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


# -- applying what a remote provider holds --------------------------------------------------------


def _flag(payment: Payment, reason: str) -> None:
    if not payment.needs_review:
        logger.warning("payment needs review", extra={"payment_id": payment.pk, "reason": reason})
    payment.needs_review = True
    if reason not in payment.review_reason:
        payment.review_reason = "\n".join(filter(None, [payment.review_reason, reason]))


class NothingToReview(Conflict):
    code, message = "nothing_to_review", "No payment of this order needs review."


def payment_review_resolve(*, order_id: int, actor: Any, note: str) -> list[Payment]:
    """Staff dealt with what flagged this order's payments (refunded by hand, wrote to the
    customer...): the flags and reasons are cleared, and the order's log keeps both the reasons
    and staff's note. 409 `nothing_to_review` when no payment is flagged. A provider event that
    flags the payment again later flags it anew."""
    from orders import services as order_services

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
        order_services.order_payment_review_resolved(
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
    from orders import services as order_services
    from orders.errors import InvalidTransition
    from orders.models import Order, OrderStatus

    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        payment.synced_at = timezone.now()
        target = state.status
        mismatch = _mismatch(payment, state) if target == PaymentStatus.SUCCEEDED else ""
        if mismatch:
            _flag(payment, mismatch)
            payment.raw_response = state.raw
            payment.save()
            return payment
        moved = target != payment.status and target in PAYMENT_TRANSITIONS.get(payment.status, ())
        if moved:
            payment.status = target
            payment.raw_response = state.raw
            payment.error = state.failure
        payment.save()
        label = f"event {event_id}" if event_id else (note or "re-read")
        if target == PaymentStatus.SUCCEEDED and payment.status == PaymentStatus.SUCCEEDED:
            order = order_services.order_mark_paid(
                order_id=payment.order_id,
                note=f"Payment received ({payment.provider}, {label}).",
                strict=False,
            )
            if order.status == OrderStatus.CANCELLED:
                _flag(payment, "paid after the order was cancelled: refund it")
                payment.save(update_fields=["needs_review", "review_reason", "updated_at"])
        elif (
            moved
            and target == PaymentStatus.CANCELLED
            and Order.objects.filter(
                pk=payment.order_id, status=OrderStatus.PENDING_PAYMENT
            ).exists()
        ):
            with contextlib.suppress(InvalidTransition):  # paid or cancelled meanwhile
                order_services.order_cancel(
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


def _count_refund(payment: Payment, refund: Refund) -> None:
    """Add a refund to the payment once (the caller holds the payment's lock)."""
    if refund.counted or refund.status == RefundStatus.FAILED:
        return
    refund.counted = True
    payment.refunded_amount = min(payment.amount, payment.refunded_amount + refund.amount)
    full = payment.refunded_amount >= payment.amount
    target = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
    if target != payment.status and target in PAYMENT_TRANSITIONS.get(payment.status, ()):
        payment.status = target


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
    if target != payment.status and target in REFUND_FAILED_TRANSITIONS.get(payment.status, ()):
        payment.status = target


def _refund_failed(payment: Payment, refund: Refund, *, reason: str, note: str = "") -> None:
    """A refund the order recorded did not reach the customer: the payment is flagged for staff
    and the order's history says so (the order's refunded total stays: README, Payments).
    Called once per refund, in the transaction that marks it failed."""
    from orders import services as order_services

    message = f"refund {refund.amount} failed at {payment.provider}: {reason or 'no reason given'}"
    _flag(payment, message)
    order_services.order_refund_failed(
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
    from orders import services as order_services
    from orders.errors import InvalidTransition, RefundTooLarge

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
                order_services.order_refund(
                    order_id=payment.order_id,
                    amount=external,
                    note=note or f"Refunded at {payment.provider}.",
                    via_provider=False,
                )
            except (InvalidTransition, RefundTooLarge) as exc:
                _flag(payment, f"refund at the provider not booked on the order: {exc}")
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
    try:
        result = get_provider(payment.provider).refund(
            payment,
            amount=refund.amount,
            idempotency_key=key,
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
        refund.provider_reference = refund.provider_reference or result.reference
        refund.status = result.status
        refund.raw_response = result.raw
        refund.error = ""
        _count_refund(payment, refund)
        refund.save()
        payment.save()
    return payment


# -- webhooks -------------------------------------------------------------------------------------


class WebhookInvalid(BadRequest):
    code, message = "webhook_invalid", "The webhook could not be verified."


def webhook_receive(
    *, provider: str, body: bytes, headers: Mapping[str, str]
) -> tuple[WebhookEvent, bool]:
    """Verify a delivery and store it under its event id; (row, created). A repeated delivery
    (the same id) returns the stored row and changes nothing. Processing is enqueued when the
    row commits. An unverifiable body raises WebhookInvalid (400) and writes nothing."""
    from payments.tasks import webhook_process_task

    # Only providers that sign their webhooks take them (`manual` events are staff's word).
    if provider not in provider_names() or not get_provider(provider).remote:
        raise NotFound("No such payment provider.", code="payment_provider_unknown")
    try:
        event = get_provider(provider).parse_event(body=body, headers=headers)
    except InvalidProviderEvent as exc:
        logger.warning("webhook refused", extra={"provider": provider, "error": str(exc)})
        raise WebhookInvalid(details={"reason": str(exc)}) from None
    try:
        with transaction.atomic():
            row = WebhookEvent.objects.create(
                provider=provider,
                event_id=event.event_id,
                type=event.type[:100],
                reference=event.reference[:255],
                payment_uuid=event.payment_uuid[:36],
                kind=event.kind or "",
                payload=event.raw,
            )
            webhook_process_task.delay_on_commit(row.pk)
    except IntegrityError:
        return WebhookEvent.objects.get(provider=provider, event_id=event.event_id), False
    return row, True


def _event_payment(row: WebhookEvent) -> Payment | None:
    payment = None
    if row.reference:
        payment = Payment.objects.filter(
            provider=row.provider, provider_reference=row.reference
        ).first()
    if payment is None and row.payment_uuid:
        payment = Payment.objects.filter(provider=row.provider, uuid=row.payment_uuid).first()
    return payment


def webhook_event_process(*, event_pk: int) -> WebhookEvent:
    """Act on a stored event, once: the payment it names is re-read from the provider and
    synced (forward only), or its refunds booked; the row is marked processed. Safe to run
    twice or concurrently (each step re-checks under the payment's lock). An error is kept on
    the row and raised, so the task retries."""
    row = WebhookEvent.objects.get(pk=event_pk)
    if row.processed_at is not None:
        return row
    WebhookEvent.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
    try:
        error = _webhook_apply(row)
    except Exception as exc:
        WebhookEvent.objects.filter(pk=row.pk).update(error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    WebhookEvent.objects.filter(pk=row.pk, processed_at__isnull=True).update(
        processed_at=timezone.now(), error=error
    )
    row.refresh_from_db()
    return row


def _webhook_apply(row: WebhookEvent) -> str:
    """Apply one event; the note kept on the row ("" when all went well)."""
    if not row.kind:
        return ""  # a type we do not act on: kept in the ledger only
    payment = _event_payment(row)
    if payment is None:
        return "no payment with this reference"
    if row.kind == "refunded":
        payment_refunds_sync(
            payment_id=payment.pk, note=f"Refunded at {row.provider} ({row.event_id})."
        )
        return ""
    provider = get_provider(row.provider)
    if payment.status == PaymentStatus.CREATED and not payment.provider_reference:
        # The intent exists (the event says so) but its start was never recorded: adopt it.
        Payment.objects.filter(pk=payment.pk, provider_reference="").update(
            provider_reference=row.reference
        )
        payment.provider_reference = row.reference
    state = provider.retrieve(payment) if provider.remote else ProviderResult(status=row.kind)
    payment_sync(payment_id=payment.pk, state=state, event_id=row.event_id)
    return ""


# -- reconciliation -------------------------------------------------------------------------------


def payments_reconcile(*, now=None, limit: int | None = None) -> dict[str, int]:
    """Re-read remote payments still open PAYMENT_RECONCILE_AFTER_MINUTES after they were
    made and settle them (a lost webhook never leaves a paid order unpaid), and the refunds of
    payments with a refund still pending at the provider that long (a lost
    charge.refund.updated never leaves a failed refund counted). Idempotent; one payment's
    provider error does not stop the others, and is raised at the end so the task retries with
    backoff. `checked` / `changed` count payments re-read / whose status or refunded amount
    moved."""
    from datetime import timedelta

    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.PAYMENT_RECONCILE_AFTER_MINUTES)
    batch = limit or settings.PAYMENT_RECONCILE_BATCH
    remote = [name for name in provider_names() if get_provider(name).remote]
    candidates = list(
        Payment.objects.filter(
            provider__in=remote,
            status__in=(PaymentStatus.PENDING, PaymentStatus.FAILED),
            needs_review=False,
            created_at__lt=cutoff,
        )
        .exclude(provider_reference="")
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:batch]
    )
    with_pending_refunds = list(
        Refund.objects.filter(
            payment__provider__in=remote, status=RefundStatus.PENDING, created_at__lt=cutoff
        )
        .exclude(provider_reference="")
        .order_by("payment_id")
        .values_list("payment_id", flat=True)
        .distinct()[:batch]
    )
    counts = {"checked": 0, "changed": 0, "errors": 0}
    last_error: Exception | None = None
    steps = [(pk, payment_refresh) for pk in candidates] + [
        (pk, payment_refunds_sync) for pk in with_pending_refunds
    ]
    for payment_id, step in steps:
        before = (
            Payment.objects.filter(pk=payment_id).values_list("status", "refunded_amount").first()
        )
        try:
            payment = step(payment_id=payment_id, note="reconciliation")
        except PaymentProviderError as exc:
            counts["errors"] += 1
            last_error = exc
            logger.warning("reconcile failed", extra={"payment_id": payment_id, "error": str(exc)})
            continue
        counts["checked"] += 1
        counts["changed"] += (payment.status, payment.refunded_amount) != before
    if counts["checked"] or counts["errors"]:
        logger.info("payments reconciled", extra=counts)
    if last_error is not None:
        raise last_error
    return counts
