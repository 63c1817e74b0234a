"""Order lifecycle: every status change goes through order_transition, under the order's row lock.

The lock makes each transition happen once: a customer's cancel racing the expiry task and a
staff click finds the order already cancelled and gets a 409 `invalid_transition` (the task just
skips it), so stock comes back exactly once. Side effects that leave the database (emails,
provider calls) are tasks enqueued after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from api.errors import InvalidInput
from cart.models import Coupon, CouponRedemption
from orders import state, tasks
from orders.errors import InvalidTransition, NothingToShip, RefundLinesRequired
from orders.models import Order, OrderEvent, OrderLine, OrderStatus
from orders.refunds import RefundPlan, refund_plan
from orders.webhooks import order_webhook_record
from payments import tasks as payment_tasks
from payments.providers import get_provider, provider_names
from products.models import StockReason
from products.services import StockChange, stock_adjust_many
from promotions.services import promotion_redemptions_release

logger = logging.getLogger("orders")

S = OrderStatus
Actor = OrderEvent.Actor

# The email each customer-visible status sends (once per order: a status is entered once).
STATUS_EMAILS = {
    S.PAID: tasks.payment_received_send_task,
    S.SHIPPED: tasks.order_shipped_send_task,
    S.DELIVERED: tasks.order_delivered_send_task,
    S.CANCELLED: tasks.order_cancelled_send_task,
}


def actor_type_of(actor: Any) -> str:
    if actor is None or not getattr(actor, "pk", None):
        return Actor.SYSTEM
    return Actor.STAFF if actor.is_staff else Actor.CUSTOMER


def order_transition(
    *,
    order_id: int,
    to: str,
    actor: Any = None,
    actor_type: str | None = None,
    note: str = "",
    fields: dict[str, Any] | None = None,
    check: Callable[[Order], None] | None = None,
    data: dict[str, Any] | None = None,
) -> Order:
    """Move the order to `to` if orders/state.py allows it from where it is; else 409.

    `check(order)` runs on the locked row before the change (raise to refuse); `fields` are set
    with the status. Writes the OrderEvent and its webhook and, after commit, the status's email.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if not state.allowed_for(order, to):
            raise InvalidTransition(
                f"An order that is {order.get_status_display().lower()} cannot become {to}.",
                details={
                    "number": order.number,
                    "status": order.status,
                    "to": to,
                    "allowed": sorted(state.TRANSITIONS.get(order.status, ())),
                },
            )
        if check is not None:
            check(order)
        from_status, now = order.status, timezone.now()
        order.status = to
        updated = ["status"]
        if to in state.ENTERED_AT:
            setattr(order, state.ENTERED_AT[to], now)
            updated.append(state.ENTERED_AT[to])
        for name, value in (fields or {}).items():
            setattr(order, name, value)
            updated.append(name)
        if to == S.CANCELLED:
            updated += _release_reservations(order, actor=actor, now=now)
            if from_status == S.PAID:
                # The money comes back in full (the refund hook below).
                order.refunded_total = order.grand_total
                updated.append("refunded_total")
        order.save(update_fields=updated)
        event = OrderEvent.objects.create(
            order=order,
            kind=OrderEvent.Kind.STATUS,
            from_status=from_status,
            to_status=to,
            actor_type=actor_type or actor_type_of(actor),
            actor=actor if getattr(actor, "pk", None) else None,
            note=note[:500],
            data=data or {},
        )
        _after_commit(order, from_status=from_status, event=event)
    return order


def _release_reservations(order: Order, *, actor: Any, now) -> list[str]:
    """Stock back and the coupon and promotion uses released, once: the status change guards
    them all."""
    updated = []
    if order.stock_returned_at is None:
        changes = [
            StockChange(line.variant_id, delta=line.quantity)
            for line in order.lines.filter(variant__isnull=False).order_by("variant_id")
        ]
        if changes:
            stock_adjust_many(
                changes=changes,
                reason=StockReason.CANCELLATION,
                actor=actor,
                reference=order.number,
                note="Order cancelled",
            )
        order.stock_returned_at = now
        updated.append("stock_returned_at")
    redemption = (
        CouponRedemption.objects.filter(order=order, released_at__isnull=True)
        .select_related(None)
        .first()
    )
    if redemption is not None:
        # The coupon row lock again (after the variants, as at checkout): limits stay exact.
        Coupon.objects.select_for_update().filter(pk=redemption.coupon_id).update(
            times_used=F("times_used") - 1
        )
        redemption.released_at = now
        redemption.save(update_fields=["released_at"])
    promotion_redemptions_release(order=order, now=now)
    return updated


def _after_commit(order: Order, *, from_status: str, event: OrderEvent) -> None:
    order_webhook_record(order=order, event=event)
    email_task = STATUS_EMAILS.get(order.status)
    if email_task is not None:
        email_task.delay_on_commit(order.pk)
    if order.status == S.CANCELLED:
        payment_tasks.payment_cancel_task.delay_on_commit(order.pk)
        if from_status == S.PAID:
            payment_tasks.payment_refund_task.delay_on_commit(
                order.pk, str(order.grand_total), f"event-{event.pk}"
            )


# -- the transitions, by name ---------------------------------------------------------------------


def order_mark_paid(
    *, order_id: int, actor: Any = None, note: str = "", strict: bool = True
) -> Order:
    """pending_payment -> paid. From a provider event (strict=False) an order already past it is
    left alone, so a repeated event changes nothing."""
    if not strict:
        order = Order.objects.get(pk=order_id)
        if order.status in (S.SHIPPED, S.DELIVERED) and order.paid_at is None:
            return order_payment_collected(order_id=order_id, actor=actor, note=note)
        if order.status != S.PENDING_PAYMENT:
            if order.status == S.CANCELLED:
                logger.warning(
                    "payment received for a cancelled order", extra={"order": order.number}
                )
            return order
        try:
            return order_transition(order_id=order_id, to=S.PAID, actor=actor, note=note)
        except InvalidTransition:  # cancelled or paid meanwhile
            return Order.objects.get(pk=order_id)
    return order_transition(order_id=order_id, to=S.PAID, actor=actor, note=note)


def order_ship(
    *, order_id: int, tracking_number: str, carrier: str = "", actor: Any = None, note: str = ""
) -> Order:
    """-> shipped, with what is left of the order: the units not refunded (the email lists
    them); an order with nothing left to ship is a 409 `nothing_to_ship`."""
    tracking_number = tracking_number.strip()
    if not tracking_number:
        raise InvalidInput.for_field(
            "tracking_number", "A tracking number is required.", kind="required"
        )
    return order_transition(
        order_id=order_id,
        to=S.SHIPPED,
        actor=actor,
        note=note,
        fields={"tracking_number": tracking_number, "carrier": carrier.strip()},
        data={"tracking_number": tracking_number, "carrier": carrier.strip()},
        check=_something_to_ship,
    )


def _something_to_ship(order: Order) -> None:
    """What ships is what is left: an order whose every unit was refunded ships nothing (409)."""
    if not order.lines.filter(quantity_refunded__lt=F("quantity")).exists():
        raise NothingToShip(details={"number": order.number, "status": order.status})


@transaction.atomic
def order_deliver(*, order_id: int, actor: Any = None, note: str = "") -> Order:
    """shipped -> delivered. A cash-on-delivery order not paid yet is paid now: paid_at with the
    delivery, and its payment recorded as received after the commit (payments' task)."""
    unpaid: list[bool] = []

    def collect_on_delivery(order: Order) -> None:
        if order.paid_at is None and state.ships_unpaid(order):
            unpaid.append(True)

    order = order_transition(
        order_id=order_id, to=S.DELIVERED, actor=actor, note=note, check=collect_on_delivery
    )
    if unpaid:
        order = order_payment_collected(
            order_id=order.pk, actor=actor, note="Paid on delivery.", record_payment=True
        )
    return order


@transaction.atomic
def order_payment_collected(
    *, order_id: int, actor: Any = None, note: str = "", record_payment: bool = False
) -> Order:
    """The money of an order that shipped unpaid (cash on delivery) arrived: paid_at is set and
    the order's log says so; its status stays (shipped or delivered). Once: an order paid
    already is left alone. With `record_payment`, the payment row is marked received after the
    commit (payments' task: money noted here first, from the delivery)."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.paid_at is not None or order.status not in (S.SHIPPED, S.DELIVERED):
        return order
    order.paid_at = timezone.now()
    order.save(update_fields=["paid_at"])
    event = OrderEvent.objects.create(
        order=order,
        kind=OrderEvent.Kind.PAYMENT,
        actor_type=actor_type_of(actor),
        actor=actor if getattr(actor, "pk", None) else None,
        note=note[:500] or "Payment collected.",
        data={"paid": str(order.grand_total)},
    )
    order_webhook_record(order=order, event=event)
    if record_payment:
        payment_tasks.payment_collected_task.delay_on_commit(order.pk)
    return order


def order_cancel(
    *,
    order_id: int,
    actor: Any = None,
    actor_type: str | None = None,
    note: str = "",
    check: Callable[[Order], None] | None = None,
) -> Order:
    """Cancel (pending payment or paid): stock back with StockMovement rows (reason
    cancellation, reference the order number), coupon use released, the payment cancelled or, if
    paid, refunded in full through the provider; the customer is told by email."""
    return order_transition(
        order_id=order_id,
        to=S.CANCELLED,
        actor=actor,
        actor_type=actor_type,
        note=note,
        check=check,
    )


def order_cancel_by_customer(*, order_id: int, user: Any = None, note: str = "") -> Order:
    """A customer's own cancel (their account's order, or a guest's with its token): only while
    the order is pending payment or paid (state.CUSTOMER_CANCELLABLE); later it is staff's."""

    def customer_may_cancel(order: Order) -> None:
        if order.status not in state.CUSTOMER_CANCELLABLE:
            raise InvalidTransition(
                "This order can no longer be cancelled.",
                details={"number": order.number, "status": order.status, "to": S.CANCELLED},
            )

    return order_cancel(
        order_id=order_id,
        actor=user,
        actor_type=Actor.CUSTOMER,
        note=note,
        check=customer_may_cancel,
    )


def order_refund(
    *,
    order_id: int,
    lines: Mapping[int, int] | None = None,
    shipping: Decimal | None = None,
    amount: Decimal | None = None,
    actor: Any = None,
    note: str = "",
    restock: bool = False,
    via_provider: bool = True,
) -> Order:
    """Refund part or all of a paid, shipped or delivered order, once per unit.

    `lines` (line id -> units) and `shipping` name what is refunded, and the money follows from
    them; `amount` alone is money only (a goodwill gesture, no units); nothing named refunds
    everything left (orders/refunds.py has the arithmetic). The lines are read under the order's
    row lock and their refunded units written in the same transaction, so two refunds racing for
    the last unit give one refund and one 409. The order becomes `refunded` (all the money is
    back) or `partially_refunded`; the units left still ship. `restock` returns exactly the units
    named (a full refund: every unit left), one StockMovement per line (reason `return`); with
    an amount or shipping alone it is a 422, since nothing named came back. The provider gives
    the money back (task); `via_provider=False` books a refund the provider already made
    (Stripe's dashboard): no provider call."""
    if restock and (amount is not None or (shipping is not None and not lines)):
        raise RefundLinesRequired()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        order_lines = list(order.lines.order_by("id"))  # re-read under the lock
        plan = refund_plan(
            order=order, lines=order_lines, units=lines, shipping=shipping, amount=amount
        )
        target = S.REFUNDED if plan.complete else S.PARTIALLY_REFUNDED
        fields = {
            "refunded_total": order.refunded_total + plan.amount,
            "shipping_refunded": order.shipping_refunded + plan.shipping,
        }
        data = _refund_data(order_lines, plan, restock=restock)
        # The units first: the event's webhook (orders/webhooks.py) shows the lines as refunded.
        for line_id, units in plan.units.items():
            OrderLine.objects.filter(pk=line_id).update(
                quantity_refunded=F("quantity_refunded") + units
            )
        if order.status == target:
            # A further partial refund: the status stays.
            for name, value in fields.items():
                setattr(order, name, value)
            order.save(update_fields=list(fields))
            event = OrderEvent.objects.create(
                order=order,
                kind=OrderEvent.Kind.PAYMENT,
                actor_type=actor_type_of(actor),
                actor=actor if getattr(actor, "pk", None) else None,
                note=note[:500],
                data=data,
            )
            order_webhook_record(order=order, event=event)
        else:
            order = order_transition(
                order_id=order_id, to=target, actor=actor, note=note, fields=fields, data=data
            )
            event = order.events.order_by("-id").first()
        if restock and plan.named:
            returned = [
                (line, plan.named[line.pk]) for line in order_lines if line.pk in plan.named
            ]
            _restock(order, returned, actor=actor)
        tasks.order_refunded_send_task.delay_on_commit(order.pk, event.pk)
        if via_provider:
            payment_tasks.payment_refund_task.delay_on_commit(
                order.pk, str(plan.amount), f"event-{event.pk}", restock
            )
    return order


def _refund_data(lines: list[OrderLine], plan: RefundPlan, *, restock: bool) -> dict[str, Any]:
    """What the refund's event keeps: the money, the units named, the shipping, the restock."""
    skus = {line.pk: line.sku for line in lines}
    data: dict[str, Any] = {"refund": str(plan.amount)}
    if plan.named:
        data["lines"] = [
            {"line_id": pk, "sku": skus[pk], "quantity": units}
            for pk, units in sorted(plan.named.items())
        ]
    if plan.shipping:
        data["shipping"] = str(plan.shipping)
    if restock:
        data["restock"] = True
    return data


def order_refund_failed(
    *,
    order_id: int,
    amount: Decimal,
    reason: str,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    """A refund the order recorded did not reach the customer (it failed at the provider): the
    order's refunded total and status stay as they are, because the status machine has no way
    back from `refunded`, the customer was emailed and the stock may be back; staff decide what
    to do. The failure goes in the order's log (a payment event: staff see it, customers do not)
    and staff are emailed after the commit. The caller makes it happen once per refund."""
    event = OrderEvent.objects.create(
        order_id=order_id,
        kind=OrderEvent.Kind.PAYMENT,
        actor_type=Actor.SYSTEM,
        note=note[:500],
        data={"refund_failed": str(amount), "reason": reason, **(data or {})},
    )
    tasks.refund_failed_alert_send_task.delay_on_commit(event.pk)
    return event


def order_refund_due(
    *, order_id: int, amount: Decimal, data: dict[str, Any] | None = None
) -> OrderEvent:
    """A refund of an offline payment is staff's to make (a bank transfer back): the order's
    log says "refund due: 40.00 to ada@..." and staff are emailed after the commit. The refund
    stays pending until staff confirm it (payments.services.payment_refund_confirm)."""
    order = Order.objects.get(pk=order_id)
    event = OrderEvent.objects.create(
        order=order,
        kind=OrderEvent.Kind.PAYMENT,
        actor_type=Actor.SYSTEM,
        note=f"Refund due: {amount} {order.currency} to {order.email}.",
        data={"refund_due": str(amount), "to": order.email, **(data or {})},
    )
    tasks.refund_due_alert_send_task.delay_on_commit(event.pk)
    return event


def order_refund_sent(
    *,
    order_id: int,
    amount: Decimal,
    actor: Any,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    """Staff confirmed they sent a refund that was due (the order's log keeps who and when)."""
    order = Order.objects.get(pk=order_id)
    return OrderEvent.objects.create(
        order=order,
        kind=OrderEvent.Kind.PAYMENT,
        actor_type=actor_type_of(actor),
        actor=actor if getattr(actor, "pk", None) else None,
        note=(note or f"Refund of {amount} {order.currency} sent to {order.email}.")[:500],
        data={"refund_sent": str(amount), **(data or {})},
    )


def order_payment_review_resolved(
    *, order_id: int, actor: Any, note: str, data: dict[str, Any]
) -> OrderEvent:
    """Staff cleared the review flags of the order's payments: the log keeps what they said and
    what had been flagged (a payment event: staff see it, customers do not)."""
    return OrderEvent.objects.create(
        order_id=order_id,
        kind=OrderEvent.Kind.PAYMENT,
        actor_type=actor_type_of(actor),
        actor=actor if getattr(actor, "pk", None) else None,
        note=f"Review resolved: {note}"[:500],
        data={"review_resolved": True, **data},
    )


def _restock(order: Order, returned: list[tuple[OrderLine, int]], *, actor: Any) -> None:
    """The units a refund named came back: each line's stock returns by exactly those units,
    one StockMovement per line (reason `return`); each unit once, since a unit is refunded once
    (the line's quantity_refunded, under the order's lock)."""
    changes = [
        StockChange(line.variant_id, delta=units)
        for line, units in sorted(returned, key=lambda item: item[0].variant_id or 0)
        if line.variant_id is not None
    ]
    if changes:
        stock_adjust_many(
            changes=changes,
            reason=StockReason.RETURN,
            actor=actor if getattr(actor, "pk", None) else None,
            reference=order.number,
            note="Returned with a refund",
        )
    order.stock_returned_at = timezone.now()
    order.save(update_fields=["stock_returned_at"])


def order_note_add(*, order_id: int, note: str, actor: Any = None) -> OrderEvent:
    return OrderEvent.objects.create(
        order_id=order_id,
        kind=OrderEvent.Kind.NOTE,
        actor_type=actor_type_of(actor),
        actor=actor if getattr(actor, "pk", None) else None,
        note=note[:500],
    )


# -- expiry ---------------------------------------------------------------------------------------


def orders_cancel_unpaid(
    *, now=None, limit: int = 500, may_cancel: Callable[[int], bool] | None = None
) -> list[str]:
    """Cancel orders still pending payment longer than their provider's hold (a card payment:
    ORDER_PAYMENT_TIMEOUT; a bank transfer: days; cash on delivery: never); their stock
    returns. `may_cancel(order_id)` is asked first, outside any lock (the beat task passes
    payments.services.payment_expiry_check: the payment re-read at its provider, so a payment
    still processing is not cancelled and one that succeeded pays the order instead). Safe to
    run twice or beside a customer's cancel: each order is re-checked under its lock, and one
    already cancelled or paid is skipped."""
    now = now or timezone.now()
    overdue = Q()
    holds: dict[str, timedelta] = {}
    for name in provider_names():
        hold = get_provider(name).hold
        if hold is not None:
            holds[name] = hold
            overdue |= Q(payment_provider=name, placed_at__lt=now - hold)
    if not holds:
        return []
    candidates = list(
        Order.objects.filter(overdue, status=S.PENDING_PAYMENT)
        .order_by("placed_at", "id")
        .values_list("pk", "payment_provider")[:limit]
    )

    def still_overdue(order: Order) -> None:
        if order.placed_at >= now - holds[order.payment_provider]:
            raise InvalidTransition()

    cancelled = []
    for order_id, provider in candidates:
        if may_cancel is not None and not may_cancel(order_id):
            continue
        minutes = int(holds[provider].total_seconds() // 60)
        try:
            order = order_cancel(
                order_id=order_id,
                actor_type=Actor.SYSTEM,
                note=f"Unpaid after {minutes} minutes ({provider}).",
                check=still_overdue,
            )
        except InvalidTransition:
            continue  # paid or cancelled meanwhile
        cancelled.append(order.number)
    if cancelled:
        logger.info("unpaid orders cancelled", extra={"count": len(cancelled)})
    return cancelled
