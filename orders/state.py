"""The order status machine (DESIGN.md §4): the only transitions there are.

    pending_payment -> paid -> shipped -> delivered
    pending_payment | paid -> cancelled
    paid | shipped | delivered -> refunded (partial or full)

orders.services.order_transition applies one under the order's row lock and records it as an
OrderEvent; anything not listed here is a 409 `invalid_transition`.
"""

from __future__ import annotations

from orders.models import OrderStatus

S = OrderStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.SHIPPED, S.CANCELLED, S.REFUNDED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.REFUNDED}),
    S.DELIVERED: frozenset({S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}

# The timestamp each status sets when entered.
ENTERED_AT = {
    S.PAID: "paid_at",
    S.SHIPPED: "shipped_at",
    S.DELIVERED: "delivered_at",
    S.CANCELLED: "cancelled_at",
    S.REFUNDED: "refunded_at",
}

# What a customer may do themselves.
CUSTOMER_CANCELLABLE = frozenset({S.PENDING_PAYMENT, S.PAID})


def allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())
