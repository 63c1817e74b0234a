"""Request and response schemas of checkout, orders, staff order routes, reports and inventory.

No input carries a price, total, discount or status the server would store: InputSchema refuses
any unknown field with a 422, and every amount comes from the database.

The order schemas render an Order as orders.selectors.order_detail fetched it (lines, events,
payments and discounts prefetched, payments newest first): fields come from its attributes, and
what is not an attribute is a `resolve_<field>` here.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Schema
from pydantic import Field, model_validator

from api.schemas import Day, Email, InputSchema, SingleLine
from core.schemas import AddressSnapshot, CountryCode, Name, Phone
from orders.models import Order, OrderEvent, OrderStatus
from orders.selectors import order_latest_payment
from orders.state import CUSTOMER_CANCELLABLE
from payments.state import OPEN_STATUSES

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Note = Annotated[SingleLine, Field(max_length=500)]
OrderNumber = Annotated[str, Field(max_length=20, pattern=r"^[A-Z]{1,5}-[0-9]{1,12}$")]
ORDER_TOKEN_HEADER = "X-Order-Token"  # noqa: S105 - a header name
StatusName = Literal[
    "pending_payment",
    "paid",
    "shipped",
    "delivered",
    "cancelled",
    "partially_refunded",
    "refunded",
]


# -- checkout -------------------------------------------------------------------------------------


class CheckoutAddressIn(InputSchema):
    first_name: Annotated[Name, Field(min_length=1)]
    last_name: Annotated[Name, Field(min_length=1)]
    company_name: Annotated[SingleLine, Field(max_length=255)] = ""
    street_address_1: Annotated[SingleLine, Field(min_length=1, max_length=255)]
    street_address_2: Annotated[SingleLine, Field(max_length=255)] = ""
    city: Annotated[SingleLine, Field(min_length=1, max_length=128)]
    postal_code: Annotated[SingleLine, Field(max_length=20)] = ""
    country_area: Annotated[SingleLine, Field(max_length=128)] = ""
    country: CountryCode
    phone: Phone = ""


class CheckoutIn(InputSchema):
    """Who, where and how to pay. Customers order with their account's email and may name a
    saved address by id; guests give an email and the addresses themselves."""

    email: Email | None = Field(None, description="Guests only (required for them).")
    shipping_address_id: Id | None = Field(None, description="One of your saved addresses.")
    shipping_address: CheckoutAddressIn | None = None
    billing_address_id: Id | None = None
    billing_address: CheckoutAddressIn | None = Field(
        None, description="Defaults to the shipping address."
    )
    payment_provider: Annotated[str, Field(max_length=32, pattern=r"^[a-z0-9_]+$")] | None = Field(
        None, description="Defaults to the shop's (`manual`)."
    )
    customer_note: Note = ""
    expected_total: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)] | None = Field(
        None,
        description="The total the customer was shown; if a price moved since, the checkout "
        "goes on only when this equals the new total (else 409 `price_changed`).",
    )
    accept_price_changes: bool = Field(
        False, description="Go on whatever prices moved since the cart was shown."
    )

    @model_validator(mode="after")
    def _one_of_each(self) -> CheckoutIn:
        for kind in ("shipping", "billing"):
            if getattr(self, f"{kind}_address_id") and getattr(self, f"{kind}_address"):
                raise ValueError(f"Give {kind}_address_id or {kind}_address, not both.")
        return self


# -- orders ---------------------------------------------------------------------------------------


class DiscountOut(Schema):
    """A discount the order got, as it was at checkout (promotions.OrderDiscount)."""

    source: Literal["catalog", "cart", "coupon"]
    name: str = Field(description="The promotion's name or the coupon's code.")
    kind: str = Field(description="percent, fixed, free_shipping or free_items.")
    amount: Decimal = Field(description="Off the line in all (every unit), or the shipping waived.")
    regular_unit_price: Decimal | None = Field(
        description="Catalog promotions: the unit price before it (unit_price is after it)."
    )
    shipping: bool = Field(description="Shipping waived, not goods.")


def _discounts(order: Order, line_id: int | None) -> list:
    # order.discounts is prefetched once for the order; a line reads its own from it.
    return [discount for discount in order.discounts.all() if discount.line_id == line_id]


class OrderLineOut(Schema):
    id: int
    product_id: int | None
    variant_id: int | None
    product_name: str
    variant_name: str
    sku: str
    attributes: dict[str, Any]
    unit_price: Decimal
    quantity: int
    line_total: Decimal
    quantity_refunded: int = Field(description="Units refunded; the rest ship.")
    discounts: list[DiscountOut] = Field(description="What this line got off, in order.")

    @staticmethod
    def resolve_discounts(line) -> list:
        return _discounts(line.order, line.pk)


class PaymentOut(Schema):
    provider: str
    status: str
    amount: Decimal
    currency: str
    refunded_amount: Decimal
    client_data: dict[str, Any] = Field(
        description="What the client needs to pay: instructions (manual), a client secret... "
        "Empty once the payment can no longer be paid (succeeded, cancelled, the order cancelled)."
    )

    @staticmethod
    def resolve_client_data(payment) -> dict[str, Any]:
        if payment.status not in OPEN_STATUSES or payment.order.status == OrderStatus.CANCELLED:
            return {}
        return payment.client_data or {}


class HistoryOut(Schema):
    """A status the order entered (an OrderEvent of kind placed or status)."""

    status: str
    at: datetime

    @staticmethod
    def resolve_status(event: OrderEvent) -> str:
        return event.to_status

    @staticmethod
    def resolve_at(event: OrderEvent) -> datetime:
        return event.created_at


def _flagged_payments(order: Order) -> list:
    return [payment for payment in order.payments.all() if payment.needs_review]


class OrderOut(Schema):
    number: str
    token: UUID = Field(
        description="With the number, opens the order (X-Order-Token) for a guest: keep it secret."
    )
    status: StatusName
    email: str
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    grand_total: Decimal
    refunded_total: Decimal
    coupon_code: str | None
    shipping_address: AddressSnapshot
    billing_address: AddressSnapshot
    customer_note: str
    tracking_number: str | None
    carrier: str | None
    placed_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    refunded_at: datetime | None
    lines: list[OrderLineOut]
    discounts: list[DiscountOut] = Field(
        description="Discounts on the order, not on a line: the shipping a promotion or a "
        "coupon waived. The lines carry the rest."
    )
    payment: PaymentOut | None
    history: list[HistoryOut]
    can_cancel: bool

    @staticmethod
    def resolve_coupon_code(order: Order) -> str | None:
        return order.coupon_code or None

    @staticmethod
    def resolve_tracking_number(order: Order) -> str | None:
        return order.tracking_number or None

    @staticmethod
    def resolve_carrier(order: Order) -> str | None:
        return order.carrier or None

    @staticmethod
    def resolve_discounts(order: Order) -> list:
        return _discounts(order, None)

    @staticmethod
    def resolve_payment(order: Order):
        return order_latest_payment(order)

    @staticmethod
    def resolve_history(order: Order) -> list[OrderEvent]:
        shown = (OrderEvent.Kind.PLACED, OrderEvent.Kind.STATUS)
        return [event for event in order.events.all() if event.kind in shown]

    @staticmethod
    def resolve_can_cancel(order: Order) -> bool:
        return order.status in CUSTOMER_CANCELLABLE


class OrderListItemOut(Schema):
    number: str
    status: StatusName
    currency: str
    grand_total: Decimal
    item_count: int
    placed_at: datetime

    @staticmethod
    def resolve_item_count(obj) -> int:
        return obj.item_count or 0


class OrderFilter(Schema):
    status: StatusName | None = None


class CancelIn(InputSchema):
    reason: Note = ""


# -- staff ----------------------------------------------------------------------------------------


def NeedsReview():
    return Field(
        description="A payment of the order needs staff (a refund failed at the provider, money "
        "that did not match, money for a cancelled order)."
    )


def ReviewReason():
    return Field(description="Why, from the latest flagged payment; empty if none.")


class StaffOrderListItemOut(OrderListItemOut):
    id: int
    email: str
    user_id: int | None
    payment_provider: str
    needs_review: bool = NeedsReview()
    review_reason: str = ReviewReason()

    @staticmethod
    def resolve_review_reason(obj) -> str:
        return obj.review_reason or ""


class StaffPaymentOut(PaymentOut):
    id: int
    provider_reference: str
    error: str
    needs_review: bool
    review_reason: str
    created_at: datetime
    updated_at: datetime


class StaffEventOut(Schema):
    id: int
    kind: str
    from_status: str | None
    to_status: str | None
    actor_type: str
    actor_email: str | None
    note: str
    data: dict[str, Any]
    created_at: datetime

    @staticmethod
    def resolve_from_status(event: OrderEvent) -> str | None:
        return event.from_status or None

    @staticmethod
    def resolve_to_status(event: OrderEvent) -> str | None:
        return event.to_status or None

    @staticmethod
    def resolve_actor_email(event: OrderEvent) -> str | None:
        return event.actor.email if event.actor else None


class StaffOrderOut(OrderOut):
    id: int
    user_id: int | None
    payment_provider: str
    idempotency_key: str
    shipping_refunded: Decimal = Field(description="The part of shipping_total refunded.")
    stock_returned_at: datetime | None
    needs_review: bool = NeedsReview()
    review_reason: str = ReviewReason()
    payments: list[StaffPaymentOut]
    events: list[StaffEventOut]

    @staticmethod
    def resolve_needs_review(order: Order) -> bool:
        return bool(_flagged_payments(order))

    @staticmethod
    def resolve_review_reason(order: Order) -> str:
        flagged = _flagged_payments(order)  # newest first
        return flagged[0].review_reason if flagged else ""


class StaffOrderFilter(Schema):
    status: StatusName | None = None
    q: Annotated[str, Field(max_length=254, pattern=r"^[^\x00]*$")] | None = Field(
        None, description="Order number, or part of the email."
    )
    email: Annotated[str, Field(max_length=254, pattern=r"^[^\x00]*$")] | None = None
    placed_from: Day | None = None
    placed_to: Day | None = None
    needs_review: bool | None = Field(
        None, description="true: only orders with a payment flagged for staff; false: none."
    )


class StaffNoteIn(InputSchema):
    note: Note = ""


class ReviewResolvedIn(InputSchema):
    note: Annotated[SingleLine, Field(min_length=1, max_length=400)]  # what staff did about it


class ShipIn(InputSchema):
    tracking_number: Annotated[SingleLine, Field(min_length=1, max_length=100)]
    carrier: Annotated[SingleLine, Field(max_length=100)] = ""
    note: Note = ""


class RefundLineIn(InputSchema):
    line_id: Id
    quantity: Annotated[int, Field(ge=1, le=1_000_000)]


class RefundIn(InputSchema):
    """Lines and quantities (and shipping) refunded, or an amount alone (money only), or nothing
    named: everything not refunded yet. The money of lines and shipping is computed here."""

    lines: list[RefundLineIn] | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="The units refunded, each line once: `{line_id, quantity}`.",
    )
    shipping: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)] | None = Field(
        None, description="Shipping given back, at most the shipping not refunded yet."
    )
    amount: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)] | None = Field(
        None,
        description="Money only (a goodwill gesture): no goods, so no restock; not with `lines` "
        "or `shipping`.",
    )
    restock: bool = Field(
        False,
        description="The goods came back: return the stock of exactly the units named (of "
        "every unit left for a full refund); with `amount` or `shipping` alone, 422 "
        "`refund_lines_required`.",
    )
    note: Note = ""

    @model_validator(mode="after")
    def _each_line_once(self) -> RefundIn:
        ids = [line.line_id for line in self.lines or ()]
        if len(ids) != len(set(ids)):
            raise ValueError("Name each line once.")
        return self

    def units(self) -> dict[int, int] | None:
        """line id -> units, as orders.services.order_refund takes them."""
        return {line.line_id: line.quantity for line in self.lines} if self.lines else None


# -- reports --------------------------------------------------------------------------------------


class SalesDayOut(Schema):
    date: date
    orders: int
    paid_orders: int
    revenue: Decimal
    promotion_discount: Decimal = Field(
        description="What promotions (catalog and cart, not coupons) took off these orders."
    )
    revenue_before_promotions: Decimal = Field(description="revenue + promotion_discount.")
    orders_with_promotions: int
    units: int
    average_order_value: Decimal


class TopProductOut(Schema):
    product_id: int | None
    product_name: str
    units: int
    revenue: Decimal


class SalesTotalsOut(Schema):
    orders: int
    paid_orders: int
    revenue: Decimal
    promotion_discount: Decimal = Field(
        description="What promotions (catalog and cart, not coupons) took off these orders."
    )
    revenue_before_promotions: Decimal = Field(description="revenue + promotion_discount.")
    orders_with_promotions: int
    units: int
    average_order_value: Decimal


class SalesReportOut(Schema):
    date_from: date
    date_to: date
    currency: str
    totals: SalesTotalsOut
    days: list[SalesDayOut] = Field(description="Every day of the range, empty ones included.")
    top_products: list[TopProductOut]


# -- inventory ------------------------------------------------------------------------------------


class InventoryRowOut(Schema):
    row: int
    sku: str
    status: Literal["applied", "unchanged", "error"]
    before: int | None = None
    after: int | None = None
    error: str | None = None


class InventoryUploadOut(Schema):
    id: int
    filename: str
    status: Literal["pending", "done", "failed"]
    note: str
    rows_total: int
    rows_applied: int
    rows_unchanged: int
    rows_failed: int
    error: str
    created_at: datetime
    processed_at: datetime | None


class InventoryUploadDetailOut(InventoryUploadOut):
    results: list[InventoryRowOut]
