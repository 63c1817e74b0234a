"""Reads of orders: who may see one, the order with what its schemas render, and the lists
(bounded queries each).

An order is the customer's own (their account placed it) or opened by its number plus its token
(what a guest got at checkout); anything else looks exactly like a missing order (404).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from operator import attrgetter
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from orders.errors import OrderNotFound
from orders.models import Order, OrderEvent, OrderLine, OrderStatus
from payments.models import Payment
from promotions.models import OrderDiscount


def user_received_product(*, user: Any, product_id: int) -> bool:
    """Whether a delivered order of this customer has a line for the product."""
    if not getattr(user, "is_authenticated", False):
        return False
    return OrderLine.objects.filter(
        order__user=user, order__status=OrderStatus.DELIVERED, product_id=product_id
    ).exists()


def order_for_customer(*, number: str, user: Any = None, token: str | None = None) -> Order:
    """The order if the caller owns it or holds its token; another's is a 404, as a missing one."""
    order = Order.objects.filter(number=number).first()
    if order is None:
        raise OrderNotFound()
    if getattr(user, "is_authenticated", False) and order.user_id == user.pk:
        return order
    if token and constant_time_compare(str(order.token), token.strip().lower()):
        return order
    raise OrderNotFound()


def order_get(*, number: str) -> Order:
    order = Order.objects.filter(number=number).first()
    if order is None:
        raise OrderNotFound()
    return order


def _detail_queryset() -> QuerySet[Order]:
    return Order.objects.prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("id")),
        Prefetch(
            "events",
            queryset=OrderEvent.objects.select_related("actor").order_by("created_at", "id"),
        ),
        Prefetch("payments", queryset=Payment.objects.order_by("-created_at", "-id")),
        Prefetch("discounts", queryset=OrderDiscount.objects.order_by("line_id", "id")),
    )


def order_detail(order: Order) -> Order:
    """The order with what OrderOut and StaffOrderOut render: four more queries, any size."""
    return order_detail_by_id(order.pk)


def order_detail_by_id(order_id: int) -> Order:
    return _detail_queryset().get(pk=order_id)


def order_detail_written(
    order: Order,
    *,
    lines: list[OrderLine],
    events: list[OrderEvent],
    payments: list[Payment],
    discounts: list[OrderDiscount],
) -> Order:
    """The order as order_detail returns it, from the rows the caller just wrote instead of
    read back (the checkout answers its order so: five queries fewer per checkout). Each list
    takes _detail_queryset's order; the rows must be all the order has."""
    order._prefetched_objects_cache = {
        "lines": sorted(lines, key=attrgetter("pk")),
        "events": sorted(events, key=attrgetter("created_at", "pk")),
        "payments": sorted(payments, key=attrgetter("created_at", "pk"), reverse=True),
        # ORDER BY line_id puts the order's own discounts (no line) last, as PostgreSQL does.
        "discounts": sorted(discounts, key=lambda d: (d.line_id is None, d.line_id or 0, d.pk)),
    }
    return order


def order_latest_payment(order: Order) -> Payment | None:
    """The latest payment attempt of an order read by order_detail (its payments prefetched,
    newest first)."""
    payments = order.payments.all()
    return payments[0] if payments else None


# -- lists ----------------------------------------------------------------------------------------


def _with_item_count(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.annotate(item_count=Sum("lines__quantity")).order_by("-placed_at", "-id")


def order_list_for_user(*, user: Any, status: str | None = None) -> QuerySet[Order]:
    orders = Order.objects.filter(user=user)
    if status:
        orders = orders.filter(status=status)
    return _with_item_count(orders)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def order_list_for_staff(
    *,
    status: str | None = None,
    q: str | None = None,
    email: str | None = None,
    placed_from: date | None = None,
    placed_to: date | None = None,
    needs_review: bool | None = None,
) -> QuerySet[Order]:
    """Every order, filtered; each with its item count and whether a payment of it is flagged
    for staff (needs_review, and the latest flagged payment's review_reason), in the same
    query."""
    flagged = Payment.objects.filter(order=OuterRef("pk"), needs_review=True).order_by(
        "-created_at", "-id"
    )
    orders = Order.objects.annotate(
        needs_review=Exists(flagged),
        review_reason=Subquery(flagged.values("review_reason")[:1]),
    )
    if needs_review is not None:
        orders = orders.filter(needs_review=needs_review)
    if status:
        orders = orders.filter(status=status)
    if q:
        q = q.strip()
        orders = orders.filter(Q(number__iexact=q) | Q(email__icontains=q))
    if email:
        orders = orders.filter(email=email.strip().lower())
    if placed_from:
        orders = orders.filter(placed_at__gte=_day_start(placed_from))
    if placed_to:
        orders = orders.filter(placed_at__lt=_day_start(placed_to + timedelta(days=1)))
    return _with_item_count(orders)
