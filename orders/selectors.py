"""Reads of orders: who may see one, the answers, and the lists (bounded queries each).

An order is the customer's own (their account placed it) or opened by its number plus its token
(what a guest got at checkout); anything else looks exactly like a missing order (404).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from orders.errors import OrderNotFound
from orders.models import Order, OrderEvent, OrderLine, OrderStatus
from orders.state import CUSTOMER_CANCELLABLE
from payments.models import Payment


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
    )


def _money(order: Order) -> dict[str, Any]:
    return {
        "currency": order.currency,
        "subtotal": order.subtotal,
        "discount_total": order.discount_total,
        "shipping_total": order.shipping_total,
        "tax_total": order.tax_total,
        "grand_total": order.grand_total,
        "refunded_total": order.refunded_total,
    }


def _line(line: OrderLine) -> dict[str, Any]:
    return {
        "id": line.pk,
        "product_id": line.product_id,
        "variant_id": line.variant_id,
        "product_name": line.product_name,
        "variant_name": line.variant_name,
        "sku": line.sku,
        "attributes": line.attributes,
        "unit_price": line.unit_price,
        "quantity": line.quantity,
        "line_total": line.line_total,
    }


def _payment(payment: Payment | None, *, staff: bool = False) -> dict[str, Any] | None:
    if payment is None:
        return None
    data = {
        "provider": payment.provider,
        "status": payment.status,
        "amount": payment.amount,
        "currency": payment.currency,
        "refunded_amount": payment.refunded_amount,
        "client_data": payment.client_data,
    }
    if staff:
        data.update(
            id=payment.pk,
            provider_reference=payment.provider_reference,
            error=payment.error,
            needs_review=payment.needs_review,
            review_reason=payment.review_reason,
            created_at=payment.created_at,
            updated_at=payment.updated_at,
        )
    return data


def order_data(order: Order) -> dict[str, Any]:
    """The customer's view of an order (OrderOut), from an order fetched by _detail_queryset."""
    payments = list(order.payments.all())
    return {
        "number": order.number,
        "token": order.token,
        "status": order.status,
        "email": order.email,
        **_money(order),
        "coupon_code": order.coupon_code or None,
        "shipping_address": order.shipping_address,
        "billing_address": order.billing_address,
        "customer_note": order.customer_note,
        "tracking_number": order.tracking_number or None,
        "carrier": order.carrier or None,
        "placed_at": order.placed_at,
        "paid_at": order.paid_at,
        "shipped_at": order.shipped_at,
        "delivered_at": order.delivered_at,
        "cancelled_at": order.cancelled_at,
        "refunded_at": order.refunded_at,
        "lines": [_line(line) for line in order.lines.all()],
        "payment": _payment(payments[0] if payments else None),
        "history": [
            {"status": event.to_status, "at": event.created_at}
            for event in order.events.all()
            if event.kind in (OrderEvent.Kind.PLACED, OrderEvent.Kind.STATUS)
        ],
        "can_cancel": order.status in CUSTOMER_CANCELLABLE,
    }


def order_out(order_id: int, *, include_token: bool = True) -> dict[str, Any]:
    """OrderOut as JSON types (stored as the checkout's idempotent answer): four queries."""
    from orders.schemas import OrderOut

    order = _detail_queryset().get(pk=order_id)
    return OrderOut.model_validate(order_data(order)).model_dump(mode="json")


def order_detail(order: Order) -> Order:
    return _detail_queryset().get(pk=order.pk)


def staff_order_data(order: Order) -> dict[str, Any]:
    """The staff view (StaffOrderOut): the customer's, plus ids, every payment and the full log."""
    data = order_data(order)
    flagged = [p for p in order.payments.all() if p.needs_review]  # newest first
    data.update(
        id=order.pk,
        needs_review=bool(flagged),
        review_reason=flagged[0].review_reason if flagged else "",
        user_id=order.user_id,
        payment_provider=order.payment_provider,
        idempotency_key=order.idempotency_key,
        stock_returned_at=order.stock_returned_at,
        payments=[_payment(p, staff=True) for p in order.payments.all()],
        events=[
            {
                "id": event.pk,
                "kind": event.kind,
                "from_status": event.from_status or None,
                "to_status": event.to_status or None,
                "actor_type": event.actor_type,
                "actor_email": event.actor.email if event.actor else None,
                "note": event.note,
                "data": event.data,
                "created_at": event.created_at,
            }
            for event in order.events.all()
        ],
    )
    return data


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
