"""Request and response schemas of the cart. Inputs never carry prices, totals or discounts:
InputSchema refuses any field not listed (422), and prices come from the catalog."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from api.schemas import InputSchema, SingleLine
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
    code: str
    kind: Literal["percent", "fixed", "free_shipping"]
    value: Decimal
    applies: bool = Field(description="False when it cannot apply now; `error` says why.")
    error: CouponErrorOut | None


class CartLineOut(Schema):
    id: int
    variant_id: int
    sku: str
    product_id: int
    product_name: str
    product_slug: str
    variant_name: str
    attributes: dict[str, str]
    quantity: int
    unit_price: Decimal = Field(description="Today's price, from the catalog.")
    line_total: Decimal
    status: Literal["ok", "unavailable", "out_of_stock", "insufficient_stock"]
    available_quantity: int | None = Field(
        description="How many can be bought, when fewer than the quantity."
    )
    price_changed: bool = Field(description="The price moved since the line was last chosen.")
    previous_unit_price: Decimal | None


class CartOut(Schema):
    id: int
    token: str | None = Field(
        description="A guest cart's token (send it back in X-Cart-Token); null for a customer's."
    )
    currency: str
    lines: list[CartLineOut]
    item_count: int
    coupon: CartCouponOut | None
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    grand_total: Decimal
    is_purchasable: bool = Field(
        description="False while a line is flagged, the coupon does not apply or the cart is empty."
    )
    updated_at: datetime


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
    cart: CartOut
    merged: list[MergedLineOut]
    capped: list[CappedLineOut] = Field(description="Lines merged with less than asked for.")
    price_changes: list[PriceChangeOut]
    dropped: list[DroppedLineOut] = Field(description="Guest lines that could not be merged.")
    coupon_code: str | None = Field(description="The guest cart's coupon, now on this cart.")
    already_merged: bool


class TokenPairWithCartOut(TokenPairOut):
    cart_merge: CartMergeOut | None = Field(
        None, description="With an X-Cart-Token header: the guest cart merged into the account's."
    )
