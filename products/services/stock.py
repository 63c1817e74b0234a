"""Stock changes, each written to the StockMovement ledger in the same transaction, with the
`stock.low` / `stock.out` webhooks of the variants it takes across a line (products/webhooks.py).

Rows are locked in primary-key order (SELECT ... FOR UPDATE), so two adjustments over the same
variants cannot deadlock, and the CHECK on stock_quantity backs the check made here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from api.cache import versions_bump_on_commit
from products.errors import (
    InsufficientStock,
    InvalidStockReason,
    StockLimitExceeded,
    VariantNotFound,
)
from products.models import STOCK_MAX, StockMovement, StockReason, Variant
from products.services.events import product_version, products_changed_on_commit
from products.webhooks import stock_webhooks_record


@dataclass(frozen=True)
class StockChange:
    """One variant's change: `delta` (+ receives, - removes) or an absolute `quantity` counted."""

    variant_id: int
    delta: int | None = None
    quantity: int | None = None

    def __post_init__(self) -> None:
        if (self.delta is None) == (self.quantity is None):
            raise ValueError("give exactly one of delta and quantity")


@transaction.atomic
def stock_adjust_many(
    *,
    changes: Sequence[StockChange],
    reason: str,
    actor: Any = None,
    reference: str = "",
    note: str = "",
    notify: bool = True,
) -> list[StockMovement]:
    """Apply every change or none; returns the movements written (none for a zero change).

    Checkout, cancellations and returns can use it with their reason and the order number as
    `reference`; `notify=False` is for callers that announce the product change themselves.
    """
    if reason not in StockReason.values:
        raise InvalidStockReason(reason)
    ids = sorted({change.variant_id for change in changes})
    variants = {
        variant.pk: variant
        for variant in Variant.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }
    missing = [pk for pk in ids if pk not in variants]
    if missing:
        raise VariantNotFound(details={"variant_ids": missing})
    start = {pk: variant.stock_quantity for pk, variant in variants.items()}
    movements = []
    for index, change in enumerate(changes):
        variant = variants[change.variant_id]
        before = variant.stock_quantity
        after = change.quantity if change.quantity is not None else before + change.delta
        if after > STOCK_MAX:
            # Named as the stock routes' bodies name it: delta, or items.<index>.delta.
            field = "delta" if change.delta is not None else "quantity"
            raise StockLimitExceeded(
                sku=variant.sku,
                before=before,
                after=after,
                limit=STOCK_MAX,
                field=f"items.{index}.{field}" if len(changes) > 1 else field,
            )
        if after < 0:
            raise InsufficientStock(
                [
                    {
                        "variant_id": variant.pk,
                        "sku": variant.sku,
                        "requested": -(change.delta or 0),
                        "available": before,
                    }
                ]
            )
        if after == before:
            continue
        variant.stock_quantity = after
        movements.append(
            StockMovement(
                variant=variant,
                sku=variant.sku,
                quantity_delta=after - before,
                quantity_after=after,
                reason=reason,
                reference=reference,
                note=note,
                actor=actor if getattr(actor, "pk", None) else None,
            )
        )
    changed = [variant for pk, variant in variants.items() if variant.stock_quantity != start[pk]]
    if changed:
        Variant.objects.bulk_update(changed, ["stock_quantity"])
        StockMovement.objects.bulk_create(movements)
        stock_webhooks_record(
            StockLevel(
                v.pk, v.product_id, v.sku, start[v.pk], v.stock_quantity, v.low_stock_threshold
            )
            for v in changed
        )
        if notify:
            products_changed_on_commit(variant.product_id for variant in changed)
    return movements


def stock_adjust(
    *,
    variant_id: int,
    delta: int | None = None,
    quantity: int | None = None,
    reason: str = StockReason.ADJUSTMENT,
    actor: Any = None,
    reference: str = "",
    note: str = "",
) -> StockMovement | None:
    """One variant: add/remove `delta`, or set the counted `quantity`. None when unchanged."""
    movements = stock_adjust_many(
        changes=[StockChange(variant_id, delta=delta, quantity=quantity)],
        reason=reason,
        actor=actor,
        reference=reference,
        note=note,
    )
    return movements[0] if movements else None


# -- conditional decrement (checkout) --------------------------------------------------------------


@dataclass(frozen=True)
class StockLevel:
    """One variant's stock before and after a change."""

    variant_id: int
    product_id: int
    sku: str
    before: int
    after: int
    low_stock_threshold: int

    @property
    def crossed_low_stock(self) -> bool:
        return self.after <= self.low_stock_threshold < self.before


_DECREMENT_SQL = f"""
UPDATE {Variant._meta.db_table} AS v
SET stock_quantity = v.stock_quantity - d.n
FROM unnest(%s::bigint[], %s::integer[]) AS d(id, n)
WHERE v.id = d.id AND v.stock_quantity >= d.n
RETURNING v.id, v.product_id, v.sku, v.stock_quantity, v.low_stock_threshold, d.n
"""  # noqa: S608 - table name from the model, values bound


def stock_decrement(
    *,
    quantities: Mapping[int, int],
    reason: str = StockReason.SALE,
    reference: str = "",
    actor: Any = None,
    note: str = "",
    notify: bool = True,
) -> dict[int, StockLevel]:
    """Take `quantities` ({variant_id: n}) out of stock in one conditional UPDATE
    (`... SET stock_quantity = stock_quantity - n WHERE stock_quantity >= n`), all or none,
    with a StockMovement per variant. Runs inside the caller's transaction (checkout), which
    should hold the rows locked in primary-key order already; the condition alone never
    oversells. InsufficientStock (details.lines: sku, requested, available) when any is short.

    notify: announce after commit only what the public catalog shows (stock_changes_announce).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stock_decrement must run inside a transaction")
    if reason not in StockReason.values:
        raise InvalidStockReason(reason)
    if any(n <= 0 for n in quantities.values()):
        raise ValueError("quantities must be positive")
    ids = sorted(quantities)
    with connection.cursor() as cursor:
        cursor.execute(_DECREMENT_SQL, [ids, [quantities[pk] for pk in ids]])
        rows = cursor.fetchall()
    levels = {
        pk: StockLevel(pk, product_id, sku, after + n, after, threshold)
        for pk, product_id, sku, after, threshold, n in rows
    }
    if len(levels) != len(ids):
        short = Variant.objects.filter(pk__in=[pk for pk in ids if pk not in levels])
        lines = [
            {
                "variant_id": v.pk,
                "sku": v.sku,
                "requested": quantities[v.pk],
                "available": v.stock_quantity,
            }
            for v in short.order_by("pk")
        ]
        # No row at all: a variant deleted since the cart was read.
        gone = {"variant_id": None, "sku": "?", "requested": 0, "available": 0}
        raise InsufficientStock(lines or [gone])
    StockMovement.objects.bulk_create(
        StockMovement(
            variant_id=level.variant_id,
            sku=level.sku,
            quantity_delta=level.after - level.before,
            quantity_after=level.after,
            reason=reason,
            reference=reference,
            note=note,
            actor=actor if getattr(actor, "pk", None) else None,
        )
        for level in levels.values()
    )
    stock_webhooks_record(levels.values())
    if notify:
        stock_changes_announce(levels.values())
    return levels


def stock_changes_announce(levels: Iterable[StockLevel]) -> None:
    """After commit, refresh only what the public catalog shows of these stock changes.

    Lists (and search) show whether a variant is in stock: a product whose variant ran out or
    came back gets products_changed. A product page also shows low stock: a variant that only
    crossed its low-stock threshold renews that page's cache token. Any other sale changes
    nothing a visitor sees, so busy products keep their cached pages between sell-outs.
    """
    flipped, pages = set(), set()
    for level in levels:
        if (level.before > 0) != (level.after > 0):
            flipped.add(level.product_id)
        elif (level.before <= level.low_stock_threshold) != (
            level.after <= level.low_stock_threshold
        ):
            pages.add(level.product_id)
    if flipped:
        products_changed_on_commit(flipped)
    pages -= flipped
    if pages:
        versions_bump_on_commit(*(product_version(pk) for pk in sorted(pages)))
