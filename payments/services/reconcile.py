"""Reconciliation (beat): what webhooks may have missed, re-read from the provider, and what
the tasks left undone when their retries ran out (refunds never sent, cancels not made,
webhooks stored but not processed), done again; every step is idempotent."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from orders.models import OrderStatus
from payments.models import Payment, PaymentStatus, Refund, RefundStatus, WebhookEvent
from payments.providers import PaymentProviderError, get_provider, provider_names
from payments.services.lifecycle import payment_cancel
from payments.services.refunds import payment_refund_resend, payment_refunds_sync
from payments.services.sync import payment_refresh
from payments.services.webhooks import webhook_event_process
from payments.state import OPEN_STATUSES

logger = logging.getLogger("payments")


def payments_reconcile(*, now=None, limit: int | None = None) -> dict[str, int]:
    """Re-read remote payments still open PAYMENT_RECONCILE_AFTER_MINUTES after they were
    made and settle them (a lost webhook never leaves a paid order unpaid), and the refunds of
    payments with a refund still pending at the provider that long (a lost
    charge.refund.updated never leaves a failed refund counted). Idempotent; one payment's
    provider error does not stop the others, and is raised at the end so the task retries with
    backoff. `checked` / `changed` count payments re-read / whose status or refunded amount
    moved."""
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
    counts = {
        "checked": 0,
        "changed": 0,
        "errors": 0,
        "refunds_resent": 0,
        "cancels_done": 0,
        "webhooks_processed": 0,
    }
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
    undone_error = _finish_undone(cutoff=cutoff, batch=batch, remote=remote, counts=counts)
    if any(counts.values()):
        logger.info("payments reconciled", extra=counts)
    if last_error or undone_error:
        raise last_error or undone_error
    return counts


def _finish_undone(
    *, cutoff, batch: int, remote: list[str], counts: dict[str, int]
) -> Exception | None:
    """Refunds recorded but never acknowledged by the provider, open payments of cancelled
    orders, and webhook rows never processed, older than the cutoff: each done again (its own
    idempotency key, its state re-checked under lock). One error does not stop the others; the
    last is returned, and raised by the caller so the beat task retries."""
    unsent_refunds = Refund.objects.filter(
        payment__provider__in=remote,
        status=RefundStatus.PENDING,
        provider_reference="",
        created_at__lt=cutoff,
    ).order_by("pk")
    open_of_cancelled = Payment.objects.filter(
        provider__in=remote,
        status__in=OPEN_STATUSES,
        order__status=OrderStatus.CANCELLED,
        created_at__lt=cutoff,
    ).order_by("pk")
    unprocessed = WebhookEvent.objects.filter(
        processed_at__isnull=True, received_at__lt=cutoff
    ).order_by("pk")
    steps = [
        *(
            ("refunds_resent", lambda pk=pk: payment_refund_resend(refund_id=pk))
            for pk in unsent_refunds.values_list("pk", flat=True)[:batch]
        ),
        *(
            ("cancels_done", lambda pk=pk: payment_cancel(order_id=pk))
            for pk in open_of_cancelled.values_list("order_id", flat=True)[:batch]
        ),
        *(
            ("webhooks_processed", lambda pk=pk: webhook_event_process(event_pk=pk))
            for pk in unprocessed.values_list("pk", flat=True)[:batch]
        ),
    ]
    last_error: Exception | None = None
    for kind, step in steps:
        try:
            step()
        except Exception as exc:  # a provider error, or one row's own: the others go on
            counts["errors"] += 1
            last_error = exc
            logger.warning("reconcile step failed", extra={"step": kind, "error": str(exc)})
            continue
        counts[kind] += 1
    return last_error
