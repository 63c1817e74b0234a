"""The demo shop's promotions: a catalog promotion on the first top-level category and a cart
promotion for free shipping, written once (a second seed leaves them as they are)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from products.models import Category
from promotions.models import CartPromotion, CatalogPromotion
from promotions.services import promoted_prices_refresh


def seed_promotions() -> str:
    """Create the demo promotions when there are none; the catalog's prices follow."""
    if CatalogPromotion.objects.exists() or CartPromotion.objects.exists():
        return "promotions: kept"
    root = Category.objects.filter(parent__isnull=True, is_active=True).order_by("position", "id")
    with transaction.atomic():
        sale = CatalogPromotion.objects.create(
            name="Spring sale", kind="percent", value=Decimal("15"), priority=1
        )
        if root.exists():
            sale.categories.set([root.first()])
        CartPromotion.objects.create(
            name="Free shipping from 35.00",
            kind="spend",
            reward="free_shipping",
            min_subtotal=Decimal("35.00"),
        )
        moved = promoted_prices_refresh()
    return f"promotions: 2 created, {len(moved)} products on sale"
