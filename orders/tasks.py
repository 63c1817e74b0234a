"""Order tasks: thin, by id, safe to run twice (emails carry event keys; the rest re-check state).

Names follow the routing rule (api.celery.route_task): the email queues, `reports.*`,
`inventory.adjust`, and `maintenance.*` on the default queue.
"""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger("orders.tasks")


def _order(order_id: int):
    from orders.models import Order

    return Order.objects.filter(pk=order_id).first()


def _send(template: str, order_id: int, *, key: str, **extra) -> bool:
    from core.notifications import send_templated_email
    from orders.emails import order_email_context

    order = _order(order_id)
    if order is None:
        return False
    return send_templated_email(
        template=template,
        to=order.email,
        context={**order_email_context(order), **extra},
        event_key=f"{key}:{order.pk}",
    )


@shared_task(name="email.send_order_confirmation")
def order_confirmation_send_task(order_id: int) -> bool:
    return _send("order_confirmation", order_id, key="order_confirmation")


@shared_task(name="email.send_payment_received")
def payment_received_send_task(order_id: int) -> bool:
    return _send("payment_received", order_id, key="payment_received")


@shared_task(name="email.send_order_shipped")
def order_shipped_send_task(order_id: int) -> bool:
    return _send("order_shipped", order_id, key="order_shipped")


@shared_task(name="email.send_order_delivered")
def order_delivered_send_task(order_id: int) -> bool:
    return _send("order_delivered", order_id, key="order_delivered")


@shared_task(name="email.send_order_cancelled")
def order_cancelled_send_task(order_id: int) -> bool:
    return _send("order_cancelled", order_id, key="order_cancelled")


@shared_task(name="email.send_order_refunded")
def order_refunded_send_task(order_id: int, event_id: int) -> bool:
    """One email per refund (an order may be refunded in several parts): keyed by its event."""
    from orders.models import OrderEvent

    event = OrderEvent.objects.filter(pk=event_id, order_id=order_id).first()
    if event is None:
        return False
    return _send(
        "order_refunded",
        order_id,
        key=f"order_refunded:{event_id}",
        refund_amount=event.data.get("refund", ""),
        refund_complete=event.to_status == "refunded",
    )


@shared_task(name="email.send_low_stock_alert")
def low_stock_alert_send_task() -> int:
    """Beat (and after a checkout that crossed a threshold): email staff the variants that went
    low since the last alert; one email per crossing."""
    from orders.alerts import low_stock_alerts_send

    return low_stock_alerts_send()


@shared_task(name="email.send_refund_due_alert")
def refund_due_alert_send_task(event_id: int) -> int:
    """Staff owe a customer a refund of an offline payment (orders.services.order_refund_due)."""
    from orders.alerts import refund_due_alert_send

    return refund_due_alert_send(event_id=event_id)


@shared_task(name="email.send_refund_failed_alert")
def refund_failed_alert_send_task(event_id: int) -> int:
    """Tell staff a refund failed at the provider (the order's payment event); once per event."""
    from orders.alerts import refund_failed_alert_send

    return refund_failed_alert_send(event_id=event_id)


@shared_task(name="maintenance.cancel_unpaid_orders")
def orders_cancel_unpaid_task(limit: int = 500) -> int:
    """Beat: cancel the unpaid orders past their hold, each one's payment re-read first."""
    from orders.services import orders_cancel_unpaid
    from payments.services import payment_expiry_check

    return len(orders_cancel_unpaid(limit=limit, may_cancel=payment_expiry_check))


@shared_task(name="maintenance.purge_stale_carts")
def carts_purge_stale_task() -> int:
    from cart.services import carts_purge_stale

    return carts_purge_stale()


@shared_task(name="reports.daily_sales")
def sales_report_daily_task(day: str | None = None, days: int = 1) -> list[str]:
    """SalesReport rows for `day` (ISO date) or for the `days` days up to yesterday, and the
    products' sales counts; rewriting a day's row is harmless, so a rerun changes nothing."""
    from orders.reports import product_sales_counts_refresh, sales_reports_write

    written = [str(report.date) for report in sales_reports_write(day=day, days=days)]
    product_sales_counts_refresh()  # the popularity sort follows what sold
    return written


@shared_task(name="inventory.adjust")
def inventory_upload_process_task(upload_id: int) -> str:
    """Apply a staff inventory CSV, once (the upload row is locked and marked done with it)."""
    from orders.inventory import inventory_upload_process

    return inventory_upload_process(upload_id=upload_id).status
