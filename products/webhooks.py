"""What other systems hear of the catalog (webhooks/, docs/webhooks.md): `product.*` events from
products/services/events.py (every catalog write announces itself there) and `stock.*` events
from products/services/stock.py (every stock change goes through it), each recorded in the
transaction of the change, and the data they carry.

- product.created / product.updated: the product with its variants as they are at that point;
  product.deleted: its id alone (the row is gone).
- stock.low: a variant went from above its low-stock threshold to at or under it;
  stock.out: a variant went from some stock to none (a drop straight to 0 is both).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from ninja import Schema

from products.models import Product, Variant
from webhooks.models import EventType
from webhooks.services import webhook_events_record


class VariantWebhookData(Schema):
    id: int
    sku: str
    name: str
    price: Decimal
    compare_at_price: Decimal | None
    stock_quantity: int
    low_stock_threshold: int
    is_active: bool
    is_default: bool

    @staticmethod
    def resolve_price(variant: Variant) -> Decimal:
        return variant.effective_price


class ProductWebhookData(Schema):
    """`data` of product.created and product.updated."""

    id: int
    slug: str
    name: str
    is_active: bool
    is_featured: bool
    base_price: Decimal
    price_min: Decimal | None
    price_max: Decimal | None
    category_id: int
    brand_id: int | None
    variants: list[VariantWebhookData]

    @staticmethod
    def resolve_variants(product: Product) -> list:
        return list(product.variants.all())


def _product_data(ids: list[int]) -> list[tuple[str, dict[str, Any]]]:
    products = Product.objects.filter(pk__in=ids).prefetch_related(
        Prefetch("variants", queryset=Variant.objects.order_by("position", "id"))
    )
    return [
        (str(product.pk), ProductWebhookData.from_orm(product).model_dump(mode="json"))
        for product in products.order_by("pk")
    ]


def product_webhooks_record(event_type: str, product_ids: Iterable[int]) -> None:
    """product.created / .updated / .deleted for these products, in the change's transaction."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    if event_type == EventType.PRODUCT_DELETED:
        webhook_events_record(
            event_type=event_type, build=lambda: [(str(pk), {"id": pk}) for pk in ids]
        )
        return
    webhook_events_record(event_type=event_type, build=lambda: _product_data(ids))


def stock_webhooks_record(levels: Iterable[Any]) -> None:
    """stock.low and stock.out for the variants these changes took across a line; `levels` are
    products.services.stock.StockLevel (variant, product, sku, before, after, threshold)."""
    low, out = [], []
    for level in levels:
        data = {
            "variant_id": level.variant_id,
            "product_id": level.product_id,
            "sku": level.sku,
            "stock_quantity": level.after,
            "previous_quantity": level.before,
            "low_stock_threshold": level.low_stock_threshold,
        }
        if level.after <= level.low_stock_threshold < level.before:
            low.append((level.sku, data))
        if level.after == 0 < level.before:
            out.append((level.sku, data))
    if low:
        webhook_events_record(event_type=EventType.STOCK_LOW, build=lambda: low)
    if out:
        webhook_events_record(event_type=EventType.STOCK_OUT, build=lambda: out)
