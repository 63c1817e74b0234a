"""Provider calls that follow an order's cancellation or refund: retried with backoff (BaseTask),
idempotent (payments.services re-checks the payment's state and the refund's key)."""

from __future__ import annotations

from decimal import Decimal

from celery import shared_task


@shared_task(name="maintenance.payment_cancel")
def payment_cancel_task(order_id: int) -> str | None:
    from payments.services import payment_cancel

    payment = payment_cancel(order_id=order_id)
    return payment.status if payment else None


@shared_task(name="maintenance.payment_refund")
def payment_refund_task(
    order_id: int, amount: str, refund_key: str, restock: bool = False
) -> str | None:
    from payments.services import payment_refund

    payment = payment_refund(
        order_id=order_id, amount=Decimal(amount), refund_key=refund_key, restock=restock
    )
    return payment.status if payment else None


@shared_task(name="payment.webhook_process")
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
