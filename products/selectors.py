"""Catalog reads as model instances and querysets: visibility, reviews, and staff reads (their
schemas render them). The public catalog's cached JSON answers are products/catalog_pages.py's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from products.errors import ProductNotFound, VariantNotFound
from products.models import (
    Product,
    ProductAttributeValue,
    Review,
    ReviewStatus,
    StockMovement,
    Variant,
    VariantAttributeValue,
)
from products.visibility import visible_products

logger = logging.getLogger("products.selectors")

# -- visibility ---------------------------------------------------------------------------------


# -- reviews ------------------------------------------------------------------------------------


def visible_product_for_slug(slug: str) -> Product:
    product = visible_products().filter(slug=slug).only("id", "slug").first()
    if product is None:
        raise ProductNotFound()
    return product


def published_reviews(product: Product) -> QuerySet[Review]:
    return (
        Review.objects.filter(product=product, status=ReviewStatus.PUBLISHED)
        .select_related("user")
        .only(
            "id",
            "rating",
            "title",
            "body",
            "is_verified_purchase",
            "created_at",
            "user__first_name",
            "user__last_name",
        )
        .order_by("-created_at", "-id")
    )


# -- staff reads --------------------------------------------------------------------------------


def staff_products(*, q: str | None = None, is_active: bool | None = None) -> QuerySet[Product]:
    qs = Product.objects.annotate(
        stock_total=Coalesce(Sum("variants__stock_quantity"), 0),
        variant_count=Count("variants"),
    ).order_by("-updated_at", "-id")
    if q:
        sku = Exists(Variant.objects.filter(product=OuterRef("pk"), sku=q.strip().upper()))
        qs = qs.filter(Q(name__icontains=q) | Q(slug__icontains=q) | Q(sku))
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    return qs


def staff_product(product_id: int) -> Product:
    product = (
        Product.objects.filter(pk=product_id)
        .prefetch_related(
            Prefetch(
                "attribute_values",
                queryset=ProductAttributeValue.objects.select_related("definition"),
            ),
            Prefetch(
                "variants",
                queryset=Variant.objects.order_by("position", "id").prefetch_related(
                    Prefetch(
                        "attribute_values",
                        queryset=VariantAttributeValue.objects.select_related("definition"),
                    )
                ),
            ),
            "images",
        )
        .first()
    )
    if product is None:
        raise ProductNotFound("No product with this id.")
    return product


def staff_variant(variant_id: int) -> Variant:
    """A variant with what StaffVariantOut renders (its attribute values)."""
    variant = (
        Variant.objects.select_related("product")
        .prefetch_related(
            Prefetch(
                "attribute_values",
                queryset=VariantAttributeValue.objects.select_related("definition"),
            )
        )
        .filter(pk=variant_id)
        .first()
    )
    if variant is None:
        raise VariantNotFound("No variant with this id.")
    return variant


@dataclass(frozen=True)
class StockAdjustment:
    """A variant's stock after an adjustment, and the ledger line it wrote (StockAdjustmentOut)."""

    variant: Variant
    movement: StockMovement | None


def stock_adjustments(
    variant_ids: Iterable[int], movements: Iterable[StockMovement]
) -> list[StockAdjustment]:
    """The variants as they stand after the adjustments, in the asked order, one query."""
    ids = list(dict.fromkeys(variant_ids))
    variants = Variant.objects.in_bulk(ids)
    by_variant = {movement.variant_id: movement for movement in movements}
    return [StockAdjustment(variants[pk], by_variant.get(pk)) for pk in ids]


def low_stock_variants() -> QuerySet[Variant]:
    """Active variants at or under their low-stock threshold (for the low-stock alert)."""
    return (
        Variant.objects.filter(is_active=True, product__is_active=True)
        .filter(stock_quantity__lte=F("low_stock_threshold"))
        .select_related("product")
        .order_by("stock_quantity", "id")
    )
