"""What a refund gives back: the units of each line and the shipping it names, and their money.

    plan = refund_plan(order=order, lines=list(order.lines.all()), units={line.pk: 1})
    plan.amount, plan.units, plan.shipping, plan.complete

orders.services.order_refund calls it on the order and lines it read under the order's row lock
and writes what it says; this module only does the arithmetic, so the API, the admin and the
provider's own refunds get the same figures. A request is one of three kinds:

1. Nothing named (no units, no shipping, no amount): everything left. Every line's units not
   refunded yet, the shipping not refunded yet, and all the money not refunded yet.
2. Units and/or shipping: each unit is refunded at what the customer paid for it, its unit price
   times (grand_total - shipping_total) / subtotal (its share of the discount off, its share of
   the tax on), quantised once for the whole refund; shipping as given, at most the shipping not
   refunded yet. A refund that leaves nothing of the goods and the shipping is everything left,
   so the refunds of an order add up to its grand total to the cent.
3. An amount alone: money only (a goodwill gesture), naming no units.

Whatever the kind, a refund that brings all the money back refunds the whole order: every unit
and all the shipping are marked refunded with it (the order is then `refunded`, and ships
nothing). A line is never refunded beyond its quantity, nor the money beyond what is left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from api.errors import field_error
from api.money import quantize
from orders.errors import (
    RefundExceedsQuantity,
    RefundExceedsShipping,
    RefundInvalid,
    RefundLineNotFound,
    RefundTooLarge,
)
from orders.models import Order, OrderLine

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class RefundPlan:
    amount: Decimal  # the money given back now
    shipping: Decimal  # the part of shipping_total refunded now
    # Units marked refunded now, per line id; `named` is what the request named (for a full
    # refund: every unit left), the units a restock returns.
    units: dict[int, int] = field(default_factory=dict)
    named: dict[int, int] = field(default_factory=dict)
    complete: bool = False  # all the money is back: the order becomes `refunded`


def unit_share(order: Order) -> Decimal:
    """The part of a unit price the customer paid: the discount shared out, the tax added."""
    if order.subtotal <= 0:
        return ZERO
    return (order.grand_total - order.shipping_total) / order.subtotal


def refund_plan(
    *,
    order: Order,
    lines: Sequence[OrderLine],
    units: Mapping[int, int] | None = None,
    shipping: Decimal | None = None,
    amount: Decimal | None = None,
) -> RefundPlan:
    """The refund `units` (line id -> quantity), `shipping` or `amount` make of `order` as it is
    now ({} / None for all three: everything left). Raises the refund errors (orders.errors)."""
    if amount is not None and (units or shipping is not None):
        raise RefundInvalid(
            "Give lines and shipping, or an amount (money only), not both.",
            details={"errors": [field_error("amount", "Not together with lines or shipping.")]},
        )
    remaining = order.grand_total - order.refunded_total
    shipping_left = order.shipping_total - order.shipping_refunded
    left = {line.pk: line.quantity_remaining for line in lines}

    if amount is not None:  # 3. money only
        amount, named, shipping = quantize(amount), {}, ZERO
    elif not units and shipping is None:  # 1. everything left
        amount, shipping = remaining, shipping_left
        named = {pk: n for pk, n in left.items() if n}
    else:  # 2. the units and shipping named
        named = _named_units(lines, units or {})
        shipping = quantize(shipping) if shipping is not None else ZERO
        if shipping > shipping_left:
            raise RefundExceedsShipping(
                f"At most {shipping_left} {order.currency} of shipping is left to refund.",
                details={"requested": str(shipping), "refundable": str(shipping_left)},
            )
        goods = sum((line.unit_price * named[line.pk] for line in lines if line.pk in named), ZERO)
        amount = quantize(goods * unit_share(order)) + shipping
        nothing_left = shipping == shipping_left and all(
            named.get(pk, 0) == n for pk, n in left.items()
        )
        if nothing_left:
            amount = remaining  # the last refund takes the cents the rounding left

    if amount <= 0:
        raise RefundInvalid(details={"requested": str(amount), "remaining": str(remaining)})
    if amount > remaining:
        raise RefundTooLarge(details={"requested": str(amount), "remaining": str(remaining)})
    complete = amount == remaining
    if complete:
        marked = {pk: n for pk, n in left.items() if n}
        shipping = shipping_left
    else:
        marked = named
    return RefundPlan(
        amount=amount, shipping=shipping, units=marked, named=named, complete=complete
    )


def _named_units(lines: Sequence[OrderLine], units: Mapping[int, int]) -> dict[int, int]:
    """The units asked for, checked against the order's lines: an unknown line is a 422, a line
    asked beyond what is left of it a 409 naming every such line."""
    by_id = {line.pk: line for line in lines}
    unknown = sorted(pk for pk in units if pk not in by_id)
    if unknown:
        raise RefundLineNotFound(
            f"The order has no line {unknown[0]}.",
            details={
                "line_ids": unknown,
                "errors": [field_error("lines", f"No line {pk} in this order.") for pk in unknown],
            },
        )
    if any(quantity <= 0 for quantity in units.values()):
        raise RefundInvalid("Each line's quantity must be at least 1.")
    too_many = [
        {
            "line_id": pk,
            "sku": by_id[pk].sku,
            "requested": quantity,
            "refundable": by_id[pk].quantity_remaining,
        }
        for pk, quantity in sorted(units.items())
        if quantity > by_id[pk].quantity_remaining
    ]
    if too_many:
        first = too_many[0]
        raise RefundExceedsQuantity(
            f"Line {first['line_id']} ({first['sku']}): {first['refundable']} left to refund, "
            f"{first['requested']} asked.",
            details={"lines": too_many},
        )
    return dict(units)
