"""Stock changes, each written to the StockMovement ledger in the same transaction.

Rows are locked in primary-key order (SELECT ... FOR UPDATE), so two adjustments over the same
variants cannot deadlock, and the CHECK on stock_quantity backs the check made here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from api.errors import Conflict, InvalidInput, NotFound
from products.models import StockMovement, StockReason, Variant
from products.services.events import products_changed_on_commit


@dataclass(frozen=True)
class StockChange:
    """One variant's change: `delta` (+ receives, - removes) or an absolute `quantity` counted."""

    variant_id: int
    delta: int | None = None
    quantity: int | None = None

    def __post_init__(self) -> None:
        if (self.delta is None) == (self.quantity is None):
            raise ValueError("give exactly one of delta and quantity")


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    message = "Not enough stock."


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
        raise InvalidInput(f"Unknown stock reason {reason!r}.", code="invalid_reason")
    ids = sorted({change.variant_id for change in changes})
    variants = {
        variant.pk: variant
        for variant in Variant.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }
    missing = [pk for pk in ids if pk not in variants]
    if missing:
        raise NotFound(
            "No such variant.", code="variant_not_found", details={"variant_ids": missing}
        )
    start = {pk: variant.stock_quantity for pk, variant in variants.items()}
    movements = []
    for change in changes:
        variant = variants[change.variant_id]
        before = variant.stock_quantity
        after = change.quantity if change.quantity is not None else before + change.delta
        if after < 0:
            raise InsufficientStock(
                f"Only {before} of {variant.sku} in stock.",
                details={
                    "sku": variant.sku,
                    "variant_id": variant.pk,
                    "available": before,
                    "requested": -(change.delta or 0),
                },
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
