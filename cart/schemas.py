"""Request and response schemas of the cart. Inputs never carry prices, totals or discounts:
InputSchema refuses any field not listed (422), and prices come from the catalog.

The cart's answers (CartOut and its parts) are plain pydantic models read from the priced cart's
attributes (cart.selectors.PricedCart) by pydantic itself: `validation_alias` paths such as
`cart.pk` and properties of the view objects. A Ninja Schema reads every field through its
DjangoGetter in Python, 1.8 ms for a 20-line cart (measured): half of what rendering the
answer cost. The controllers return the built CartOut, which Ninja does not validate again.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AliasPath, BaseModel, ConfigDict, Field

from api.schemas import InputSchema, SingleLine
from cart.selectors import PricedCart
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


class AnswerOut(BaseModel):
    """Rendered by pydantic from a view object's attributes (see the module docstring)."""

    model_config = ConfigDict(from_attributes=True)


def field_from(*path: str, **field):
    """A field read from an attribute path of the view object: `field_from("cart", "pk")`."""
    return Field(validation_alias=AliasPath(*path), **field)


class CouponErrorOut(AnswerOut):
    code: str
    message: str


class CartCouponOut(AnswerOut):
    """The cart's coupon, rendered from the priced cart (cart.selectors.PricedCart)."""

    # From its view, cart.selectors.PricedCoupon: the coupon and the error that stops it.
    code: str = field_from("coupon", "code")
    kind: Literal["percent", "fixed", "free_shipping"] = field_from("coupon", "kind")
    value: Decimal = field_from("coupon", "value")
    applies: bool = Field(description="False when it cannot apply now; `error` says why.")
    error: CouponErrorOut | None  # an ApiError: its code and message


class CartLineOut(AnswerOut):
    """A line as priced now (cart.selectors.PricedLine)."""

    id: int = field_from("line", "pk")
    variant_id: int = field_from("line", "variant_id")
    sku: str = field_from("line", "variant", "sku")
    product_id: int = field_from("line", "variant", "product_id")
    product_name: str = field_from("line", "variant", "product", "name")
    product_slug: str = field_from("line", "variant", "product", "slug")
    variant_name: str = field_from("line", "variant", "name")
    attributes: dict[str, str]
    quantity: int = field_from("line", "quantity")
    unit_price: Decimal = Field(
        description="Today's price, from the catalog (promotions included)."
    )
    compare_at_price: Decimal | None = Field(
        description="The price before the catalog promotion in unit_price; null without one."
    )
    promotion: str | None = field_from(
        "promotion_name", description="The catalog promotion in unit_price, by name."
    )
    line_total: Decimal
    status: Literal["ok", "unavailable", "out_of_stock", "insufficient_stock"]
    available_quantity: int | None = Field(
        description="How many can be bought, when fewer than the quantity."
    )
    price_changed: bool = Field(description="The price moved since the line was last chosen.")
    previous_unit_price: Decimal | None


class AppliedPromotionOut(AnswerOut):
    """A cart promotion in the totals (promotions.pricing.AppliedPromotion)."""

    id: int = field_from("promotion_id")
    name: str
    reward: Literal["percent", "fixed", "free_shipping", "free_items"]
    amount: Decimal = Field(description="Its part of discount_total, or the shipping it waived.")
    free_shipping: bool = field_from("shipping")


class NextPromotionOut(AnswerOut):
    """The promotion the cart is closest to (promotions.pricing.NextPromotion)."""

    id: int = field_from("promotion_id")
    name: str
    message: str = Field(examples=["spend 12.00 more for free shipping"])
    amount_missing: Decimal | None = Field(description="To spend more, for a spend promotion.")
    units_missing: int | None = Field(description="Units of its set to add, for buy N get M.")


# Rendered from cart.selectors.PricedCart: the cart, its priced lines and its totals.
class CartOut(AnswerOut):
    id: int = field_from("cart", "pk")
    token: str | None = Field(
        description="A guest cart's token (send it back in X-Cart-Token); null for a customer's."
    )
    currency: str = field_from("cart", "currency")
    lines: list[CartLineOut]
    item_count: int
    coupon: CartCouponOut | None
    subtotal: Decimal = field_from("totals", "subtotal")
    discount_total: Decimal = field_from("totals", "discount_total")
    shipping_total: Decimal = field_from("totals", "shipping_total")
    promotions: list[AppliedPromotionOut] = field_from(
        "totals", "promotions", description="The cart promotions that applied."
    )
    next_promotion: NextPromotionOut | None = field_from("totals", "next_promotion")
    tax_total: Decimal = field_from("totals", "tax_total")
    grand_total: Decimal = field_from("totals", "grand_total")
    is_purchasable: bool = Field(
        description="False while a line is flagged, the coupon does not apply or the cart is empty."
    )
    updated_at: datetime = field_from("cart", "updated_at")


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
