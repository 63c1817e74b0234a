# ruff: noqa: S608 - the SQL is built from the models' table names at import, never from input
"""Reads of promotions: which are live now and what they reach, as the calculator's offers
(promotions/pricing.py).

A promotion reaches a variant when it names the variant, its product, its product's brand, or
its product's category or a category above it (the materialised path: one prefix match). The
rule is written once, as SQL (`_REACHES`), and used by the cart and checkout reads (one
statement for every live promotion and the cart's variants) and by the refresh of the
precomputed catalog prices.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet

from api.prepared import Prepared
from products.models import Variant
from products.visibility import TABLES
from promotions.errors import CartPromotionNotFound, CatalogPromotionNotFound
from promotions.models import CartPromotion, CatalogPromotion
from promotions.pricing import CartOffer, CatalogOffer, catalog_best, unit_price

T = TABLES


def _through(model, name: str) -> str:
    return getattr(model, name).through._meta.db_table


def _reaches(model, fk: str) -> str:
    """SQL: promotion `x` reaches variant `v` (of product `p` in category `c`)."""
    return (
        "(EXISTS (SELECT 1 FROM {variants} t WHERE t.{fk} = x.id AND t.variant_id = v.id)"
        " OR EXISTS (SELECT 1 FROM {products} t WHERE t.{fk} = x.id AND t.product_id = p.id)"
        " OR EXISTS (SELECT 1 FROM {brands} t WHERE t.{fk} = x.id AND t.brand_id = p.brand_id)"
        " OR EXISTS (SELECT 1 FROM {categories} t JOIN {category} tc ON tc.id = t.category_id"
        " WHERE t.{fk} = x.id AND c.path LIKE tc.path || '%%'))"
    ).format(
        variants=_through(model, "variants"),
        products=_through(model, "products"),
        brands=_through(model, "brands"),
        categories=_through(model, "categories"),
        category=T["category"],
        fk=fk,
    )


_LIVE = (
    "x.is_active AND (x.starts_at IS NULL OR x.starts_at <= %(now)s)"
    " AND (x.ends_at IS NULL OR x.ends_at > %(now)s)"
)
_VARIANT_FROM = (
    "FROM {variant} v JOIN {product} p ON p.id = v.product_id"
    " JOIN {category} c ON c.id = p.category_id"
).format(**T)
_CATALOG = CatalogPromotion._meta.db_table
_CART = CartPromotion._meta.db_table

# Every live promotion that matters to these variants, one row each: catalog promotions with
# the variants they reach, cart promotions with (for buy N get M) the variants of their set.
# Cart promotions that ran out are read too: the calculator leaves them out (CartOffer.fits),
# and the checkout tells a customer who was shown one that it ran out.
_FOR_VARIANTS = f"""
SELECT 'catalog', x.id, x.name, x.kind, '', x.value, x.priority, 0, 0, 0, '',
       NULL::integer, 0, NULL::numeric, 0, m.ids
FROM {_CATALOG} x
CROSS JOIN LATERAL (
    SELECT array_agg(v.id) AS ids {_VARIANT_FROM}
    WHERE v.id = ANY(%(variants)s) AND {_reaches(CatalogPromotion, "catalogpromotion_id")}
) m
WHERE {_LIVE} AND m.ids IS NOT NULL
UNION ALL
SELECT 'cart', x.id, x.name, x.kind, x.reward, x.value, x.priority, x.min_subtotal,
       coalesce(x.buy_quantity, 0), coalesce(x.free_quantity, 0), x.coupon_rule,
       x.usage_limit, x.times_used, x.budget, x.budget_used,
       CASE WHEN x.kind = 'buy_get' THEN ARRAY(
           SELECT v.id {_VARIANT_FROM}
           WHERE v.id = ANY(%(variants)s) AND {_reaches(CartPromotion, "cartpromotion_id")}
       ) ELSE '{{}}'::bigint[] END
FROM {_CART} x
WHERE {_LIVE}
"""

# Every active variant a live catalog promotion reaches, with its regular price (the refresh).
OFFERS = Prepared(
    "promotion_offers", _FOR_VARIANTS, params={"variants": "bigint[]", "now": "timestamptz"}
)

_CATALOG_MATCHES = f"""
SELECT v.id, v.product_id, coalesce(v.price, p.base_price), x.id, x.name, x.kind, x.value,
       x.priority
{_VARIANT_FROM}
JOIN {_CATALOG} x ON {_LIVE}
WHERE v.is_active AND {_reaches(CatalogPromotion, "catalogpromotion_id")}
"""


@dataclass(frozen=True)
class Offers:
    """The live promotions for a set of variants: catalog offers per variant, and cart offers."""

    catalog: dict[int, list[CatalogOffer]]
    cart: list[CartOffer]

    def unit_price(self, variant: Variant) -> Decimal:
        """The variant's price today (its product loaded): its catalog promotion's where one
        is live, else its own."""
        regular = variant.effective_price
        return unit_price(regular, catalog_best(regular, self.catalog.get(variant.pk, ())))


def cart_offer(row: tuple) -> CartOffer:
    """A cart promotion's row (from `_FOR_VARIANTS`) as the calculator's offer."""
    (_source, pk, name, kind, reward, value, priority, min_subtotal, buy, free, rule) = row[:11]
    usage_limit, times_used, budget, budget_used, variant_ids = row[11:]
    return CartOffer(
        promotion_id=pk,
        name=name,
        kind=kind,
        reward=reward,
        value=value,
        min_subtotal=min_subtotal,
        buy_quantity=buy,
        free_quantity=free,
        coupon_rule=rule,
        priority=priority,
        variant_ids=frozenset(variant_ids or ()),
        uses_left=None if usage_limit is None else usage_limit - times_used,
        budget_left=None if budget is None else budget - budget_used,
    )


def offers_for_variants(*, variant_ids: list[int], now: datetime) -> Offers:
    """Every live promotion that can touch a cart of these variants: one statement, planned once
    per connection (its planning cost more than running it)."""
    catalog: dict[int, list[CatalogOffer]] = defaultdict(list)
    cart: list[CartOffer] = []
    with connection.cursor() as cursor:
        OFFERS.execute(cursor, {"variants": list(variant_ids), "now": now})
        rows = cursor.fetchall()
    for row in rows:
        if row[0] == "cart":
            cart.append(cart_offer(row))
            continue
        offer = CatalogOffer(
            promotion_id=row[1], name=row[2], kind=row[3], value=row[5], priority=row[6]
        )
        for variant_id in row[15]:
            catalog[variant_id].append(offer)
    return Offers(catalog=dict(catalog), cart=cart)


@dataclass(frozen=True)
class CatalogMatch:
    variant_id: int
    product_id: int
    regular: Decimal
    offer: CatalogOffer


def catalog_matches(*, now: datetime) -> list[CatalogMatch]:
    """Every (active variant, live catalog promotion reaching it): one statement."""
    with connection.cursor() as cursor:
        cursor.execute(_CATALOG_MATCHES, {"now": now})
        rows = cursor.fetchall()
    return [
        CatalogMatch(
            variant_id=variant_id,
            product_id=product_id,
            regular=regular,
            offer=CatalogOffer(promotion_id=pk, name=name, kind=kind, value=value, priority=prio),
        )
        for variant_id, product_id, regular, pk, name, kind, value, prio in rows
    ]


def cart_promotions_locked(promotion_ids: list[int]) -> dict[int, CartPromotion]:
    """These cart promotions under their row locks, in primary-key order (the checkout takes
    them after the variants and the coupon), read again under the lock."""
    rows = CartPromotion.objects.select_for_update().filter(pk__in=promotion_ids).order_by("pk")
    return {promotion.pk: promotion for promotion in rows}


def unit_prices(variants: Iterable[Variant], *, now: datetime) -> dict[int, Decimal]:
    """Today's unit price of each variant (its product loaded): its catalog promotion's where
    one is live, else its own. One statement."""
    variants = list(variants)
    if not variants:
        return {}
    offers = offers_for_variants(variant_ids=[v.pk for v in variants], now=now)
    return {v.pk: offers.unit_price(v) for v in variants}


# -- the staff API's reads ------------------------------------------------------------------------

TARGETS = ("categories", "brands", "products", "variants")


def catalog_promotion_list() -> QuerySet[CatalogPromotion]:
    """Highest priority first, each with its target ids (one query per kind of target)."""
    return CatalogPromotion.objects.prefetch_related(*TARGETS)


def catalog_promotion_get(*, promotion_id: int) -> CatalogPromotion:
    promotion = catalog_promotion_list().filter(pk=promotion_id).first()
    if promotion is None:
        raise CatalogPromotionNotFound()
    return promotion


def cart_promotion_list() -> QuerySet[CartPromotion]:
    """Highest priority first, each with its target ids (one query per kind of target)."""
    return CartPromotion.objects.prefetch_related(*TARGETS)


def cart_promotion_get(*, promotion_id: int) -> CartPromotion:
    promotion = cart_promotion_list().filter(pk=promotion_id).first()
    if promotion is None:
        raise CartPromotionNotFound()
    return promotion
