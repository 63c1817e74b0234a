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
def payment_refund_task(order_id: int, amount: str, refund_key: str) -> str | None:
    from payments.services import payment_refund

    payment = payment_refund(order_id=order_id, amount=Decimal(amount), refund_key=refund_key)
    return payment.status if payment else None
