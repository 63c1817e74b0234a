"""Alerts to staff: low stock (one email per crossing of a variant's threshold), refunds that
failed at the payment provider (one email per failure), and refunds of offline payments that are
staff's to make (one email per refund).

A LowStockAlert row marks a variant staff were told about; it stays while the variant stays low
(no second email) and is removed once stock is back above the threshold (the next crossing alerts
again). One run at a time (a transaction-scoped advisory lock), and the rows and the emails' event
keys are written in the same transaction: a run that fails sends nothing and leaves no row, so
its retry sends the email; a run repeated after success finds the rows and sends nothing.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q

from core.notifications import send_templated_email
from core.selectors import staff_emails
from orders.models import LowStockAlert, OrderEvent
from products.selectors import low_stock_variants

logger = logging.getLogger("orders.alerts")

_LOCK_KEY = 0x4C6F7753  # "LowS": serialises alert runs
MAX_LISTED = 200


def alert_recipients() -> list[str]:
    """LOW_STOCK_ALERT_EMAILS, else every active staff user (every staff alert goes to them)."""
    if settings.LOW_STOCK_ALERT_EMAILS:
        return list(settings.LOW_STOCK_ALERT_EMAILS)
    return staff_emails()


def low_stock_alerts_send() -> int:
    """Alert staff about variants newly at or under their threshold; returns how many."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        # Back above the threshold (or no longer sold): the crossing is over.
        LowStockAlert.objects.filter(
            Q(variant__stock_quantity__gt=F("variant__low_stock_threshold"))
            | Q(variant__is_active=False)
            | Q(variant__product__is_active=False)
        ).delete()
        new = list(low_stock_variants().filter(low_stock_alert__isnull=True))
        if not new:
            return 0
        alerts = LowStockAlert.objects.bulk_create(
            LowStockAlert(
                variant=v, stock_at_alert=v.stock_quantity, threshold=v.low_stock_threshold
            )
            for v in new
        )
        batch = min(alert.pk for alert in alerts)
        context = {
            "variants": [
                {
                    "sku": v.sku,
                    "product": v.product.name,
                    "name": v.name,
                    "stock": v.stock_quantity,
                    "threshold": v.low_stock_threshold,
                }
                for v in new[:MAX_LISTED]
            ],
            "count": len(new),
            "more": max(0, len(new) - MAX_LISTED),
        }
        recipients = alert_recipients()
        for email in recipients:
            send_templated_email(
                template="low_stock_alert",
                to=email,
                context=context,
                event_key=f"low_stock:{batch}:{email}"[:200],
            )
        if not recipients:
            logger.warning("low stock, but nobody to tell", extra={"variants": len(new)})
    logger.info("low stock alert sent", extra={"variants": len(new), "recipients": len(recipients)})
    return len(new)


def refund_failed_alert_send(*, event_id: int) -> int:
    """Email staff that a refund failed at the provider (orders.services.order_refund_failed
    wrote the event): the order, the amount, the reason. Keyed by the event: a retried task sends
    nothing again. Returns how many emails were sent."""
    event = _payment_event(event_id, "refund_failed")
    if event is None:
        return 0
    order = event.order
    context = {
        "number": order.number,
        "amount": event.data["refund_failed"],
        "currency": order.currency,
        "reason": event.data.get("reason") or "no reason given",
        "refunded_total": order.refunded_total,
        "status": order.get_status_display(),
    }
    return _payment_alert_send(
        event, "refund_failed", context, "a refund failed, but nobody to tell"
    )


def refund_due_alert_send(*, event_id: int) -> int:
    """Email staff that a refund of an offline payment is theirs to make (the order, the amount,
    to whom). Keyed by the event: a retried task sends nothing again. How many were sent."""
    event = _payment_event(event_id, "refund_due")
    if event is None:
        return 0
    order = event.order
    context = {
        "number": order.number,
        "amount": event.data["refund_due"],
        "currency": order.currency,
        "to": event.data.get("to") or order.email,
        "provider": order.payment_provider,
    }
    return _payment_alert_send(event, "refund_due", context, "a refund is due, but nobody to tell")


def _payment_event(event_id: int, what: str) -> OrderEvent | None:
    """The payment event `event_id` with its order, if it records `what`."""
    event = (
        OrderEvent.objects.select_related("order")
        .filter(pk=event_id, kind=OrderEvent.Kind.PAYMENT)
        .first()
    )
    return event if event is not None and what in event.data else None


def _payment_alert_send(event: OrderEvent, what: str, context: dict, nobody: str) -> int:
    """`<what>_alert` to every alert recipient, once per (event, recipient); how many were sent."""
    recipients = alert_recipients()
    if not recipients:
        logger.warning(nobody, extra={"order": event.order.number})
    return sum(
        send_templated_email(
            template=f"{what}_alert",
            to=email,
            context=context,
            event_key=f"{what}:{event.pk}:{email}"[:200],
        )
        for email in recipients
    )
