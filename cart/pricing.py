"""Cart and order arithmetic: the one place subtotal, discount, shipping, tax and grand total are
computed, for the cart's display and, on rows locked at checkout, for the order itself.

    totals = cart_totals(subtotal=Decimal("40.00"), coupon=coupon)

Amounts are Decimals quantised by api.money.quantize; the discount never exceeds the subtotal,
shipping is a flat rate that becomes free at SHIPPING_FREE_THRESHOLD (on the subtotal after
discount) or with a free-shipping coupon, and tax is TAX_RATE on the rest (shipping included
when TAX_SHIPPING).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from api.money import quantize
from cart.models import Coupon, CouponKind

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    grand_total: Decimal


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


def cart_totals(*, subtotal: Decimal, coupon: Coupon | None, has_items: bool = True) -> Totals:
    subtotal = quantize(subtotal)
    discount, free_shipping = coupon_discount(coupon, subtotal)
    merchandise = subtotal - discount
    shipping = shipping_for(merchandise, has_items=has_items, free=free_shipping)
    taxable = merchandise + (shipping if settings.TAX_SHIPPING else ZERO)
    tax = quantize(taxable * settings.TAX_RATE)
    return Totals(
        subtotal=subtotal,
        discount_total=discount,
        shipping_total=shipping,
        tax_total=tax,
        grand_total=merchandise + shipping + tax,
    )
