"""The order status machine (docs/architecture.md §4): the only transitions there are.

    pending_payment -> paid -> shipped -> delivered
    pending_payment -> shipped, for a provider that ships unpaid (cash on delivery: paid on
        delivery, or when staff mark it paid)
    pending_payment | paid -> cancelled
    paid | shipped | delivered -> partially_refunded | refunded
    partially_refunded -> refunded (the rest), or on to shipped / delivered when it had not got
        there yet (a line refunded before the rest of the order ships)

orders.services.order_transition applies one under the order's row lock and records it as an
OrderEvent; anything not listed here is a 409 `invalid_transition`.
"""

from __future__ import annotations

from orders.models import Order, OrderStatus
from payments.providers import get_provider, provider_names

S = OrderStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.SHIPPED, S.CANCELLED}),
    S.PAID: frozenset({S.SHIPPED, S.CANCELLED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.DELIVERED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.SHIPPED, S.DELIVERED, S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}

# The timestamp each status sets when entered.
ENTERED_AT = {
    S.PAID: "paid_at",
    S.SHIPPED: "shipped_at",
    S.DELIVERED: "delivered_at",
    S.CANCELLED: "cancelled_at",
    S.PARTIALLY_REFUNDED: "refunded_at",  # the last refund's time
    S.REFUNDED: "refunded_at",
}

# What a customer may do themselves.
CUSTOMER_CANCELLABLE = frozenset({S.PENDING_PAYMENT, S.PAID})


def ships_unpaid(order: Order) -> bool:
    """Whether the order's provider ships before payment (cash on delivery)."""
    return (
        order.payment_provider in provider_names()
        and get_provider(order.payment_provider).ships_unpaid
    )


def allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def allowed_for(order: Order, to_status: str) -> bool:
    """`allowed`, and never back to a fulfilment step the order went through already: a
    partially refunded order ships only if it had not shipped, is delivered only once shipped."""
    if not allowed(order.status, to_status):
        return False
    if order.status == S.PENDING_PAYMENT and to_status == S.SHIPPED:
        return ships_unpaid(order)
    if order.status != S.PARTIALLY_REFUNDED:
        return True
    if to_status == S.SHIPPED:
        return order.shipped_at is None
    if to_status == S.DELIVERED:
        return order.shipped_at is not None and order.delivered_at is None
    return True
