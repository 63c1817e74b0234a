"""Reconciliation (beat): what webhooks may have missed, re-read from the provider."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.providers import PaymentProviderError, get_provider, provider_names
from payments.services.refunds import payment_refunds_sync
from payments.services.sync import payment_refresh

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
