"""What other systems hear of orders: the one place an OrderEvent becomes an `order.*` webhook
(webhooks/, docs/webhooks.md), and the order data they get.

Every OrderEvent that matters to them is written by the checkout (placed) or orders.services
(status changes, a further partial refund, money collected on delivery), each of which passes
the event here in its transaction:

    placed                               -> order.created
    status: paid / shipped / delivered / cancelled
                                         -> order.paid / .shipped / .delivered / .cancelled
    status: partially_refunded / refunded, or a further partial refund
                                         -> order.refunded (with the refund's amount)
    payment collected on delivery        -> order.paid (the status stays delivered)
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from ninja import Schema

from orders.models import Order, OrderEvent, OrderStatus
from webhooks.models import EventType
from webhooks.services import webhook_events_record

S = OrderStatus
STATUS_WEBHOOKS = {
    S.PAID: EventType.ORDER_PAID,
    S.SHIPPED: EventType.ORDER_SHIPPED,
    S.DELIVERED: EventType.ORDER_DELIVERED,
    S.CANCELLED: EventType.ORDER_CANCELLED,
    S.PARTIALLY_REFUNDED: EventType.ORDER_REFUNDED,
    S.REFUNDED: EventType.ORDER_REFUNDED,
}


class OrderWebhookLine(Schema):
    sku: str
    product_id: int | None
    variant_id: int | None
    product_name: str
    variant_name: str
    quantity: int
    quantity_refunded: int
    unit_price: Decimal
    line_total: Decimal


class OrderWebhookData(Schema):
    """`data` of every order.* event: the order as it was when the event happened."""

    id: int
    number: str
    status: str
    email: str
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    grand_total: Decimal
    refunded_total: Decimal
    coupon_code: str
    payment_provider: str
    tracking_number: str
    carrier: str
    shipping_address: dict[str, Any]
    placed_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    lines: list[OrderWebhookLine]
    previous_status: str | None = None
    refund_amount: Decimal | None = None

    @staticmethod
    def resolve_lines(order: Order) -> list:
        return list(order.lines.order_by("id"))


def order_webhook_type(event: OrderEvent) -> str | None:
    """Which webhook an order's event is, if any (the table above)."""
    if event.kind == OrderEvent.Kind.PLACED:
        return EventType.ORDER_CREATED
    if event.kind == OrderEvent.Kind.STATUS:
        return STATUS_WEBHOOKS.get(event.to_status)
    if event.kind == OrderEvent.Kind.PAYMENT:
        if "refund" in event.data:
            return EventType.ORDER_REFUNDED
        if "paid" in event.data:
            return EventType.ORDER_PAID
    return None


def order_webhook_record(*, order: Order, event: OrderEvent) -> None:
    """In the transaction that wrote `event`: the webhook it is, for the endpoints that want it
    (nothing is built when none does)."""
    event_type = order_webhook_type(event)
    if event_type is None:
        return

    def build() -> list[tuple[str, dict[str, Any]]]:
        data = OrderWebhookData.from_orm(order).model_dump(mode="json")
        data["previous_status"] = event.from_status or None
        refund = event.data.get("refund")
        data["refund_amount"] = str(refund) if refund is not None else None
        return [(order.number, data)]

    webhook_events_record(event_type=event_type, build=build)
