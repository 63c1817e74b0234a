"""Promotions for the tests of every app: a catalog promotion and a cart promotion with their
targets."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from promotions.models import CartPromotion, CatalogPromotion
from promotions.services import promoted_prices_refresh


def _targets(promotion, targets: dict[str, list]) -> None:
    for name, items in targets.items():
        getattr(promotion, name).set(items)


def catalog_promotion(
    *, kind="percent", value="20", refresh=True, targets: dict[str, list] | None = None, **kw: Any
) -> CatalogPromotion:
    promotion = CatalogPromotion.objects.create(
        name=kw.pop("name", f"{value} {kind} off"), kind=kind, value=Decimal(value), **kw
    )
    _targets(promotion, targets or {})
    if refresh:
        promoted_prices_refresh()
    return promotion


def cart_promotion(*, targets: dict[str, list] | None = None, **kw: Any) -> CartPromotion:
    kw.setdefault("name", "Cart promotion")
    kw.setdefault("kind", "spend")
    kw.setdefault("reward", "free_shipping")
    for money in ("value", "min_subtotal", "budget"):
        if kw.get(money) is not None:
            kw[money] = Decimal(kw[money])
    promotion = CartPromotion.objects.create(**kw)
    _targets(promotion, targets or {})
    return promotion
