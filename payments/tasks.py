"""Provider calls that follow an order's cancellation or refund, and webhook processing: idempotent
(payments.services re-checks the payment's state and the refund's key), and retried over hours,
not seconds (PROVIDER_RETRY): a provider that is down for an hour must not leave a refund
recorded and never sent. Only after that does a job become a FailedTask, and reconciliation
(maintenance.payment_reconcile) still finds what is left undone."""

from __future__ import annotations

import logging
from decimal import Decimal

from celery import shared_task

logger = logging.getLogger("payments.tasks")

# Capped exponential backoff with jitter: 30 s doubling to at most 30 min (below the Redis
# broker's visibility timeout), 16 attempts: about three to five and a half hours in all.
PROVIDER_RETRY = {"max_retries": 15, "backoff_base": 30.0, "backoff_max": 1800.0}


@shared_task(name="maintenance.payment_cancel", **PROVIDER_RETRY)
def payment_cancel_task(order_id: int) -> str | None:
    from payments.services import payment_cancel

    payment = payment_cancel(order_id=order_id)
    return payment.status if payment else None


@shared_task(name="maintenance.payment_refund", **PROVIDER_RETRY)
def payment_refund_task(
    order_id: int, amount: str, refund_key: str, restock: bool = False
) -> str | None:
    from payments.services import payment_refund

    payment = payment_refund(
        order_id=order_id, amount=Decimal(amount), refund_key=refund_key, restock=restock
    )
    return payment.status if payment else None


@shared_task(name="maintenance.payment_collected")
def payment_collected_task(order_id: int) -> str | None:
    """A cash-on-delivery order was delivered: its payment is recorded as received."""
    from payments.services import payment_record_collected

    payment = payment_record_collected(order_id=order_id)
    return payment.status if payment else None


@shared_task(name="payment.webhook_process", **PROVIDER_RETRY)
def webhook_process_task(event_pk: int) -> str:
    """A stored provider webhook, acted on once (payments.services.webhook_event_process)."""
    from payments.services import webhook_event_process

    row = webhook_event_process(event_pk=event_pk)
    return row.error or "processed"


@shared_task(name="maintenance.payment_reconcile")
def payments_reconcile_task(limit: int | None = None) -> dict:
    """Beat: settle remote payments left pending (lost webhooks); retried with backoff."""
    from payments.services import payments_reconcile

    return payments_reconcile(limit=limit)


@shared_task(name="maintenance.prune_webhook_events")
def webhook_events_prune_task() -> int:
    """Daily (beat): processed webhook events older than WEBHOOK_EVENT_KEEP_DAYS."""
    from payments.services.webhooks import webhook_events_prune

    deleted = webhook_events_prune()
    logger.info("pruned", extra={"table": "webhook events", "deleted": deleted})
    return deleted
