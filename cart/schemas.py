"""Request and response schemas of the cart. Inputs never carry prices, totals or discounts:
InputSchema refuses any field not listed (422), and prices come from the catalog."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from api.schemas import InputSchema, SingleLine
from cart.selectors import PricedCart, PricedLine
from core.schemas import TokenPairOut

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
LineQuantity = Annotated[int, Field(ge=1, le=10_000, description="At most CART_MAX_LINE_QUANTITY.")]
CouponCode = Annotated[SingleLine, Field(min_length=1, max_length=40, examples=["WELCOME10"])]
# A guest cart's token as the client sends it back (X-Cart-Token).
CART_TOKEN_HEADER = "X-Cart-Token"  # noqa: S105 - a header name


class CartLineIn(InputSchema):
    variant_id: Id
    quantity: LineQuantity = 1


class CartLinePatch(InputSchema):
    quantity: LineQuantity


class CouponIn(InputSchema):
    code: CouponCode


class CouponErrorOut(Schema):
    code: str
    message: str


class CartCouponOut(Schema):
    """The cart's coupon, rendered from the priced cart (cart.selectors.PricedCart)."""

    code: str = Field(alias="cart.coupon.code")
    kind: Literal["percent", "fixed", "free_shipping"] = Field(alias="cart.coupon.kind")
    value: Decimal = Field(alias="cart.coupon.value")
    applies: bool = Field(description="False when it cannot apply now; `error` says why.")
    error: CouponErrorOut | None

    @staticmethod
    def resolve_applies(priced: PricedCart) -> bool:
        return priced.coupon_error is None

    @staticmethod
    def resolve_error(priced: PricedCart):
        return priced.coupon_error  # an ApiError: its code and message


class CartLineOut(Schema):
    """A line as priced now (cart.selectors.PricedLine)."""

    id: int = Field(alias="line.pk")
    variant_id: int = Field(alias="line.variant_id")
    sku: str = Field(alias="line.variant.sku")
    product_id: int = Field(alias="line.variant.product_id")
    product_name: str = Field(alias="line.variant.product.name")
    product_slug: str = Field(alias="line.variant.product.slug")
    variant_name: str = Field(alias="line.variant.name")
    attributes: dict[str, str]
    quantity: int = Field(alias="line.quantity")
    unit_price: Decimal = Field(
        description="Today's price, from the catalog (promotions included)."
    )
    compare_at_price: Decimal | None = Field(
        description="The price before the catalog promotion in unit_price; null without one."
    )
    promotion: str | None = Field(description="The catalog promotion in unit_price, by name.")
    line_total: Decimal
    status: Literal["ok", "unavailable", "out_of_stock", "insufficient_stock"]
    available_quantity: int | None = Field(
        description="How many can be bought, when fewer than the quantity."
    )
    price_changed: bool = Field(description="The price moved since the line was last chosen.")
    previous_unit_price: Decimal | None

    @staticmethod
    def resolve_previous_unit_price(priced: PricedLine) -> Decimal | None:
        return priced.line.unit_price_at_add if priced.price_changed else None

    @staticmethod
    def resolve_promotion(priced: PricedLine) -> str | None:
        return priced.promotion.offer.name if priced.promotion else None


class AppliedPromotionOut(Schema):
    """A cart promotion in the totals (promotions.pricing.AppliedPromotion)."""

    id: int = Field(alias="promotion_id")
    name: str
    reward: Literal["percent", "fixed", "free_shipping", "free_items"]
    amount: Decimal = Field(description="Its part of discount_total, or the shipping it waived.")
    free_shipping: bool = Field(alias="shipping")


class NextPromotionOut(Schema):
    """The promotion the cart is closest to (promotions.pricing.NextPromotion)."""

    id: int = Field(alias="promotion_id")
    name: str
    message: str = Field(examples=["spend 12.00 more for free shipping"])
    amount_missing: Decimal | None = Field(description="To spend more, for a spend promotion.")
    units_missing: int | None = Field(description="Units of its set to add, for buy N get M.")


class CartOut(Schema):
    id: int = Field(alias="cart.pk")
    token: str | None = Field(
        description="A guest cart's token (send it back in X-Cart-Token); null for a customer's."
    )
    currency: str = Field(alias="cart.currency")
    lines: list[CartLineOut]
    item_count: int
    coupon: CartCouponOut | None
    subtotal: Decimal = Field(alias="totals.subtotal")
    discount_total: Decimal = Field(alias="totals.discount_total")
    shipping_total: Decimal = Field(alias="totals.shipping_total")
    promotions: list[AppliedPromotionOut] = Field(
        alias="totals.promotions", description="The cart promotions that applied."
    )
    next_promotion: NextPromotionOut | None = Field(alias="totals.next_promotion")
    tax_total: Decimal = Field(alias="totals.tax_total")
    grand_total: Decimal = Field(alias="totals.grand_total")
    is_purchasable: bool = Field(
        description="False while a line is flagged, the coupon does not apply or the cart is empty."
    )
    updated_at: datetime = Field(alias="cart.updated_at")

    # Rendered from cart.selectors.PricedCart: the cart, its priced lines and its totals.
    @staticmethod
    def resolve_coupon(priced: PricedCart):
        return priced if priced.cart.coupon is not None else None


class MergedLineOut(Schema):
    variant_id: int
    sku: str
    quantity_added: int
    quantity: int


class CappedLineOut(Schema):
    variant_id: int
    sku: str
    requested: int
    quantity: int


class PriceChangeOut(Schema):
    variant_id: int
    sku: str
    previous_unit_price: Decimal
    unit_price: Decimal


class DroppedLineOut(Schema):
    variant_id: int
    sku: str
    reason: Literal["unavailable", "out_of_stock", "quantity_limit", "cart_full"]


class CartMergeOut(Schema):
    """A merge report (cart.services.MergeReport), its cart priced by the selectors."""

    cart: CartOut
    merged: list[MergedLineOut]
    capped: list[CappedLineOut] = Field(description="Lines merged with less than asked for.")
    price_changes: list[PriceChangeOut]
    dropped: list[DroppedLineOut] = Field(description="Guest lines that could not be merged.")
    coupon_code: str | None = Field(description="The guest cart's coupon, now on this cart.")
    already_merged: bool

    @staticmethod
    def resolve_cart(report) -> PricedCart:
        return report.priced


class TokenPairWithCartOut(TokenPairOut):
    cart_merge: CartMergeOut | None = Field(
        None, description="With an X-Cart-Token header: the guest cart merged into the account's."
    )
