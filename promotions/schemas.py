"""What the staff promotion routes read and answer (explicit fields; targets as ids)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Field, Schema
from pydantic import StringConstraints

from api.schemas import InputSchema, Text
from promotions.models import CartKind, CartReward, CatalogKind, CouponRule

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Name = Annotated[Text, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)]
Value = Annotated[
    Decimal,
    Field(
        ge=0,
        le=Decimal("9999999999.99"),
        max_digits=12,
        decimal_places=2,
        description="Percent (at most 100) or an amount off.",
    ),
]
Money = Annotated[
    Decimal, Field(ge=0, le=Decimal("9999999999.99"), max_digits=12, decimal_places=2)
]
Priority = Annotated[int, Field(ge=-(2**31), le=2**31 - 1, description="Higher first.")]
Quantity = Annotated[int, Field(ge=1, le=2**31 - 1)]
Ids = Annotated[list[Id], Field(max_length=1000)]
TARGETS = ("categories", "brands", "products", "variants")


class _Targets(InputSchema):
    categories: Ids | None = Field(None, description="Category ids, with their subcategories.")
    brands: Ids | None = Field(None, description="Brand ids.")
    products: Ids | None = Field(None, description="Product ids.")
    variants: Ids | None = Field(None, description="Variant ids.")

    def split(self) -> dict:
        """The service's keyword arguments: the fields sent, the target lists under `targets`."""
        sent = self.model_dump(exclude_unset=True)
        targets = {name: sent.pop(name) or [] for name in TARGETS if name in sent}
        return {**sent, "targets": targets}


class CatalogPromotionIn(_Targets):
    name: Name
    kind: CatalogKind
    value: Value
    priority: Priority = 0
    is_active: bool = True
    starts_at: datetime | None = Field(None, description="Empty: at once.")
    ends_at: datetime | None = Field(None, description="Empty: until switched off.")


class CatalogPromotionPatch(_Targets):
    """The fields sent change; a target list sent replaces that list."""

    name: Name = None  # type: ignore[assignment]
    kind: CatalogKind = None  # type: ignore[assignment]
    value: Value = None  # type: ignore[assignment]
    priority: Priority = None  # type: ignore[assignment]
    is_active: bool = None  # type: ignore[assignment]
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class CartPromotionIn(_Targets):
    name: Name
    kind: CartKind
    reward: CartReward
    value: Value = Field(Decimal("0.00"), description="0 for free shipping or free units.")
    min_subtotal: Money = Field(Decimal("0.00"), description="Spend: the subtotal to reach.")
    buy_quantity: Quantity | None = Field(None, description="Buy N get M: N.")
    free_quantity: Quantity | None = Field(None, description="Buy N get M: M.")
    coupon_rule: CouponRule = CouponRule.COMBINABLE
    usage_limit: Quantity | None = Field(None, description="Orders in all; empty: unlimited.")
    budget: Money | None = Field(None, description="Money it may give away; empty: no cap.")
    priority: Priority = 0
    is_active: bool = True
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class CartPromotionPatch(_Targets):
    """The fields sent change; a target list sent replaces that list."""

    name: Name = None  # type: ignore[assignment]
    kind: CartKind = None  # type: ignore[assignment]
    reward: CartReward = None  # type: ignore[assignment]
    value: Value = None  # type: ignore[assignment]
    min_subtotal: Money = None  # type: ignore[assignment]
    buy_quantity: Quantity | None = None
    free_quantity: Quantity | None = None
    coupon_rule: CouponRule = None  # type: ignore[assignment]
    usage_limit: Quantity | None = None
    budget: Money | None = None
    priority: Priority = None  # type: ignore[assignment]
    is_active: bool = None  # type: ignore[assignment]
    starts_at: datetime | None = None
    ends_at: datetime | None = None


def _ids(related) -> list[int]:
    return sorted(obj.pk for obj in related.all())  # prefetched by the selector


class _PromotionOut(Schema):
    id: int
    name: str
    kind: str
    value: Decimal
    priority: int
    is_active: bool
    starts_at: datetime | None
    ends_at: datetime | None
    is_live: bool = Field(description="Active and inside its window now.")
    categories: list[int]
    brands: list[int]
    products: list[int]
    variants: list[int]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_is_live(promotion) -> bool:
        return promotion.is_live()

    @staticmethod
    def resolve_categories(promotion) -> list[int]:
        return _ids(promotion.categories)

    @staticmethod
    def resolve_brands(promotion) -> list[int]:
        return _ids(promotion.brands)

    @staticmethod
    def resolve_products(promotion) -> list[int]:
        return _ids(promotion.products)

    @staticmethod
    def resolve_variants(promotion) -> list[int]:
        return _ids(promotion.variants)


class CatalogPromotionOut(_PromotionOut):
    pass


class CartPromotionOut(_PromotionOut):
    reward: str
    min_subtotal: Decimal
    buy_quantity: int | None
    free_quantity: int | None
    coupon_rule: str
    usage_limit: int | None
    budget: Decimal | None
    times_used: int = Field(description="Counted uses (only a promotion with limits counts).")
    budget_used: Decimal
