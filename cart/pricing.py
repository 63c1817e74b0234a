"""Cart and order arithmetic: the one place subtotal, discount, shipping, tax and grand total are
computed, for the cart's display and, on rows locked at checkout, for the order itself.

    totals = cart_totals(subtotal=Decimal("40.00"), coupon=coupon)
    totals = cart_totals(
        subtotal=Decimal("40.00"), coupon=coupon,
        lines=[Line(variant_id=7, unit_price=Decimal("20.00"), quantity=2)], offers=offers.cart,
    )
    totals.promotions, totals.next_promotion, totals.coupon_lines

Amounts are Decimals quantised by api.money.quantize; the discount never exceeds the subtotal.
The subtotal is at today's unit prices, catalog promotions included. Cart promotions come off
first (promotions/pricing.py: free units, the best "spend X" amount off), then the coupon on
what is left; shipping is a flat rate that becomes free at SHIPPING_FREE_THRESHOLD (on the
subtotal after discount), with a free-shipping coupon, or with a free-shipping promotion (which
counts as applied, worth the shipping it waived, only when shipping was due and the coupon did
not waive it); tax is TAX_RATE on the rest (shipping included when TAX_SHIPPING).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from api.money import quantize
from cart.models import Coupon, CouponKind
from promotions.pricing import (
    AppliedPromotion,
    CartOffer,
    Line,
    NextPromotion,
    allocate,
    cart_promotions_apply,
)

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    grand_total: Decimal
    # The cart promotions that applied (their part of discount_total, or the shipping waived).
    promotions: tuple[AppliedPromotion, ...] = ()
    next_promotion: NextPromotion | None = None
    coupon_discount: Decimal = ZERO
    # The coupon's amount off per line (by variant id), and the shipping its free shipping waived.
    coupon_lines: Mapping[int, Decimal] = field(default_factory=dict)
    coupon_shipping_waived: Decimal = ZERO


def coupon_discount(coupon: Coupon | None, subtotal: Decimal) -> tuple[Decimal, bool]:
    """(amount off the subtotal, whether shipping is free) for a coupon already known valid."""
    if coupon is None:
        return ZERO, False
    if coupon.kind == CouponKind.PERCENT:
        return min(subtotal, quantize(subtotal * coupon.value / 100)), False
    if coupon.kind == CouponKind.FIXED:
        return min(subtotal, quantize(coupon.value)), False
    return ZERO, True


def shipping_for(merchandise: Decimal, *, has_items: bool, free: bool = False) -> Decimal:
    if not has_items or free:
        return ZERO
    threshold = settings.SHIPPING_FREE_THRESHOLD
    if threshold is not None and merchandise >= threshold:
        return ZERO
    return quantize(settings.SHIPPING_FLAT_RATE)


def cart_totals(
    *,
    subtotal: Decimal,
    coupon: Coupon | None,
    has_items: bool = True,
    lines: Iterable[Line] = (),
    offers: Iterable[CartOffer] = (),
) -> Totals:
    subtotal = quantize(subtotal)
    lines = list(lines)
    goods = cart_promotions_apply(lines=lines, offers=offers, coupon_applies=coupon is not None)
    promoted = min(subtotal, goods.discount)
    coupon_off, coupon_free = coupon_discount(coupon, subtotal - promoted)
    discount = promoted + coupon_off
    merchandise = subtotal - discount
    applied = list(goods.applied)
    due = shipping_for(merchandise, has_items=has_items)
    free_shipping = coupon_free
    offer = goods.free_shipping_offer
    if due and not coupon_free and offer is not None and offer.fits(due):
        applied.append(AppliedPromotion(offer=offer, amount=due, shipping=True))
        free_shipping = True
    shipping = ZERO if free_shipping else due
    taxable = merchandise + (shipping if settings.TAX_SHIPPING else ZERO)
    tax = quantize(taxable * settings.TAX_RATE)
    left = {
        line.variant_id: line.total
        - sum((a.lines.get(line.variant_id, ZERO) for a in applied), ZERO)
        for line in lines
    }
    return Totals(
        subtotal=subtotal,
        discount_total=discount,
        shipping_total=shipping,
        tax_total=tax,
        grand_total=merchandise + shipping + tax,
        promotions=tuple(applied),
        next_promotion=goods.next,
        coupon_discount=coupon_off,
        coupon_lines=allocate(coupon_off, left),
        coupon_shipping_waived=due if coupon_free else ZERO,
    )
