"""Reads of carts: whose cart a request means, and the cart priced from the catalog.

A priced cart costs a bounded number of queries whatever its size: the lines with their
variants and products, their attribute values, the live promotions that reach them (one
statement, promotions/selectors.py), and (for a coupon with a per-customer limit) one count of
redemptions. A write that has read the lines and the promotions under the cart's lock passes
them on (`cart_priced(lines=, offers=)`), so its answer reads neither again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from api.errors import ApiError
from cart.errors import (
    CouponCustomerLimit,
    CouponExpired,
    CouponInactive,
    CouponMinSubtotal,
    CouponNotStarted,
    CouponUsageLimit,
)
from cart.models import Cart, CartLine, CartStatus, Coupon, CouponRedemption, cart_token_hash
from cart.pricing import Totals, cart_totals
from products.models import VariantAttributeValue
from promotions.pricing import CatalogPrice, Line, catalog_prices, unit_price
from promotions.selectors import Offers, offers_for_variants

LINE_OK = "ok"
LINE_UNAVAILABLE = "unavailable"
LINE_OUT_OF_STOCK = "out_of_stock"
LINE_INSUFFICIENT = "insufficient_stock"


def caller_user(user: Any) -> Any | None:
    """The signed-in customer, or None for a guest."""
    return user if getattr(user, "is_authenticated", False) else None


def cart_open_for(*, user: Any, token: str | None) -> Cart | None:
    """The open cart the caller means: a customer's own (X-Cart-Token is then ignored), or the
    guest cart whose token was sent. None when there is none."""
    user = caller_user(user)
    carts = Cart.objects.select_related("coupon").filter(status=CartStatus.OPEN)
    if user is not None:
        return carts.filter(user=user).first()
    if token:
        return carts.filter(token_hash=cart_token_hash(token), user__isnull=True).first()
    return None


def guest_cart_by_token(token: str) -> Cart | None:
    """A guest cart in any status (checkout replays and merges need the closed ones too)."""
    return Cart.objects.filter(token_hash=cart_token_hash(token), user__isnull=True).first()


def variant_attributes(variant_ids: list[int]) -> dict[int, dict[str, str]]:
    """{variant_id: {code: value}} in one query (what a cart line and an order line show)."""
    found: dict[int, dict[str, str]] = defaultdict(dict)
    rows = (
        VariantAttributeValue.objects.filter(variant_id__in=variant_ids)
        .order_by("definition__position", "definition__code")
        .values_list("variant_id", "definition__code", "value_text")
    )
    for variant_id, code, value in rows:
        found[variant_id][code] = value
    return found


# -- coupons --------------------------------------------------------------------------------------


def coupon_redemptions_by(coupon: Coupon, *, user: Any = None, email: str | None = None) -> int:
    """Unreleased redemptions of `coupon` by this customer (their account or their email)."""
    who = Q()
    if getattr(user, "pk", None):
        who |= Q(user_id=user.pk)
    if email:
        who |= Q(email=email.lower())
    if not who:
        return 0
    return CouponRedemption.objects.filter(who, coupon=coupon, released_at__isnull=True).count()


def coupon_validate(
    coupon: Coupon,
    *,
    subtotal: Decimal,
    user: Any = None,
    email: str | None = None,
    now=None,
) -> None:
    """Raise the specific CouponError if `coupon` cannot apply to this subtotal and customer now.

    The checkout calls it again on the coupon's locked row, so the limits hold under concurrency.
    """
    now = now or timezone.now()
    if not coupon.is_active:
        raise CouponInactive(details={"code": coupon.code})
    if coupon.starts_at and coupon.starts_at > now:
        raise CouponNotStarted(details={"code": coupon.code, "starts_at": coupon.starts_at})
    if coupon.ends_at and coupon.ends_at <= now:
        raise CouponExpired(details={"code": coupon.code, "ended_at": coupon.ends_at})
    if subtotal < coupon.min_subtotal:
        raise CouponMinSubtotal(
            f"This coupon needs a subtotal of at least {coupon.min_subtotal}.",
            details={
                "code": coupon.code,
                "min_subtotal": str(coupon.min_subtotal),
                "subtotal": str(subtotal),
            },
        )
    if coupon.usage_limit is not None and coupon.times_used >= coupon.usage_limit:
        raise CouponUsageLimit(details={"code": coupon.code, "usage_limit": coupon.usage_limit})
    if coupon.per_customer_limit is not None and (user is not None or email):
        used = coupon_redemptions_by(coupon, user=user, email=email)
        if used >= coupon.per_customer_limit:
            raise CouponCustomerLimit(
                details={"code": coupon.code, "per_customer_limit": coupon.per_customer_limit}
            )


# -- the priced cart ------------------------------------------------------------------------------


@dataclass
class PricedLine:
    line: CartLine
    unit_price: Decimal
    line_total: Decimal
    status: str
    attributes: dict[str, str]
    # The catalog promotion in today's price, if one is live for the variant.
    promotion: CatalogPrice | None = None

    @property
    def compare_at_price(self) -> Decimal | None:
        return self.promotion.regular if self.promotion is not None else None

    @property
    def promotion_name(self) -> str | None:
        return self.promotion.offer.name if self.promotion is not None else None

    @property
    def price_changed(self) -> bool:
        return self.unit_price != self.line.unit_price_at_add

    @property
    def previous_unit_price(self) -> Decimal | None:
        return self.line.unit_price_at_add if self.price_changed else None

    @property
    def available_quantity(self) -> int | None:
        """How many can be bought, when fewer than the line asks for."""
        if self.status != LINE_INSUFFICIENT:
            return None
        return max(self.line.variant.stock_quantity, 0)


@dataclass
class PricedCoupon:
    """The cart's coupon as CartCouponOut shows it: applying now, or the error that stops it."""

    coupon: Coupon
    error: ApiError | None

    @property
    def applies(self) -> bool:
        return self.error is None


@dataclass
class PricedCart:
    """What CartOut renders: the cart, its lines priced now, the totals, and the guest's token
    (echoed back for a guest cart, never for a customer's)."""

    cart: Cart
    lines: list[PricedLine]
    totals: Totals
    coupon_error: ApiError | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    token: str | None = None

    @property
    def coupon(self) -> PricedCoupon | None:
        coupon = self.cart.coupon
        return PricedCoupon(coupon, self.coupon_error) if coupon is not None else None

    @property
    def is_purchasable(self) -> bool:
        return bool(self.lines) and not self.problems and self.coupon_error is None

    @property
    def item_count(self) -> int:
        return sum(priced.line.quantity for priced in self.lines)


def line_status(variant, quantity: int) -> str:
    if not variant_for_sale(variant):
        return LINE_UNAVAILABLE
    if variant.stock_quantity <= 0:
        return LINE_OUT_OF_STOCK
    if variant.stock_quantity < quantity:
        return LINE_INSUFFICIENT
    return LINE_OK


def variant_for_sale(variant) -> bool:
    """A variant can be added or bought while it and its product are active."""
    return variant.is_active and variant.product.is_active


# A line whole, and what the cart uses of its variant and product (price, stock, for sale,
# names): loading the rest too (descriptions, counters, timestamps) cost a fifth more (measured).
LINE_FIELDS = [
    *(f.name for f in CartLine._meta.concrete_fields),
    *(f"variant__{name}" for name in ("sku", "name", "price", "stock_quantity", "is_active")),
    *(f"variant__product__{name}" for name in ("name", "slug", "base_price", "is_active")),
]


def cart_lines(cart: Cart) -> list[CartLine]:
    """The cart's lines with their variants and products, in the order they were added."""
    return list(
        CartLine.objects.filter(cart=cart)
        .select_related("variant__product")
        .only(*LINE_FIELDS)
        .order_by("created_at", "id")
    )


def cart_offers(lines: list[CartLine]) -> Offers:
    """The promotions live now that reach these lines' variants: one statement."""
    return offers_for_variants(variant_ids=[line.variant_id for line in lines], now=timezone.now())


def cart_priced(
    cart: Cart,
    *,
    user: Any = None,
    token: str | None = None,
    lines: list[CartLine] | None = None,
    offers: Offers | None = None,
) -> PricedCart:
    """The cart with every price read from the catalog now; flagged lines stay in it.

    A write passes the `lines` (cart_lines) and their `offers` (cart_offers) it has just read
    under the cart's lock; otherwise both are read here.
    """
    if lines is None:
        lines = cart_lines(cart)
    if offers is None and lines:
        offers = cart_offers(lines)
    attributes = variant_attributes([line.variant_id for line in lines]) if lines else {}
    promoted = (
        catalog_prices(
            {line.variant_id: line.variant.effective_price for line in lines}, offers.catalog
        )
        if offers
        else {}
    )
    priced = []
    for line in lines:
        variant = line.variant
        promotion = promoted.get(variant.pk)
        unit = unit_price(variant.effective_price, promotion)
        priced.append(
            PricedLine(
                line=line,
                unit_price=unit,
                line_total=unit * line.quantity,
                status=line_status(variant, line.quantity),
                attributes=attributes.get(variant.pk, {}),
                promotion=promotion,
            )
        )
    subtotal = sum((p.line_total for p in priced), Decimal("0.00"))
    coupon, coupon_error = cart.coupon, None
    if coupon is not None:
        try:
            coupon_validate(coupon, subtotal=subtotal, user=caller_user(user))
        except ApiError as exc:
            coupon, coupon_error = None, exc
    problems = [
        {"line_id": p.line.pk, "variant_id": p.line.variant_id, "status": p.status}
        for p in priced
        if p.status != LINE_OK
    ]
    return PricedCart(
        cart=cart,
        lines=priced,
        totals=cart_totals(
            subtotal=subtotal,
            coupon=coupon,
            has_items=bool(priced),
            lines=[Line(p.line.variant_id, p.unit_price, p.line.quantity) for p in priced],
            offers=offers.cart if offers else (),
        ),
        coupon_error=coupon_error,
        problems=problems,
        token=token if cart.user_id is None else None,
    )


def cart_for_answer(cart: Cart, *, user: Any = None, token: str | None = None) -> PricedCart:
    """The cart as CartOut renders it, re-read with its coupon after a change."""
    cart = Cart.objects.select_related("coupon").get(pk=cart.pk)
    return cart_priced(cart, user=user, token=token)


def merge_report_priced(report: Any, *, user: Any) -> Any:
    """A merge report (cart.services.MergeReport) with its cart priced for CartMergeOut."""
    report.priced = cart_for_answer(report.cart, user=user)
    return report
