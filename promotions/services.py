# ruff: noqa: S608 - the SQL is built from the models' table names at import, never from input
"""Writes of promotions: the precomputed catalog prices, uses counted and released, and the
discount snapshot an order keeps.

The catalog's prices under promotions (PromotedPrice per variant, PromotedProductPrice per
product) are derived data, rewritten by `promoted_prices_refresh`:
1. under a transaction-scoped advisory lock (one refresh at a time), every active variant a live
   catalog promotion reaches is read with its regular price (one statement);
2. promotions/pricing.py picks each one's price; only the rows that differ are written or
   deleted, then each promoted product's lowest and highest price (one statement);
3. the products whose prices moved are announced (products.services.events: the catalog's
   cache tokens after the commit, the search index through the outbox, product.updated).
It runs after every catalog promotion write (the admin, the staff API) and from beat every
PROMOTIONS_REFRESH_SECONDS: a window that opens or closes, or a catalog price that moved under a
promotion, reaches the catalog and the index at the next run, with no write needed. The cart and
the checkout never read these tables: they compute the promotions live (promotions/selectors.py).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, ProtectedError
from django.utils import timezone

from api.errors import InvalidInput
from products.models import Brand, Category, Product, Variant
from products.services import products_changed_on_commit
from products.services.common import validation_errors
from products.visibility import TABLES
from promotions.errors import CartPromotionNotFound, CartPromotionUsed, CatalogPromotionNotFound
from promotions.models import (
    CartPromotion,
    CatalogPromotion,
    DiscountSource,
    OrderDiscount,
    PromotedPrice,
    PromotedProductPrice,
    PromotionRedemption,
    Window,
)
from promotions.pricing import CatalogPrice, catalog_best
from promotions.selectors import catalog_matches

if TYPE_CHECKING:  # cart.pricing calls promotions/pricing.py: promotions never import cart
    from cart.pricing import Totals

_LOCK = "promotions:prices"
_PRODUCT_PRICES = """
WITH want AS (
    SELECT v.product_id, min(coalesce(pv.price, v.price, p.base_price)) AS price_min,
           max(coalesce(pv.price, v.price, p.base_price)) AS price_max
    FROM {variant} v JOIN {product} p ON p.id = v.product_id
    LEFT JOIN {promoted} pv ON pv.variant_id = v.id
    WHERE v.is_active
      AND v.product_id IN (SELECT product_id FROM {promoted})
    GROUP BY v.product_id
    HAVING count(pv.variant_id) > 0
), gone AS (
    DELETE FROM {promoted_product} pp
    WHERE NOT EXISTS (SELECT 1 FROM want WHERE want.product_id = pp.product_id)
    RETURNING pp.product_id
), put AS (
    INSERT INTO {promoted_product} AS pp (product_id, price_min, price_max)
    SELECT product_id, price_min, price_max FROM want
    ON CONFLICT (product_id) DO UPDATE
       SET price_min = EXCLUDED.price_min, price_max = EXCLUDED.price_max
     WHERE (pp.price_min, pp.price_max) IS DISTINCT FROM (EXCLUDED.price_min, EXCLUDED.price_max)
    RETURNING pp.product_id
)
SELECT product_id FROM gone UNION SELECT product_id FROM put
""".format(
    **TABLES,
    promoted=PromotedPrice._meta.db_table,
    promoted_product=PromotedProductPrice._meta.db_table,
)


def promoted_prices_refresh(*, now=None) -> list[int]:
    """Rewrite the catalog's promoted prices as the live promotions make them now (see the module
    docstring); the ids of the products whose shown prices changed, announced after commit."""
    now = now or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [_LOCK])
        offers = defaultdict(list)
        regular: dict[int, tuple[int, Decimal]] = {}
        for match in catalog_matches(now=now):
            offers[match.variant_id].append(match.offer)
            regular[match.variant_id] = (match.product_id, match.regular)
        wanted: dict[int, tuple[int, int, Decimal, Decimal]] = {}
        for variant_id, found in offers.items():
            product_id, price = regular[variant_id]
            best = catalog_best(price, found)
            if best is not None:
                wanted[variant_id] = (product_id, best.offer.promotion_id, best.price, best.regular)
        current = {
            row[0]: row[1:]
            for row in PromotedPrice.objects.values_list(
                "variant_id", "product_id", "promotion_id", "price", "regular_price"
            )
        }
        gone = sorted(current.keys() - wanted.keys())
        changed = sorted(pk for pk, row in wanted.items() if current.get(pk) != row)
        if gone:
            PromotedPrice.objects.filter(variant_id__in=gone).delete()
        if changed:
            PromotedPrice.objects.bulk_create(
                [
                    PromotedPrice(
                        variant_id=pk,
                        product_id=wanted[pk][0],
                        promotion_id=wanted[pk][1],
                        price=wanted[pk][2],
                        regular_price=wanted[pk][3],
                    )
                    for pk in changed
                ],
                update_conflicts=True,
                unique_fields=["variant"],
                update_fields=["product", "promotion", "price", "regular_price"],
            )
        with connection.cursor() as cursor:
            cursor.execute(_PRODUCT_PRICES)
            moved = {row[0] for row in cursor.fetchall()}
        moved |= {current[pk][0] for pk in gone} | {wanted[pk][0] for pk in changed}
        products_changed_on_commit(moved)
    return sorted(moved)


# -- uses -----------------------------------------------------------------------------------------


def promotion_uses_take(*, order: Any, totals: Totals, counted: set[int]) -> None:
    """Record each applied cart promotion's use by `order`; the `counted` ones (locked by the
    caller, in the same transaction) add the use and the amount to their counters."""
    for applied in totals.promotions:
        if applied.promotion_id in counted:
            CartPromotion.objects.filter(pk=applied.promotion_id).update(
                times_used=F("times_used") + 1, budget_used=F("budget_used") + applied.amount
            )
    PromotionRedemption.objects.bulk_create(
        PromotionRedemption(
            promotion_id=applied.promotion_id,
            order=order,
            amount=applied.amount,
            counted=applied.promotion_id in counted,
        )
        for applied in totals.promotions
    )


def promotion_redemptions_release(*, order: Any, now=None) -> int:
    """Give an order's promotion uses back (its cancellation calls this once, under the status
    change): the counted ones under their row locks, in primary-key order. How many."""
    now = now or timezone.now()
    redemptions = list(
        PromotionRedemption.objects.filter(order=order, released_at__isnull=True).order_by(
            "promotion_id"
        )
    )
    counted = [r for r in redemptions if r.counted]
    if counted:
        list(
            CartPromotion.objects.select_for_update()
            .filter(pk__in=[r.promotion_id for r in counted])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for redemption in counted:
            CartPromotion.objects.filter(pk=redemption.promotion_id).update(
                times_used=F("times_used") - 1, budget_used=F("budget_used") - redemption.amount
            )
    if redemptions:
        PromotionRedemption.objects.filter(pk__in=[r.pk for r in redemptions]).update(
            released_at=now
        )
    return len(redemptions)


# -- the order's snapshot -------------------------------------------------------------------------


def order_discounts_record(
    *,
    order: Any,
    lines: dict[int, Any],
    catalog: dict[int, CatalogPrice],
    totals: Totals,
    coupon: Any = None,
) -> list[OrderDiscount]:
    """Every discount the order got, as rows (one statement): per line (`lines` are its
    OrderLines by variant id) for catalog promotions, free units, amounts off and the coupon's
    share; on the order for the shipping a promotion or a coupon waived."""
    rows = []
    for variant_id, promoted in catalog.items():
        line = lines[variant_id]
        rows.append(
            OrderDiscount(
                order=order,
                line=line,
                source=DiscountSource.CATALOG,
                catalog_promotion_id=promoted.offer.promotion_id,
                name=promoted.offer.name,
                kind=promoted.offer.kind,
                amount=promoted.amount_off * line.quantity,
                regular_unit_price=promoted.regular,
            )
        )
    for applied in totals.promotions:
        common = {
            "order": order,
            "source": DiscountSource.CART,
            "cart_promotion_id": applied.promotion_id,
            "name": applied.name,
            "kind": applied.reward,
        }
        if applied.shipping:
            rows.append(OrderDiscount(**common, amount=applied.amount, shipping=True))
        for variant_id, amount in applied.lines.items():
            rows.append(OrderDiscount(**common, line=lines[variant_id], amount=amount))
    if coupon is not None:
        common = {"order": order, "source": DiscountSource.COUPON, "name": coupon.code}
        for variant_id, amount in totals.coupon_lines.items():
            rows.append(
                OrderDiscount(**common, kind=coupon.kind, line=lines[variant_id], amount=amount)
            )
        if totals.coupon_shipping_waived:
            rows.append(
                OrderDiscount(
                    **common, kind=coupon.kind, amount=totals.coupon_shipping_waived, shipping=True
                )
            )
    return OrderDiscount.objects.bulk_create(rows) if rows else []


# -- staff writes ---------------------------------------------------------------------------------
#
# Each write is validated by the model (its clean() and its CheckConstraints, as the admin's form
# does), names its targets by id (an unknown id is a 422), and a catalog promotion's write
# rewrites the promoted prices in the same transaction, as the admin's save does.

CATALOG_FIELDS = {"name", "kind", "value", "priority", "is_active", "starts_at", "ends_at"}
CART_FIELDS = CATALOG_FIELDS | {
    "reward",
    "min_subtotal",
    "buy_quantity",
    "free_quantity",
    "coupon_rule",
    "usage_limit",
    "budget",
}
_TARGET_MODELS = {"categories": Category, "brands": Brand, "products": Product, "variants": Variant}


def _targets_clean(targets: dict[str, list[int]]) -> dict[str, list[int]]:
    """Each target list as sorted unique ids; an id that names nothing is a 422 on its field."""
    cleaned = {}
    for name, ids in targets.items():
        if name not in _TARGET_MODELS:
            raise TypeError(f"unknown target {name!r}")
        wanted = sorted(set(ids))
        found = set(_TARGET_MODELS[name].objects.filter(pk__in=wanted).values_list("pk", flat=True))
        missing = [pk for pk in wanted if pk not in found]
        if missing:
            raise InvalidInput.for_field(
                name, f"No such {name}: {', '.join(map(str, missing))}.", kind="invalid_reference"
            )
        cleaned[name] = wanted
    return cleaned


def _promotion_save(
    promotion: Window, *, allowed: set[str], fields: dict[str, Any], targets: dict[str, list[int]]
) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unknown promotion fields {sorted(unknown)}")
    targets = _targets_clean(targets)
    for name, value in fields.items():
        setattr(promotion, name, value)
    try:  # the model's rules, its constraints too: a 422 naming each field, never a 500
        promotion.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise InvalidInput(details={"errors": validation_errors(exc, model=promotion)}) from None
    promotion.save()
    for name, ids in targets.items():
        getattr(promotion, name).set(ids)


@transaction.atomic
def catalog_promotion_create(
    *, targets: dict[str, list[int]] | None = None, **fields: Any
) -> CatalogPromotion:
    """A catalog promotion; the catalog's prices follow at once."""
    promotion = CatalogPromotion()
    _promotion_save(promotion, allowed=CATALOG_FIELDS, fields=fields, targets=targets or {})
    promoted_prices_refresh()
    return promotion


@transaction.atomic
def catalog_promotion_update(
    *, promotion_id: int, targets: dict[str, list[int]] | None = None, **fields: Any
) -> CatalogPromotion:
    """Change the given fields and replace the given target lists; the prices follow at once."""
    promotion = CatalogPromotion.objects.select_for_update().filter(pk=promotion_id).first()
    if promotion is None:
        raise CatalogPromotionNotFound(f"No catalog promotion with id {promotion_id}.")
    _promotion_save(promotion, allowed=CATALOG_FIELDS, fields=fields, targets=targets or {})
    promoted_prices_refresh()
    return promotion


@transaction.atomic
def catalog_promotion_delete(*, promotion_id: int) -> None:
    """The promotion (orders keep their discounts' snapshot); the prices follow at once."""
    deleted, _ = CatalogPromotion.objects.filter(pk=promotion_id).delete()
    if not deleted:
        raise CatalogPromotionNotFound(f"No catalog promotion with id {promotion_id}.")
    promoted_prices_refresh()


@transaction.atomic
def cart_promotion_create(
    *, targets: dict[str, list[int]] | None = None, **fields: Any
) -> CartPromotion:
    """A cart promotion; carts compute it live, nothing is precomputed."""
    promotion = CartPromotion()
    _promotion_save(promotion, allowed=CART_FIELDS, fields=fields, targets=targets or {})
    return promotion


@transaction.atomic
def cart_promotion_update(
    *, promotion_id: int, targets: dict[str, list[int]] | None = None, **fields: Any
) -> CartPromotion:
    """Change the given fields under the row lock the checkout takes to count its uses, so a
    limit is never set below what a concurrent checkout is counting."""
    promotion = CartPromotion.objects.select_for_update().filter(pk=promotion_id).first()
    if promotion is None:
        raise CartPromotionNotFound(f"No cart promotion with id {promotion_id}.")
    _promotion_save(promotion, allowed=CART_FIELDS, fields=fields, targets=targets or {})
    return promotion


@transaction.atomic
def cart_promotion_delete(*, promotion_id: int) -> None:
    """A promotion no order used; a used one is kept for its redemptions (409)."""
    try:
        deleted, _ = CartPromotion.objects.filter(pk=promotion_id).delete()
    except ProtectedError:
        raise CartPromotionUsed() from None
    if not deleted:
        raise CartPromotionNotFound(f"No cart promotion with id {promotion_id}.")
