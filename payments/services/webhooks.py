"""Provider webhooks: verified and stored once under their event id, then processed by a task.

1. webhook_receive (the request): the signature checked, the row stored (a repeated delivery
   changes nothing), webhook_process_task enqueued when the row commits;
2. webhook_event_process (the task): the payment the event names is re-read from the provider
   and synced, or its refunds booked; the row marked processed, an error kept on it;
3. webhook_events_prune (daily): processed rows older than WEBHOOK_EVENT_KEEP_DAYS go; a row
   never processed stays, for reconciliation and staff.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from api.retention import delete_in_batches, retention_cutoff
from payments.errors import PaymentProviderUnknown, WebhookInvalid
from payments.models import Payment, PaymentStatus, WebhookEvent
from payments.providers import InvalidProviderEvent, ProviderResult, get_provider, provider_names
from payments.services.refunds import payment_refunds_sync
from payments.services.sync import payment_sync
from payments.tasks import webhook_process_task

logger = logging.getLogger("payments")


def webhook_receive(
    *, provider: str, body: bytes, headers: Mapping[str, str]
) -> tuple[WebhookEvent, bool]:
    """Verify a delivery and store it under its event id; (row, created). A repeated delivery
    (the same id) returns the stored row and changes nothing. Processing is enqueued when the
    row commits. An unverifiable body raises WebhookInvalid (400) and writes nothing."""
    # Only providers that sign their webhooks take them (`manual` events are staff's word).
    if provider not in provider_names() or not get_provider(provider).remote:
        raise PaymentProviderUnknown()
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


def webhook_events_prune(*, now: datetime | None = None) -> int:
    """Processed events older than WEBHOOK_EVENT_KEEP_DAYS (long after the provider stopped
    redelivering them); unprocessed ones stay however old."""
    cutoff = retention_cutoff(settings.WEBHOOK_EVENT_KEEP_DAYS, now=now)
    if cutoff is None:
        return 0
    return delete_in_batches(WebhookEvent.objects.filter(processed_at__lt=cutoff))


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
